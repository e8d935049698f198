import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort } from '@tally/shared/testing';
import { ExactDecimal } from '@tally/shared/util-core';
import { chromiumPath, launchChromium, screenshot, startEmbeddedPlatform } from '@tally/shared/testing-browser';
import { http } from './support';

/**
 * The newcomer: `npm start` with nothing configured (the example account on, as by default), open
 * http://127.0.0.1:<port>/ in a browser, sign in with the printed token, and see the example account's usage
 * charts and invoice — the numbers the API answers. A second start opens nothing twice.
 */
describe('a newcomer after `npm start` (Chromium)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-newcomer-'));
  let port = 0;
  let base = '';
  let platform: ChildProcess | undefined;
  let output = '';
  let browser: Browser | undefined;

  const start = async () => {
    // Chosen once: the second start comes back on the same port, as a user's second `npm start` does.
    port ||= await freePort(2);
    base = `http://127.0.0.1:${port}`;
    output = '';
    platform = await startEmbeddedPlatform({
      port,
      dataDir,
      onOutput: (text) => (output += text),
      env: { TALLY_EXAMPLE: 'on' },
    });
  };
  const stop = async () => {
    if (!platform || platform.exitCode !== null || platform.signalCode !== null) return;
    const exited = new Promise((resolve) => platform?.once('exit', resolve));
    platform.kill('SIGTERM');
    await exited;
  };
  const printed = (name: string) => {
    const match = new RegExp(`export ${name}=(\\S+)`).exec(output);
    if (!match) throw new Error(`${name} not printed:\n${output}`);
    return match[1];
  };
  const api = async (path: string) => {
    const answer = await http('GET', `${base}${path}`, undefined, 'application/json', printed('TALLY_ADMIN_TOKEN'));
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  type Usage = { meters: { slug: string; aggregation: string; total: string | null }[] };
  // A stored level (SQL data stored) grows with the clock while it is held: the sums and counts stand still.
  const totals = (usage: Usage) =>
    usage.meters.filter((m) => m.aggregation !== 'TIME_WEIGHTED_SUM').map((m) => [m.slug, m.total]);

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium`);
    await start();
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('signs in with the printed token and sees the example account’s usage charts and invoice', async () => {
    expect(output).toMatch(/example account: example \([\d,]+ usage events since \d{4}-\d{2}-01\)/);
    expect(output).toContain(`Console: ${base}/`);
    expect(output).toContain(`the example account: ${base}/accounts/example`);
    // Every event the example sent is counted before the page is compared with the API.
    const sent = Number(/\(([\d,]+) usage events/.exec(output)?.[1].replaceAll(',', ''));
    const today = new Date();
    const from = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1)).toISOString();
    const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1)).toISOString();
    await eventually(
      () => api(`/v1/usage?accountId=example&windowSize=DAY&from=${from}&to=${to}`),
      (usage: { totalEvents: string }) => usage.totalEvents === String(sent),
      60_000,
    );

    if (!browser) throw new Error('no browser');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/sign-in?next=%2F`);
    await page.getByLabel('Admin token').fill(printed('TALLY_ADMIN_TOKEN'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    // Stored levels (SQL data stored) grow with the clock: the page's lies between an answer before and one after.
    const before = await api('/v1/accounts/example/usage?windowSize=DAY');
    await page.goto(`${base}/accounts/example`);
    await page.getByRole('heading', { name: 'Example Forge developer' }).waitFor();

    type Meter = { slug: string; aggregation: string; total: string | null };
    const measured: Meter[] = before.meters.filter((m: Meter) => m.total !== null);
    expect(measured.map((m) => m.slug)).toEqual(
      expect.arrayContaining(['forge-functions', 'forge-kvs-reads', 'forge-logs', 'forge-object-store-requests']),
    );
    // The page's numbers first, then the API's answer after them (the page asks again every 2 s).
    const shown = new Map<string, string>();
    for (const meter of measured) {
      const chart = page.locator(`figure[data-meter=${meter.slug}]`);
      await chart.locator('svg').first().waitFor();
      shown.set(meter.slug, (await chart.getAttribute('data-total')) as string);
    }
    const after = await api('/v1/accounts/example/usage?windowSize=DAY');
    for (const meter of measured) {
      const later = after.meters.find((m: Meter) => m.slug === meter.slug).total;
      const total = shown.get(meter.slug) as string;
      if (meter.aggregation !== 'TIME_WEIGHTED_SUM') expect([meter.slug, total]).toEqual([meter.slug, later]);
      else
        expect(
          new ExactDecimal(total).gte(meter.total as string) && new ExactDecimal(total).lte(later),
          `${meter.slug}: ${meter.total} ≤ ${total} ≤ ${later}`,
        ).toBe(true);
    }
    // The upcoming invoice: the weather app is over its free compute, so there is something to pay.
    const invoice = await api('/v1/accounts/example/upcoming-invoice');
    expect(Number(invoice.total)).toBeGreaterThan(0);
    const total = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(invoice.total);
    await page.getByRole('heading', { name: 'Upcoming invoice' }).waitFor();
    expect(await page.locator('section[aria-labelledby=invoice-heading]').textContent()).toContain(total);
    await screenshot(page, 'newcomer-example-account');
    await context.close();
  }, 120_000);

  it('opens the example once: a second start leaves its usage as it was', async () => {
    const before = totals(await api('/v1/accounts/example/usage'));
    await stop();
    await start();
    expect(output).toContain('example account: example (opened on an earlier start)');
    expect(totals(await api('/v1/accounts/example/usage'))).toEqual(before);
  }, 120_000);
});
