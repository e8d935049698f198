import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort } from '@tally/shared/testing';
import { ExactDecimal } from '@tally/shared/util-core';
import {
  chromiumPath,
  launchChromium,
  screenshot,
  seriousViolations,
  startEmbeddedPlatform,
} from '@tally/shared/testing-browser';
import { http } from './support';

/**
 * The console in a real browser (Debian's Chromium through playwright-core), against `npm start` with the
 * Forge catalog: sign in with the printed token, open the account page, and see the API's numbers.
 */
describe('Tally Console (npm start, Chromium)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-console-'));
  let port = 0;
  let base = '';
  let platform: ChildProcess | undefined;
  let output = '';
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let admin: string;
  const pageErrors: string[] = [];

  // The account is in UTC: its periods are the UTC months.
  const now = new Date();
  const currentPeriod = now.toISOString().slice(0, 7);
  const previousPeriod = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  const quantity = (value: string) => new Intl.NumberFormat('en-US').format(value as `${number}`);
  const usd = (value: string) =>
    new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 20 }).format(
      value as `${number}`,
    );
  /** A function call of app-1 that ended `beforeMs` before `end`, `durationMs` long at 1024 MiB. */
  /** One function invocation through intake (1024 MiB unless said: durationMs ÷ 1000 GB-s), accepted. */
  const invoke = async (
    id: string,
    event: { durationMs: number; subject?: string; memoryMiB?: number; time?: string },
  ) => {
    const { durationMs, subject = 'app-1', memoryMiB = 1024, time } = event;
    const sent = await api(
      'POST',
      '/v1/events',
      [
        {
          specversion: '1.0',
          id,
          source: '//forge',
          type: 'forge.function.invocation',
          subject,
          ...(time && { time }),
          data: { memoryMiB, durationMs },
        },
      ],
      printed('TALLY_API_KEY'),
    );
    expect(sent.accepted).toBe(1);
  };
  /** An invocation `beforeMs` before `end`. */
  const sendFunctionCall = (id: string, end: string, beforeMs: number, durationMs: number) =>
    invoke(id, { durationMs, time: new Date(Date.parse(end) - beforeMs).toISOString() });

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
    port = await freePort(2);
    base = `http://127.0.0.1:${port}`;
    if (!existsSync(chromiumPath))
      throw new Error(
        `no Chromium at ${chromiumPath}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`,
      );
    // Only the test's billing runs bill (POST /v1/admin/billing-runs): no run of the clock between its steps.
    platform = await startEmbeddedPlatform({
      port,
      dataDir,
      onOutput: (text) => (output += text),
      env: { TALLY_BILLING_INTERVAL_MS: '86400000' },
    });
    expect(output).toContain('serving the console at /');
    admin = printed('TALLY_ADMIN_TOKEN');

    // An account on the Forge plan, one app, and one function invocation:
    // 1024 MiB ÷ 1024 × 250,000 s = 250,000 GB-s; 200,000 free, 50,000 × 0.000025 = 1.25 USD.
    await api('POST', '/v1/accounts', { id: 'vendor', name: 'Vendor Ltd', currency: 'USD', timezone: 'UTC' });
    await api('POST', '/v1/subscriptions', {
      id: 'vendor-forge',
      accountId: 'vendor',
      planId: 'forge',
      // From the previous period's start: that period gets an invoice (the history, the invoice screen, drill-down).
      startsAt: `${previousPeriod}-01T00:00:00Z`,
    });
    await api('PUT', '/v1/subjects/app-1', { accountId: 'vendor', attributes: { app: 'app-1' } });
    await invoke('console-fn-1', { durationMs: 250_000_000 });
    await eventually(
      () => api('GET', '/v1/accounts/vendor/upcoming-invoice'),
      (invoice) => invoice.total === '1.25',
      15_000,
    );
    // The previous period, an hour before its end: 1024 MiB ÷ 1024 × 300,000 s = 300,000 GB-s;
    // 100,000 over the 200,000 free × 0.000025 = 2.50 USD on its invoice.
    await sendFunctionCall('console-fn-previous', `${currentPeriod}-01T00:00:00Z`, 60 * 60_000, 300_000_000);
    await eventually(
      () => api('GET', `/v1/accounts/vendor/usage?period=${previousPeriod}`),
      (usage) => usage.meters.some((m: { total: string }) => m.total === '300000'),
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
    if (platform && platform.exitCode === null && platform.signalCode === null) {
      const exited = new Promise((resolve) => platform?.once('exit', resolve));
      platform.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const noSeriousViolations = async () => expect(await seriousViolations(page)).toEqual([]);

  afterEach(() => expect(pageErrors, 'errors in the page').toEqual([]));

  it('is served at / without a credential; every other path stays the API’s', async () => {
    for (const path of [
      '/',
      '/sign-in',
      // the accounts search is the console's; GET /v1/accounts stays the API's (401 below)
      '/accounts',
      '/accounts?search=vendor',
      '/accounts/vendor',
      '/invoices/0190c7a4-0000-7000-8000-000000000001',
      '/catalog',
      '/plans/forge',
      '/reconciliations',
      '/reconciliations/0190c7a4-0000-7000-8000-000000000001',
    ]) {
      const answer = await fetch(`${base}${path}`);
      expect([path, answer.status, answer.headers.get('content-type')]).toEqual([
        path,
        200,
        'text/html; charset=utf-8',
      ]);
      expect(await answer.text()).toContain('<div id="root">');
    }
    for (const path of [
      '/v1/admin/projections',
      '/v1/accounts',
      '/accounts/vendor/usage',
      '/assets/missing.js',
      '/nope',
    ])
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
    await invoke('console-fn-live', { durationMs: 10_000_000 });
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

    // The search box leads to the accounts search, a bookmarkable address.
    await page.getByLabel('Find an account (name or id)').fill('vendor');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/accounts?search=vendor`);
    await page.getByRole('link', { name: 'Vendor Ltd' }).click();
    await page.waitForURL(`${base}/accounts/vendor`);
  });

  it('lists parked usage with its reason and what fixes it', async () => {
    // A subject no account owns: the event is kept, parked, and listed.
    await invoke('console-ghost-1', { durationMs: 1_000, subject: 'ghost-1', memoryMiB: 128 });
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

  it('searches accounts by a word their names share: exactly the API’s answer, a page at a time, each leading to its page', async () => {
    for (const [id, name] of [
      ['nw-analytics', 'Quokka Analytics'],
      ['nw-bakery', 'Quokka Bakery'],
      ['nw-cycles', 'Quokka Cycles'],
    ])
      await api('POST', '/v1/accounts', { id, name, currency: 'USD', timezone: 'Australia/Perth' });
    // The accounts list is a projection: it has them within moments.
    const found = await eventually(
      () => api('GET', '/v1/accounts?search=quokka'),
      (answer) => answer.accounts.length === 3,
      10_000,
    );
    expect(found.accounts.map((a: { id: string }) => a.id)).toEqual(['nw-analytics', 'nw-bakery', 'nw-cycles']);

    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.waitForURL(`${base}/accounts`);
    await page.getByLabel('Name or id contains').fill('quokka');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/accounts?search=quokka`);
    const rows = page.getByTestId('account-row');
    await page.locator('[data-testid=account-row][data-account=nw-analytics]').waitFor();
    expect(await rows.count()).toBe(found.accounts.length);
    for (const [i, account] of found.accounts.entries())
      expect(await rows.nth(i).locator('th, td').allTextContents()).toEqual([
        account.name,
        account.id,
        account.currency,
        account.timezone,
      ]);
    await noSeriousViolations();
    await screenshot(page, 'accounts');

    // A page at a time (the page size in the address, as the API takes it): the next page is the API's next page.
    const first = await api('GET', '/v1/accounts?search=quokka&limit=2');
    const second = await api('GET', `/v1/accounts?search=quokka&limit=2&after=${first.next}`);
    await page.goto(`${base}/accounts?search=quokka&limit=2`);
    expect(await page.getByLabel('Name or id contains').inputValue()).toBe('quokka');
    await page.locator('[data-testid=account-row][data-account=nw-bakery]').waitFor();
    expect(await rows.evaluateAll((all) => all.map((r) => r.getAttribute('data-account')))).toEqual(
      first.accounts.map((a: { id: string }) => a.id),
    );
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(`${base}/accounts?search=quokka&limit=2&after=${first.next}`);
    await page.locator('[data-testid=account-row][data-account=nw-cycles]').waitFor();
    expect(await rows.evaluateAll((all) => all.map((r) => r.getAttribute('data-account')))).toEqual(
      second.accounts.map((a: { id: string }) => a.id),
    );
    expect(second.next).toBeNull();
    expect(await page.getByRole('link', { name: 'Next page' }).count()).toBe(0);

    await page.getByRole('link', { name: 'Quokka Cycles' }).click();
    await page.waitForURL(`${base}/accounts/nw-cycles`);
    await page.getByRole('heading', { level: 1, name: 'Quokka Cycles' }).waitFor();
  });

  it('shows an account’s amounts in its locale: a de-DE account billed in EUR', async () => {
    // 1024 MiB ÷ 1024 × 250,000 s = 250,000 GB-s × 0.000005 EUR = 1.25 EUR
    await api('POST', '/v1/plans', {
      id: 'forge-eur',
      name: 'Forge EUR',
      currency: 'EUR',
      charges: [{ meter: 'forge-functions', model: 'unit', unitPrice: '0.000005' }],
    });
    const opened = await api('POST', '/v1/accounts', {
      id: 'werkstatt',
      name: 'Berliner Werkstatt',
      currency: 'EUR',
      timezone: 'UTC',
      locale: 'de-DE',
    });
    expect(opened.locale).toBe('de-DE');
    await api('POST', '/v1/subscriptions', {
      id: 'werkstatt-forge',
      accountId: 'werkstatt',
      planId: 'forge-eur',
      startsAt: `${currentPeriod}-01T00:00:00Z`,
    });
    await api('PUT', '/v1/subjects/app-de', { accountId: 'werkstatt', attributes: { app: 'app-de' } });
    await invoke('console-fn-de', { durationMs: 250_000_000, subject: 'app-de' });
    const invoice = await eventually(
      () => api('GET', '/v1/accounts/werkstatt/upcoming-invoice'),
      (upcoming) => upcoming.total === '1.25',
      15_000,
    );
    const usage = await api('GET', '/v1/accounts/werkstatt/usage');
    const functions = usage.meters.find((m: { slug: string }) => m.slug === 'forge-functions');

    await page.goto(`${base}/accounts/werkstatt`);
    await page.getByRole('heading', { level: 1, name: 'Berliner Werkstatt' }).waitFor();
    const euros = new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'EUR' }).format(
      invoice.total as `${number}`,
    );
    await page.getByTestId('invoice-total').waitFor();
    expect(await page.getByTestId('invoice-total').textContent()).toBe(euros); // 1,25 €
    expect(await page.locator('[data-meter=forge-functions] [data-testid=meter-total]').textContent()).toBe(
      new Intl.NumberFormat('de-DE').format(functions.total as `${number}`), // 250.000
    );
    await noSeriousViolations();
    await screenshot(page, 'account-de-DE');
  });

  it('restores a bookmarked view from its address, and keeps a changed filter in it', async () => {
    const query = `period=${currentPeriod}&breakdownBy=app&filterAttribute[app]=app-1`;
    await page.goto(`${base}/accounts/vendor?${query}`);
    await page.locator('[data-meter=forge-functions] [data-testid=meter-total]').waitFor();
    // The controls show the bookmark's filters…
    expect(await page.getByLabel('Billing period').inputValue()).toBe(currentPeriod);
    expect(await page.getByLabel('Break down by').inputValue()).toBe('app');
    expect(await page.getByLabel('Only app').inputValue()).toBe('app-1');
    // …and the totals are the API's answer to the same query.
    const usage = await api('GET', `/v1/accounts/vendor/usage?${query}`);
    expect(usage.breakdownBy).toEqual(['app']);
    const measured = usage.meters.filter((m: { total: string | null }) => m.total !== null);
    expect(measured.length).toBeGreaterThan(0);
    for (const meter of measured)
      expect([
        meter.slug,
        await page.locator(`[data-meter=${meter.slug}] [data-testid=meter-total]`).textContent(),
      ]).toEqual([meter.slug, quantity(meter.total)]);
    expect(await page.locator('table.usage thead th').nth(1).textContent()).toBe('By app');

    // A filter changed with the keyboard goes into the address (a bookmark of it restores it).
    await page.getByLabel('Meter').focus();
    await page.getByLabel('Meter').selectOption('forge-functions');
    await page.waitForURL(`${base}/accounts/vendor?${query}&meter=forge-functions`);
    await page.locator('table.usage tbody').nth(1).waitFor({ state: 'detached' });
    expect(await page.locator('table.usage tbody[data-meter]').count()).toBe(1);
    expect(await page.getByLabel('Billing period').locator('option').allTextContents()).toEqual([
      `${currentPeriod} (current)`,
      previousPeriod,
    ]);
    await noSeriousViolations();
    await screenshot(page, 'account-filtered');
  });

  it('draws each meter’s usage over time, by hour or by day in the account’s zone: the charts’ sums are the API’s', async () => {
    for (const window of ['hour', 'day'] as const) {
      const query = `breakdownBy=app&window=${window}`;
      await page.goto(`${base}/accounts/vendor?${query}`);
      const usage = await api('GET', `/v1/accounts/vendor/usage?breakdownBy=app&windowSize=${window.toUpperCase()}`);
      const measured = usage.meters.filter((m: { total: string | null }) => m.total !== null);
      expect(measured.length).toBeGreaterThan(0);
      expect(await page.getByLabel('Charts by').inputValue()).toBe(window);
      for (const meter of measured) {
        const figure = page.locator(`figure[data-meter=${meter.slug}]`);
        await figure.waitFor();
        const windows: { windowStart: string; value: string }[] = meter.windows;
        const sum = windows.reduce((total, w) => total.plus(w.value), new ExactDecimal(0));
        // The chart draws every window the API answers, and they add up to the meter's total.
        expect([meter.slug, await figure.getAttribute('data-total'), await figure.getAttribute('data-values')]).toEqual(
          [meter.slug, sum.toFixed(), String(windows.length)],
        );
        expect(sum.equals(meter.total), `${meter.slug}: ${sum.toFixed()} = ${meter.total}`).toBe(true);
        expect(await figure.locator('figcaption').textContent()).toBe(`${meter.name} per ${window}`);
        // The exact values behind the chart, window by window, labelled in the account's time zone.
        await figure.getByText(`Values by ${window}`).click();
        const first = windows[0];
        const label = new Intl.DateTimeFormat('en-US', {
          timeZone: usage.timezone,
          month: 'short',
          day: 'numeric',
          ...(window === 'hour' && { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }),
        }).format(new Date(first.windowStart));
        expect(await figure.locator('table.windows tbody th').first().textContent()).toBe(label);
      }
      await noSeriousViolations();
      await screenshot(page, `account-over-time-${window}`);
    }
  });

  it('shows each app’s free allowance used, as the upcoming invoice and the plan answer', async () => {
    await page.goto(`${base}/accounts/vendor`);
    const invoice = await api('GET', '/v1/accounts/vendor/upcoming-invoice');
    const plan = await api('GET', '/v1/plans/forge');
    const line = invoice.lines.find(
      (l: { meter: string; perValue: string }) => l.meter === 'forge-functions' && l.perValue === 'app-1',
    );
    const charge = plan.versions
      .find((v: { version: number }) => v.version === line.segment.planVersion)
      .charges.find((c: { meter: string }) => c.meter === 'forge-functions');
    // 260,000 GB-s of 200,000 free: 130 %
    expect([line.quantity, charge.allowance]).toEqual(['260000', '200000']);
    const bar = page.locator('[data-testid=allowance][data-meter=forge-functions][data-app=app-1]');
    await bar.waitFor();
    expect(await bar.getByTestId('allowance-text').textContent()).toBe(
      `${quantity(line.quantity)} of ${quantity(charge.allowance)} free used ⚠ exceeded (130.0 %)`,
    );
    expect(await bar.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    // One bar per charge with an allowance, for app-1 (the only app).
    const withAllowance = plan.versions[0].charges.filter((c: { allowance: string }) => c.allowance !== '0');
    expect(await page.getByTestId('allowance').count()).toBe(withAllowance.length);
    await screenshot(page, 'account-allowances');
  });

  it('shows each budget’s consumption and the thresholds crossed', async () => {
    // 260,000 of 400,000 GB-s: 65 %, past 50 only. Cost: 60,000 × 0.000025 = 1.50 of 1.00: all four alerted.
    await api('POST', '/v1/budgets', {
      id: 'vendor-compute',
      accountId: 'vendor',
      meter: 'forge-functions',
      app: 'app-1',
      limit: '400000',
    });
    await api('POST', '/v1/cost-budgets', { id: 'vendor-cost', accountId: 'vendor', limit: '1' });
    await eventually(
      () => api('GET', '/v1/cost-budgets?accountId=vendor'),
      (list) => list.items.length === 1,
      10_000,
    );
    await eventually(
      () => api('GET', '/v1/budgets?accountId=vendor'),
      (list) => list.items.length === 1,
      10_000,
    );
    await api('POST', '/v1/admin/billing-runs');
    const cost = await api('GET', '/v1/cost-budgets/vendor-cost');
    expect(cost.alerts.map((a: { threshold: number }) => a.threshold)).toEqual([50, 75, 90, 100]);
    const invoice = await api('GET', '/v1/accounts/vendor/upcoming-invoice');

    await page.reload();
    const usageBudget = page.locator('[data-budget=vendor-compute]');
    await usageBudget.waitFor();
    expect(await usageBudget.getByTestId('budget-used').textContent()).toBe('260,00065.0 %');
    expect(await usageBudget.getByTestId('budget-crossed').textContent()).toBe('⚑ 50 %');
    const costBudget = page.locator('[data-budget=vendor-cost]');
    expect(await costBudget.getByTestId('budget-used').textContent()).toBe(`${usd(invoice.subtotal)}150.0 %`);
    expect(await costBudget.getByTestId('budget-crossed').textContent()).toBe('⚑ 50 %, ⚑ 75 %, ⚑ 90 %, ⚑ 100 %');
    await noSeriousViolations();
  });

  it('lists the issued invoices; an invoice’s screen; a line leads to the usage behind it', async () => {
    await api('POST', '/v1/admin/billing-runs');
    const listed = await eventually(
      () => api('GET', '/v1/invoices?accountId=vendor'),
      (answer) => answer.invoices.some((i: { period: { label: string } }) => i.period.label === previousPeriod),
      10_000,
    );
    const { invoiceId } = listed.invoices.find((i: { period: { label: string } }) => i.period.label === previousPeriod);
    // Inside its grace period (the first day of a month) the draft is finalized on request.
    if ((await api('GET', `/v1/invoices/${invoiceId}`)).status === 'draft')
      await api('POST', `/v1/invoices/${invoiceId}/finalize`);
    const issued = await api('GET', `/v1/invoices/${invoiceId}`);
    expect([issued.status, issued.total]).toEqual(['finalized', '2.50']);
    await eventually(
      () => api('GET', '/v1/invoices?accountId=vendor'),
      (answer) => answer.invoices.some((i: { status: string }) => i.status === 'finalized'),
      10_000,
    );

    await page.reload();
    const row = page.getByTestId('invoice-row').filter({ hasText: previousPeriod });
    await row.getByTestId('invoice-status').filter({ hasText: 'finalized' }).waitFor({ timeout: 15_000 });
    expect(await row.getByTestId('invoice-row-total').textContent()).toBe(usd(issued.total)); // $2.50
    expect(await page.getByTestId('credit-note').count()).toBe(
      (await api('GET', '/v1/credit-notes?accountId=vendor')).creditNotes.length,
    );
    await row.getByRole('link', { name: previousPeriod }).click();
    await page.waitForURL(`${base}/invoices/${invoiceId}`);
    await page.getByTestId('invoice-status').filter({ hasText: 'finalized' }).waitFor();
    expect(await page.getByTestId('invoice-total').textContent()).toBe(usd(issued.total));
    expect(await page.getByTestId('invoice-subtotal').textContent()).toBe(usd(issued.subtotal));
    expect(await page.getByTestId('invoice-line').count()).toBe(issued.lines.length);
    await noSeriousViolations();
    await screenshot(page, 'invoice');

    // Drill-down: the functions line of app-1 → that period's usage of that meter and app.
    const line = issued.lines.find((l: { meter: string; perValue: string }) => l.meter === 'forge-functions');
    expect(line.quantity).toBe('300000');
    await page.getByTestId('invoice-line').filter({ hasText: 'forge-functions' }).getByTestId('usage-behind').click();
    await page.waitForURL(
      `${base}/accounts/vendor?period=${previousPeriod}&filterAttribute[app]=app-1&meter=forge-functions`,
    );
    const shown = page.locator(`[data-meter=forge-functions] [data-testid=meter-total]`);
    await shown.waitFor();
    const behind = await api('GET', `/v1/accounts/vendor/usage?period=${previousPeriod}&filterAttribute[app]=app-1`);
    const meter = behind.meters.find((m: { slug: string }) => m.slug === 'forge-functions');
    expect([await shown.textContent(), meter.total]).toEqual([quantity(line.quantity), line.quantity]);
  });

  it('shows the catalog’s meters and a plan’s price tables', async () => {
    await page.getByRole('link', { name: 'Catalog' }).click();
    await page.waitForURL(`${base}/catalog`);
    const meters = await api('GET', '/api/v1/meters');
    await page.getByTestId('meter').first().waitFor();
    expect(await page.getByTestId('meter').count()).toBe(meters.length);
    const functions = meters.find((m: { slug: string }) => m.slug === 'forge-functions');
    expect(await page.locator('[data-testid=meter][data-meter=forge-functions]').textContent()).toContain(
      functions.valueExpression,
    );
    await noSeriousViolations();
    await screenshot(page, 'catalog');

    // The plans, as GET /v1/plans answers them, each leading to its price tables.
    const plans = await api('GET', '/v1/plans');
    expect(plans.next).toBeNull();
    await page.locator('[data-testid=plan-row][data-plan=forge]').waitFor();
    expect(
      await page.getByTestId('plan-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-plan'))),
    ).toEqual(plans.plans.map((p: { id: string }) => p.id));
    await page.locator('[data-testid=plan-row][data-plan=forge]').getByRole('link').click();
    await page.waitForURL(`${base}/plans/forge`);
    const plan = await api('GET', '/v1/plans/forge');
    const sql = page.locator('[data-testid=charge][data-meter=forge-sql-requests]');
    await sql.waitFor();
    const quoted = plan.versions[0].charges.find((c: { meter: string }) => c.meter === 'forge-sql-requests');
    expect([quoted.unitPrice, quoted.unitPricePer, quoted.allowance]).toEqual(['1.929', '1000000', '100000']);
    expect(await sql.getByTestId('charge-price').textContent()).toBe('1.929 USD per 1,000,000');
    expect(await sql.getByTestId('charge-allowance').textContent()).toBe('100,000 free per app, each billing period');
    expect(await page.getByTestId('charge').count()).toBe(
      plan.versions.reduce((n: number, v: { charges: unknown[] }) => n + v.charges.length, 0),
    );
    await noSeriousViolations();
    await screenshot(page, 'plan');
  });

  let reconciliationPage = '';
  it('starts a reconciliation and reads its report: no drift, then a late event’s drift explained', async () => {
    await page.getByRole('link', { name: 'Reconciliation' }).click();
    await page.waitForURL(`${base}/reconciliations`);
    const start = async () => {
      await page.getByLabel('Billing period (YYYY-MM)').fill(previousPeriod);
      const from = page.url();
      await page.getByRole('button', { name: 'Start a reconciliation' }).click();
      // The new run's report (the second run starts from the first one's report: not that address again).
      await page.waitForURL((url) => /\/reconciliations\/[0-9a-f-]{36}$/.test(url.pathname) && url.href !== from);
      await page
        .getByTestId('reconciliation-status')
        .filter({ hasText: /completed|failed/ })
        .waitFor({ timeout: 30_000 });
      return api('GET', new URL(page.url()).pathname.replace('/reconciliations', '/v1/reconciliations'));
    };
    const clean = await start();
    expect([clean.status, clean.drifts]).toEqual(['completed', []]);
    await page.getByTestId('no-drift').waitFor();
    expect(await page.getByTestId('reconciliation-compared').textContent()).toContain(
      `${clean.groupsCompared} meter groups`,
    );
    reconciliationPage = page.url();
    await noSeriousViolations();
    await screenshot(page, 'reconciliation');

    // A late event for the finalized period: 1,000 GB-s more in the ledger than the final invoice bills.
    await sendFunctionCall('console-fn-late', `${currentPeriod}-01T00:00:00Z`, 30 * 60_000, 1_000_000);
    await eventually(
      () => api('GET', `/v1/accounts/vendor/usage?period=${previousPeriod}`),
      (usage) => usage.meters.some((m: { total: string }) => m.total === '301000'),
      15_000,
    );
    const drifted = await start();
    expect(drifted.drifts.map((d: { cause: string }) => d.cause)).toEqual(['changed_after_finalization']);
    const drift = page.getByTestId('drift');
    await drift.first().waitFor();
    expect(await drift.count()).toBe(1);
    expect(await drift.getByRole('heading').textContent()).toBe('⚠ Drift: Usage changed after the invoice was final');
    expect(await drift.textContent()).toContain('ledger 301,000');
    expect(await drift.textContent()).toContain('What to do:');
    await noSeriousViolations();
    await screenshot(page, 'reconciliation-drift');
  });

  it('lists the reconciliations newest first, each drift count marked, a page at a time, each leading to its report', async () => {
    await page.getByRole('link', { name: 'Reconciliation', exact: true }).click();
    await page.waitForURL(`${base}/reconciliations`);
    const listed = await api('GET', '/v1/reconciliations');
    // the drifted run, then the clean one
    expect(listed.reconciliations.map((r: { driftCount: number }) => r.driftCount)).toEqual([1, 0]);
    const rows = page.getByTestId('reconciliation-row');
    await rows.first().waitFor();
    expect(await rows.evaluateAll((all) => all.map((r) => r.getAttribute('data-reconciliation')))).toEqual(
      listed.reconciliations.map((r: { id: string }) => r.id),
    );
    expect(await rows.getByTestId('drift-count').allTextContents()).toEqual(['⚠ 1 drift', '✓ no drift']);
    expect(await rows.first().textContent()).toContain(`${listed.reconciliations[0].groupsCompared} meter group`);
    await noSeriousViolations();
    await screenshot(page, 'reconciliations');

    // One a page: the older page is the API's next.
    await page.goto(`${base}/reconciliations?limit=1`);
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const newest = await api('GET', '/v1/reconciliations?limit=1');
    await page.getByRole('link', { name: 'Older' }).click();
    await page.waitForURL(`${base}/reconciliations?limit=1&before=${newest.next}`);
    await page.locator(`[data-reconciliation="${listed.reconciliations[1].id}"]`).waitFor();
    expect(await rows.count()).toBe(1);

    await page.getByRole('link', { name: 'Newest' }).click();
    await page.locator(`[data-reconciliation="${listed.reconciliations[0].id}"]`).getByRole('link').click();
    await page.waitForURL(`${base}/reconciliations/${listed.reconciliations[0].id}`);
    await page.getByTestId('drift').first().waitFor();
  });

  it('overview: the intake count, parked usage, dead letters, the last billing run and the last reconciliation are the API’s', async () => {
    // Three events more (1 GB-s each); the last hour's count only grows while the test runs.
    const lastHour = async (): Promise<number> => (await api('GET', '/v1/admin/intake')).lastHour.accepted;
    const earlier = await lastHour();
    const sent = await api(
      'POST',
      '/v1/events',
      [1, 2, 3].map((n) => ({
        specversion: '1.0',
        id: `console-intake-${n}`,
        source: '//forge',
        type: 'forge.function.invocation',
        subject: 'app-1',
        data: { memoryMiB: 1024, durationMs: 1_000 },
      })),
      printed('TALLY_API_KEY'),
    );
    expect(sent.accepted).toBe(3);
    // Acceptances are counted off the request path: wait until the API counts these three.
    await eventually(lastHour, (count) => count >= earlier + 3, 10_000);

    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`${base}/`);
    const shownCount = page.locator('[data-window=lastHour] [data-testid=intake-accepted]');
    await shownCount.waitFor();
    const before = await lastHour();
    // The page asks every few seconds: wait for an answer at least as new as `before`, then read the API again.
    await page.waitForFunction(
      `Number(document.querySelector('[data-window=lastHour] [data-testid=intake-accepted]')?.textContent?.replaceAll(',', '')) >= ${before}`,
    );
    const shown = Number((await shownCount.textContent())?.replaceAll(',', ''));
    const after = await lastHour();
    expect(before, 'the three events are counted').toBeGreaterThanOrEqual(3);
    expect([before <= shown, shown <= after], `${before} ≤ ${shown} ≤ ${after}`).toEqual([true, true]);

    // Parked usage and dead letters: the counts of the API's lists.
    const parked = await api('GET', '/v1/parked-usage?limit=1000');
    const deadLetters = await api('GET', '/v1/admin/dead-letters?limit=1000');
    expect([parked.next, deadLetters.next]).toEqual([null, null]);
    expect(await page.getByTestId('parked-count').textContent()).toBe(String(parked.items.length));
    expect(await page.getByTestId('dead-letter-count').textContent()).toBe(String(deadLetters.deadLetters.length));
    await page.getByTestId('panel-parked').getByRole('link').waitFor();

    // The last reconciliation: the drifted one, linked, its drift marked.
    const [newest] = (await api('GET', '/v1/reconciliations?limit=1')).reconciliations;
    const reconciliation = page.getByTestId('last-reconciliation');
    expect(await reconciliation.getByRole('link').getAttribute('href')).toBe(`/reconciliations/${newest.id}`);
    expect([newest.driftCount, await reconciliation.getByTestId('drift-count').textContent()]).toEqual([
      1,
      '⚠ 1 drift',
    ]);

    // A billing run started now becomes the last run on the page (it asks again every few seconds).
    // Its record is written beside the run (not awaited by it): wait for this run's, not an earlier test's.
    const started = await api('POST', '/v1/admin/billing-runs');
    type Run = { startedAt: string; trigger: string; error: string | null; durationMs: number; subscriptions: number };
    const run = await eventually(
      async (): Promise<Run> => (await api('GET', '/v1/admin/billing-runs?limit=1')).runs[0],
      (newest) => newest?.startedAt === started.startedAt,
      10_000,
    );
    expect([run.trigger, run.error]).toEqual(['manual', null]);
    const shownRun = page.locator(`[data-testid=billing-run][data-started-at="${run.startedAt}"]`);
    await shownRun.waitFor();
    expect(await shownRun.getByTestId('billing-run-started').textContent()).toContain(
      `started by hand, ${run.durationMs.toLocaleString('en-US')} ms`,
    );
    expect(await shownRun.getByTestId('billing-run-outcome').textContent()).toMatch(
      new RegExp(`^${run.subscriptions} subscriptions?: `),
    );
    await noSeriousViolations();
    await screenshot(page, 'overview-pipeline');
    await page.emulateMedia({ colorScheme: 'dark' });
    await noSeriousViolations();
    await screenshot(page, 'overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('every screen: keyboard first, no serious axe violation in light and dark, no sideways scroll at 1024 × 768', async () => {
    const invoiceId = (await api('GET', '/v1/invoices?accountId=vendor')).invoices[0].invoiceId;
    const screens: [string, string][] = [
      ['overview', '/'],
      ['accounts', '/accounts?search=quokka'],
      ['account', '/accounts/vendor'],
      ['invoice', `/invoices/${invoiceId}`],
      ['parked', '/parked'],
      ['event', `/events?source=${encodeURIComponent('//forge')}&id=console-fn-1`],
      ['catalog', '/catalog'],
      ['plan', '/plans/forge'],
      ['reconciliations', '/reconciliations'],
      ['reconciliation', new URL(reconciliationPage).pathname],
    ];
    await page.setViewportSize({ width: 1024, height: 768 });
    try {
      for (const [name, path] of screens) {
        await page.goto(`${base}${path}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.waitForFunction("!document.querySelector('main [role=status]')");
        await page.keyboard.press('Tab');
        expect([name, await page.evaluate('document.activeElement?.textContent')]).toEqual([name, 'Skip to content']);
        expect([name, await page.evaluate('document.documentElement.scrollWidth')]).toEqual([
          name,
          expect.toSatisfy((width: number) => width <= 1024),
        ]);
        for (const colorScheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme });
          expect([name, colorScheme, await seriousViolations(page)]).toEqual([name, colorScheme, []]);
        }
        await page.emulateMedia({ colorScheme: 'light' });
        await screenshot(page, `1024-${name}`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(`${base}/accounts/vendor`);
      await page.getByRole('heading', { level: 1, name: 'Vendor Ltd' }).waitFor();
    }
  });

  it('returns to sign-in when a call answers 401', async () => {
    await page.evaluate("sessionStorage.setItem('tally.console.token', 'revoked-token')");
    await page.reload();
    await page.waitForURL(`${base}/sign-in?next=%2Faccounts%2Fvendor`);
    expect(await page.evaluate("sessionStorage.getItem('tally.console.token')")).toBeNull();
  });

  it('signs in read-only (a billing viewer): sees the account page; starting a reconciliation is refused in words', async () => {
    const viewer = await api('POST', '/v1/admin/credentials', { name: 'console finance', role: 'billing-viewer' });
    expect(viewer.role).toBe('billing-viewer');
    await page.goto(`${base}/accounts/vendor`);
    await page.waitForURL(`${base}/sign-in?next=%2Faccounts%2Fvendor`);
    await page.getByLabel('Admin token').fill(viewer.token);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/accounts/vendor`);
    await page.getByRole('heading', { level: 1, name: 'Vendor Ltd' }).waitFor();
    await page.locator('[data-meter=forge-functions] [data-testid=meter-total]').waitFor();
    await page.getByTestId('invoice-row').first().waitFor();
    await noSeriousViolations();
    await screenshot(page, 'viewer-account');

    await page.getByRole('link', { name: 'Reconciliation' }).click();
    await page.getByLabel('Billing period (YYYY-MM)').fill(previousPeriod);
    await page.getByRole('button', { name: 'Start a reconciliation' }).click();
    expect(await page.getByTestId('start-refused').textContent()).toContain('Only an admin may start a reconciliation');
    expect(page.url()).toBe(`${base}/reconciliations`);
    await noSeriousViolations();
    await screenshot(page, 'viewer-reconciliation-refused');
  });

  it('a billing viewer’s overview: all the credential may read, and a sentence for the rest', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`${base}/`);
    await page.locator('[data-window=lastHour] [data-testid=intake-accepted]').waitFor();
    await page.getByTestId('parked-count').waitFor();
    await page.getByTestId('billing-run').waitFor();
    await page.getByTestId('last-reconciliation').waitFor();
    const sentences = page.getByTestId('not-for-this-credential');
    await sentences.nth(1).waitFor();
    expect(await sentences.allTextContents()).toEqual([
      expect.stringContaining('Dead letters are the platform’s, not a tenant’s'),
      expect.stringContaining('Projections are the platform’s, not a tenant’s'),
    ]);
    expect(await page.getByRole('alert').count()).toBe(0);
    await noSeriousViolations();
    await screenshot(page, 'viewer-overview');
  });

  it('says so in words when Tally stops answering, without a crash; the navigation stays', async () => {
    await page.goto(`${base}/accounts/vendor`);
    await page.locator('[data-meter=forge-functions] [data-testid=meter-total]').waitFor();
    // The whole platform goes (its Postgres with it): the live refresh's next request fails.
    const exited = new Promise((resolve) => platform?.once('exit', resolve));
    platform?.kill('SIGTERM');
    await exited;
    const refusal = page.getByRole('alert').filter({ hasText: 'Could not load the usage: Tally did not answer' });
    await refusal.waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Vendor Ltd');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').count()).toBe(6);
    await screenshot(page, 'account-tally-gone');
  });

  it('the overview says so in words, part by part, while Tally is gone; the navigation stays', async () => {
    // Tally stopped in the test before; the console moves without a reload.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`${base}/`);
    for (const what of ['the intake rate', 'the parked usage', 'the billing runs', 'the reconciliations'])
      await page
        .getByRole('alert')
        .filter({ hasText: `Could not load ${what}: Tally did not answer` })
        .waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').count()).toBe(6);
    await screenshot(page, 'overview-tally-gone');
  });
});
