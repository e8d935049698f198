import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@tally/shared/testing';
import { ExactDecimal } from '@tally/shared/util-core';
import { chromiumPath, launchChromium, screenshot, seriousViolations } from './browser';
import { startEmbeddedPlatform } from './embedded-platform';
import { http } from './support';

/**
 * The console in a real browser (Debian's Chromium through playwright-core), against `npm start` with the
 * Forge catalog: sign in with the printed token, open the account page, and see the API's numbers.
 */
describe('Tally Console (npm start, Chromium)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-console-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  let platform: ChildProcess | undefined;
  let output = '';
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let admin: string;
  const pageErrors: string[] = [];

  const printed = (name: string) => {
    const match = new RegExp(`export ${name}=(\\S+)`).exec(output);
    if (!match) throw new Error(`${name} not printed:\n${output}`);
    return match[1];
  };
  const api = async (method: string, path: string, body?: unknown, token = admin) => {
    const answer = await http(method, `${base}${path}`, body, 'application/json', token);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  beforeAll(async () => {
    if (!existsSync(chromiumPath))
      throw new Error(
        `no Chromium at ${chromiumPath}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`,
      );
    platform = await startEmbeddedPlatform({ port, dataDir, onOutput: (text) => (output += text) });
    expect(output).toContain('serving the console at /');
    admin = printed('TALLY_ADMIN_TOKEN');

    // An account on the Forge plan, one app, and one function invocation:
    // 1024 MiB ÷ 1024 × 250,000 s = 250,000 GB-s; 200,000 free, 50,000 × 0.000025 = 1.25 USD.
    await api('POST', '/v1/accounts', { id: 'vendor', name: 'Vendor Ltd', currency: 'USD', timezone: 'UTC' });
    await api('POST', '/v1/subscriptions', {
      id: 'vendor-forge',
      accountId: 'vendor',
      planId: 'forge',
      startsAt: '2026-01-01T00:00:00Z',
    });
    await api('PUT', '/v1/subjects/app-1', { accountId: 'vendor', attributes: { app: 'app-1' } });
    const sent = await api(
      'POST',
      '/v1/events',
      [
        {
          specversion: '1.0',
          id: 'console-fn-1',
          source: '//forge',
          type: 'forge.function.invocation',
          subject: 'app-1',
          data: { memoryMiB: 1024, durationMs: 250_000_000 },
        },
      ],
      printed('TALLY_API_KEY'),
    );
    expect(sent.accepted).toBe(1);
    await eventually(
      () => api('GET', '/v1/accounts/vendor/upcoming-invoice'),
      (invoice) => invoice.total === '1.25',
      15_000,
    );

    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      locale: 'en-US',
      colorScheme: 'light',
    });
    // Shorter than a test's timeout, so a missing element is reported by name.
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    if (platform && platform.exitCode === null) {
      const exited = new Promise((resolve) => platform?.once('exit', resolve));
      platform.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const noSeriousViolations = async () => expect(await seriousViolations(page)).toEqual([]);

  afterEach(() => expect(pageErrors, 'errors in the page').toEqual([]));

  it('is served at / without a credential; every other path stays the API’s', async () => {
    for (const path of ['/', '/sign-in', '/accounts/vendor']) {
      const answer = await fetch(`${base}${path}`);
      expect([path, answer.status, answer.headers.get('content-type')]).toEqual([
        path,
        200,
        'text/html; charset=utf-8',
      ]);
      expect(await answer.text()).toContain('<div id="root">');
    }
    for (const path of ['/v1/admin/projections', '/accounts', '/accounts/vendor/usage', '/assets/missing.js', '/nope'])
      expect([path, (await fetch(`${base}${path}`)).status]).toEqual([path, 401]);
  });

  it('asks for the token first, then opens the bookmarked account page', async () => {
    await page.goto(`${base}/accounts/vendor`);
    await page.waitForURL(`${base}/sign-in?next=%2Faccounts%2Fvendor`);
    await page.getByLabel('Admin token').waitFor();
    await noSeriousViolations();
    await screenshot(page, 'sign-in');

    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Tally did not accept this token.' }).waitFor();

    // Keyboard only: the token field has the focus, Enter submits.
    await page.getByLabel('Admin token').fill(admin);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/accounts/vendor`);
    await page.getByRole('heading', { level: 1, name: 'Vendor Ltd' }).waitFor();
  });

  it('shows the usage total and the upcoming invoice the API answers, in the account’s currency', async () => {
    const usage = await api('GET', '/v1/accounts/vendor/usage');
    const invoice = await api('GET', '/v1/accounts/vendor/upcoming-invoice');
    const functions = usage.meters.find((m: { slug: string }) => m.slug === 'forge-functions');
    expect(functions.total).toBe('250000');

    const shownTotal = page.locator('[data-meter=forge-functions] [data-testid=meter-total]');
    await shownTotal.waitFor();
    expect(await shownTotal.textContent()).toBe(new Intl.NumberFormat('en-US').format(functions.total)); // 250,000
    const usd = (value: string) =>
      new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 20 }).format(
        value as `${number}`,
      );
    expect(await page.getByTestId('invoice-total').textContent()).toBe(usd(invoice.total)); // $1.25
    expect(await page.getByTestId('invoice-subtotal').textContent()).toBe(usd(invoice.subtotal));
    expect(await page.getByTestId('invoice-line').count()).toBe(invoice.lines.length);
    const billed = page.getByTestId('invoice-line').filter({ hasText: 'forge-functions' });
    expect(await billed.locator('td').last().textContent()).toBe('$1.25');
    await page.locator('.chart svg').first().waitFor(); // the chart chunk loaded and drew
    await noSeriousViolations();
    await screenshot(page, 'account');
  });

  it('shows the projection to the period’s end the API answers', async () => {
    // A sum's projection falls as the period goes by (the same usage over more elapsed time): the page's figure,
    // asked by a refresh after `before` (it refreshes every 2 s), lies between the API's answers around it.
    const total = async () =>
      new ExactDecimal((await api('GET', '/v1/accounts/vendor/upcoming-invoice')).projection.total);
    await page.getByTestId('invoice-projection').waitFor();
    const before = await total();
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // a refresh asked after `before`
    const text = (await page.getByTestId('invoice-projection').textContent()) ?? '';
    const after = await total();
    const shown = new ExactDecimal((/\$([\d,]+\.\d+)/.exec(text)?.[1] ?? 'NaN').replaceAll(',', ''));
    expect(shown.lte(before.toDecimalPlaces(2, ExactDecimal.ROUND_HALF_EVEN)), `${shown} ≤ ${before}`).toBe(true);
    expect(shown.gte(after.toDecimalPlaces(2, ExactDecimal.ROUND_HALF_EVEN)), `${shown} ≥ ${after}`).toBe(true);
  });

  it('shows new usage live: an event accepted while the page is open appears within 5 seconds, without a reload', async () => {
    const shownTotal = page.locator('[data-meter=forge-functions] [data-testid=meter-total]');
    expect(await shownTotal.textContent()).toBe('250,000');
    const acceptedAt = Date.now();
    // 1024 MiB ÷ 1024 × 10,000 s = 10,000 GB-s more
    const sent = await api(
      'POST',
      '/v1/events',
      [
        {
          specversion: '1.0',
          id: 'console-fn-live',
          source: '//forge',
          type: 'forge.function.invocation',
          subject: 'app-1',
          data: { memoryMiB: 1024, durationMs: 10_000_000 },
        },
      ],
      printed('TALLY_API_KEY'),
    );
    expect(sent.accepted).toBe(1);
    await page
      .locator('[data-meter=forge-functions] [data-testid=meter-total]', { hasText: '260,000' })
      .waitFor({ timeout: 5_000 });
    // How long it took is the test's figure, not its assertion (the 5 s above is the promise).
    console.log(`console: new usage shown ${Date.now() - acceptedAt} ms after it was accepted`);
  });

  it('is usable with the keyboard and in dark mode', async () => {
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')).toBe('rgb(20, 22, 27)');
    await noSeriousViolations();
    await screenshot(page, 'account-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows the projections with their status and lag on the overview', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`${base}/`);
    const names: string[] = (await api('GET', '/v1/admin/projections')).projections.map(
      (p: { name: string }) => p.name,
    );
    expect(names.length).toBeGreaterThan(0);
    await page.locator('tbody th code').first().waitFor();
    expect((await page.locator('tbody th code').allTextContents()).sort()).toEqual([...names].sort());
    await noSeriousViolations();
    await screenshot(page, 'overview');

    // The account form leads to the same bookmarkable page.
    await page.getByLabel('Account id').fill('vendor');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/accounts/vendor`);
  });

  it('lists parked usage with its reason and what fixes it', async () => {
    // A subject no account owns: the event is kept, parked, and listed.
    const sent = await api(
      'POST',
      '/v1/events',
      [
        {
          specversion: '1.0',
          id: 'console-ghost-1',
          source: '//forge',
          type: 'forge.function.invocation',
          subject: 'ghost-1',
          data: { memoryMiB: 128, durationMs: 1_000 },
        },
      ],
      printed('TALLY_API_KEY'),
    );
    expect(sent.accepted).toBe(1);
    const listed = await eventually(
      () => api('GET', '/v1/parked-usage'),
      (page) => page.items.some((i: { subject: string }) => i.subject === 'ghost-1'),
      10_000,
    );
    await page.getByRole('link', { name: 'Parked usage' }).click();
    await page.waitForURL(`${base}/parked`);
    const row = page.getByTestId('parked-event').filter({ hasText: 'ghost-1' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getByTestId('parked-reason').textContent()).toBe('No account owns this subject');
    expect(await row.textContent()).toContain('PUT /v1/subjects/{subject}');
    expect(await page.getByTestId('parked-event').count()).toBe(listed.items.length);
    await noSeriousViolations();
    await screenshot(page, 'parked');
    await page.goto(`${base}/accounts/vendor`);
    await page.getByRole('heading', { level: 1, name: 'Vendor Ltd' }).waitFor();
  });

  it('looks an event up by source and id; a bookmarked lookup restores itself', async () => {
    // A bookmark: the lookup is in the address, the form filled from it.
    await page.goto(`${base}/events?source=${encodeURIComponent('//forge')}&id=console-ghost-1`);
    await page.getByTestId('event-status').waitFor();
    expect(await page.getByLabel('Source').inputValue()).toBe('//forge');
    expect(await page.getByLabel('Event id').inputValue()).toBe('console-ghost-1');
    const ghost = await api('GET', `/v1/events/status?source=${encodeURIComponent('//forge')}&id=console-ghost-1`);
    expect(await page.getByTestId('event-status').textContent()).toBe(ghost.status); // parked
    expect(await page.getByTestId('event-parked').textContent()).toContain('No account owns this subject');
    // Another lookup by keyboard: the address follows, the answer is the API's.
    await page.getByLabel('Event id').fill('console-fn-1');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/events?source=${encodeURIComponent('//forge')}&id=console-fn-1`);
    await page.getByTestId('event-status').filter({ hasText: 'attributed' }).waitFor();
    await page.getByRole('link', { name: 'vendor' }).waitFor();
    await noSeriousViolations();
    await screenshot(page, 'event');
    await page.goto(`${base}/accounts/vendor`);
    await page.getByRole('heading', { level: 1, name: 'Vendor Ltd' }).waitFor();
  });

  it('returns to sign-in when a call answers 401', async () => {
    await page.evaluate("sessionStorage.setItem('tally.console.token', 'revoked-token')");
    await page.reload();
    await page.waitForURL(`${base}/sign-in?next=%2Faccounts%2Fvendor`);
    expect(await page.evaluate("sessionStorage.getItem('tally.console.token')")).toBeNull();
  });
});
