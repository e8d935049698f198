import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { uniqueName } from '@tally/shared/testing';
import { expectedKind } from './route-table';
import { AppName, http, startAllApps, stopAllApps } from './support';

type Operation = { operationId: string; summary: string; 'x-tally-auth': string; security: unknown[] };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

const operationsOf = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ key: `${method} ${path}`, operation })),
  );

/**
 * `/openapi.json` and `/docs` on every app: the document holds exactly the routes the apps serve (the route
 * table is written out by hand in route-table.ts, not derived from the code), each with who may call it; the
 * interactive reference loads without a credential and without the internet.
 */
describe('OpenAPI document and API reference', () => {
  const namespace = uniqueName('openapi');
  let apps = {} as Record<AppName, RunningTally>;
  const documents = {} as Record<AppName, Document>;

  beforeAll(async () => {
    apps = await startAllApps(namespace);
    for (const app of ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const) {
      const answer = await http('GET', `${apps[app].url}/openapi.json`, undefined, 'application/json', null);
      expect(answer.status).toBe(200);
      documents[app] = answer.body;
    }
  });

  afterAll(async () => {
    await stopAllApps(apps, namespace);
  });

  it('documents every route the four apps serve, and none they do not, with who may call each', () => {
    const documented = new Map<string, Operation>();
    for (const document of Object.values(documents)) {
      expect(document.openapi).toBe('3.1.0');
      for (const { key, operation } of operationsOf(document)) documented.set(key, operation);
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(expectedKind).sort());
    for (const [key, operation] of documented) {
      expect(operation['x-tally-auth'], key).toBe(expectedKind[key]);
      expect(operation.security, key).toEqual(expectedKind[key] === 'public' ? [] : [{ bearer: [] }]);
    }
  });

  it('gives every operation a summary of its own', () => {
    const summaries = Object.values(documents)
      .flatMap(operationsOf)
      .map(({ key, operation }) => [key, operation.summary]);
    const generic = summaries.filter(([key, summary]) => summary === key.toUpperCase() || /^[A-Z]+ \//.test(summary));
    expect(generic).toEqual([]);
    for (const document of Object.values(documents)) {
      const own = operationsOf(document).map(({ operation }) => operation.summary);
      expect(new Set(own).size).toBe(own.length);
    }
  });

  it('marks the OpenMeter-compatible routes, and gives every operation a unique id', () => {
    const all = Object.values(documents).flatMap(operationsOf);
    const openMeter = all.filter(({ operation }) => (operation as Record<string, unknown>)['x-openmeter-compatible']);
    expect(openMeter.map(({ key }) => key).sort()).toEqual(
      Object.keys(expectedKind)
        .filter((key) => key.includes(' /api/v1/'))
        .sort(),
    );
    const ids = [...new Set(all.map(({ key, operation }) => `${key}=${operation.operationId}`))].map((e) =>
      e.split('=').pop(),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('serves an interactive reference at /docs, without a credential, from its own assets', async () => {
    const page = await fetch(`${apps.aggregation.url}/docs`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const json = await fetch(`${apps.aggregation.url}/docs/json`);
    expect(json.status).toBe(200);
    expect(((await json.json()) as Document).paths['/api/v1/meters/{slug}/query']).toBeDefined();
    const bundle = await fetch(`${apps.aggregation.url}/docs/static/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });
});
