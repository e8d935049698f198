/**
 * Console benchmark, in Debian's Chromium against `npm start` (embedded, Forge catalog):
 *  - the first screen: navigation to `/` until the sign-in form shows, and the gzipped JavaScript it loaded;
 *  - an account page with 31 days × 24 hours × 4 meters (3 apps each: 8,928 hourly values) — the time from the
 *    usage answer's arrival (`tally:usage-answered`) to its charts drawn (`tally:usage-drawn`), both marked by the
 *    console itself, so the network and the API are not in it (and, beside it, from navigation to drawn);
 *  - the raw limit of the same run: ECharts alone drawing the same stacked series in a bare page.
 *   npm run bench:console [-- --runs 7]
 */
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { eventually } from '@tally/shared/testing';
import { launchChromium, startEmbeddedPlatform } from '@tally/shared/testing-browser';
import { numberArg, percentile, reportResult } from './bench-support';

const runs = numberArg('runs', 7);
const period = '2026-10'; // 31 days in UTC
const apps = ['app-1', 'app-2', 'app-3'];
/** Four meters of the Forge catalog, each with an event type of its own. */
const meters = [
  {
    slug: 'forge-functions',
    type: 'forge.function.invocation',
    data: (h: number) => ({ memoryMiB: 512, durationMs: 1_000 + h }),
  },
  { slug: 'forge-logs', type: 'forge.log', data: (h: number) => ({ bytes: 1_000_000 + h }) },
  { slug: 'forge-object-store-requests', type: 'forge.objectstore.request', data: () => ({}) },
  { slug: 'forge-kvs-reads', type: 'forge.kvs.read', data: (h: number) => ({ bytes: 5_000 + h }) },
];
const hours = 31 * 24;

const main = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-bench-console-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  let output = '';
  // October's usage is older than the default 35-day lateness horizon.
  process.env.TALLY_LATENESS_HORIZON_DAYS = '400';
  const platform = await startEmbeddedPlatform({ port, dataDir, onOutput: (text) => (output += text) });
  const printed = (name: string) => new RegExp(`export ${name}=(\\S+)`).exec(output)?.[1] ?? '';
  const admin = printed('TALLY_ADMIN_TOKEN');
  const call = async (method: string, path: string, body?: unknown, token = admin) => {
    const answer = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${await answer.text()}`);
    return answer.json();
  };
  const browser = await launchChromium();
  try {
    await call('POST', '/v1/accounts', { id: 'bench', name: 'Bench Ltd', currency: 'USD', timezone: 'UTC' });
    await call('POST', '/v1/subscriptions', {
      id: 'bench-forge',
      accountId: 'bench',
      planId: 'forge',
      startsAt: '2026-01-01T00:00:00Z',
    });
    for (const app of apps) await call('PUT', `/v1/subjects/${app}`, { accountId: 'bench', attributes: { app } });
    const events = meters.flatMap((meter) =>
      apps.flatMap((app) =>
        Array.from({ length: hours }, (_, h) => ({
          specversion: '1.0',
          id: `${meter.slug}-${app}-${h}`,
          source: '//bench',
          type: meter.type,
          subject: app,
          time: new Date(Date.UTC(2026, 9, 1) + h * 3_600_000 + 60_000).toISOString(),
          data: meter.data(h),
        })),
      ),
    );
    for (let i = 0; i < events.length; i += 1_000)
      await call('POST', '/v1/events', events.slice(i, i + 1_000), printed('TALLY_API_KEY'));
    await eventually(
      () =>
        call('GET', `/v1/accounts/bench/usage?period=${period}`) as Promise<{
          meters: { slug: string; total: string | null }[];
        }>,
      (usage) =>
        usage.meters.find((m) => m.slug === 'forge-object-store-requests')?.total === String(hours * apps.length),
      120_000,
    );

    // The first screen, in a fresh context each time: nothing cached, no session.
    const firstScreen: number[] = [];
    let firstScreenScripts: string[] = [];
    for (let run = 0; run < runs; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${base}/`);
      await page.getByLabel('Admin token').waitFor();
      firstScreen.push(performance.now() - started);
      firstScreenScripts = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((r) => r.name.endsWith('.js'))
          .map((r) => new URL(r.name).pathname),
      );
      await context.close();
    }
    const consoleDist = resolve(__dirname, '../../dist/apps/console');
    const firstScreenGzip = firstScreenScripts.reduce(
      (sum, path) => sum + gzipSync(readFileSync(join(consoleDist, path))).length,
      0,
    );

    // The account page: signed in once, then reloaded; each load's render measured by the console's own marks.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Admin token').fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    const render: number[] = [];
    const loadToDrawn: number[] = [];
    let points = 0;
    for (let run = 0; run < runs + 1; run++) {
      await page.goto(`${base}/accounts/bench?period=${period}&window=hour&breakdownBy=app`);
      const measured = await drawn(page);
      points = measured.points;
      // The first load fetches and compiles the chart library's chunk; the others find it in the cache.
      if (run > 0) render.push(measured.ms);
      if (run > 0) loadToDrawn.push(measured.sinceNavigation);
    }

    const rawSvg = await rawEcharts(page, points, 'svg');
    const rawCanvas = await rawEcharts(page, points, 'canvas');
    render.sort((a, b) => a - b);
    firstScreen.sort((a, b) => a - b);
    console.log(
      JSON.stringify(
        {
          firstScreen: {
            p50Ms: Math.round(percentile(firstScreen, 50)),
            maxMs: Math.round(firstScreen.at(-1) ?? 0),
            scripts: firstScreenScripts,
            gzippedJsKb: Number((firstScreenGzip / 1024).toFixed(1)),
          },
          accountPage: {
            values: points,
            renderP50Ms: Math.round(percentile(render, 50)),
            renderMaxMs: Math.round(render.at(-1) ?? 0),
            navigationToDrawnP50Ms: Math.round(
              percentile(
                loadToDrawn.sort((a, b) => a - b),
                50,
              ),
            ),
          },
          rawLimit: {
            values: points,
            echartsAloneSvgMs: Math.round(rawSvg),
            echartsAloneCanvasMs: Math.round(rawCanvas),
          },
        },
        null,
        2,
      ),
    );
    reportResult({
      stage: 'console-first-screen',
      figure: percentile(firstScreen, 50),
      unit: 'ms',
      raw: [],
      note: `${(firstScreenGzip / 1024).toFixed(1)} kB of gzipped JavaScript; ${runs} runs`,
    });
    reportResult({
      stage: 'console-render',
      figure: percentile(render, 50),
      unit: 'ms',
      raw: [{ what: 'ECharts alone, same values (SVG)', value: rawSvg, unit: 'ms' }],
      note: `${points.toLocaleString('en-US')} values, answer → drawn; ${runs} runs`,
    });
  } finally {
    await browser.close();
    platform.kill('SIGTERM');
    await new Promise((done) => platform.once('exit', done));
    rmSync(dataDir, { recursive: true, force: true });
  }
};

// The page functions below run in Chromium; this file is typed for Node: the few browser globals they use.
interface PageElement {
  style: { cssText: string };
  append(element: PageElement): void;
  replaceChildren(): void;
}
declare const document: { getElementById(id: string): PageElement | null; createElement(tag: string): PageElement };
interface PageMark {
  startTime: number;
  detail?: { values?: number };
}

/** Waits for the console's marks of one account-page load; the values drawn are the console's count. */
const drawn = async (page: Page): Promise<{ ms: number; sinceNavigation: number; points: number }> => {
  await page.waitForFunction(() => performance.getEntriesByName('tally:usage-drawn').length > 0, undefined, {
    timeout: 60_000,
  });
  return page.evaluate(() => {
    // The first of each: a live refresh (every 2 s) marks again.
    const answered = performance.getEntriesByName('tally:usage-answered')[0] as unknown as PageMark;
    const drawnMark = performance.getEntriesByName('tally:usage-drawn')[0] as unknown as PageMark;
    return {
      ms: drawnMark.startTime - answered.startTime,
      sinceNavigation: drawnMark.startTime,
      points: Number(drawnMark.detail?.values ?? 0),
    };
  });
};

/**
 * ECharts alone: the same number of values as four stacked bar charts of three series each, in a bare page, with
 * the renderer the console uses (SVG) and the other one.
 */
const rawEcharts = async (page: Page, values: number, renderer: 'svg' | 'canvas'): Promise<number> => {
  await page.setContent('<body style="margin:0"><div id="c"></div></body>');
  await page.addScriptTag({ path: resolve(__dirname, '../../node_modules/echarts/dist/echarts.min.js') });
  const times = await page.evaluate(
    ({ values, runs, renderer }) => {
      const echarts = (
        globalThis as unknown as {
          echarts: { init(el: PageElement, theme: undefined, o: object): { setOption(o: unknown): void } };
        }
      ).echarts;
      const perSeries = Math.max(1, Math.floor(values / 12));
      const container = document.getElementById('c') as PageElement;
      const ms: number[] = [];
      for (let run = 0; run < runs; run++) {
        const started = performance.now();
        for (let chart = 0; chart < 4; chart++) {
          const element = document.createElement('div');
          element.style.cssText = 'width:1200px;height:260px';
          container.append(element);
          const instance = echarts.init(element, undefined, { renderer });
          instance.setOption({
            animation: false,
            xAxis: { type: 'time' },
            yAxis: { type: 'value' },
            series: [0, 1, 2].map((s) => ({
              type: 'bar',
              stack: 'all',
              data: Array.from({ length: perSeries }, (_, i) => [Date.UTC(2026, 9, 1) + i * 3_600_000, (i % 7) + s]),
            })),
          });
        }
        ms.push(performance.now() - started);
        container.replaceChildren();
      }
      return ms.sort((a, b) => a - b);
    },
    { values, runs, renderer },
  );
  return times[Math.floor(times.length / 2)];
};

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
