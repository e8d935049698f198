import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTallyClient, ok, TallyHttpClient } from '@tally/client';
import { RunningTally } from '@tally/shared/feature-runtime';
import { eventually, uniqueName } from '@tally/shared/testing';
import { ApiDocument, Exchange, recordingFetch, Schema } from './api-document';
import { adminToken, AppName, startAllApps, stopAllApps } from './support';

const apps4 = ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const;

/**
 * The API as its document says it is: every app's answers, received through the typed client
 * (@tally/client, generated from the document), are validated against the document's schemas (ajv, JSON Schema
 * 2020-12); every example in the document is valid under its schema, and every request-body example is accepted
 * by its route (not refused as malformed); the walk below succeeds on every documented operation but two.
 */
describe('the API against its OpenAPI document', () => {
  const namespace = uniqueName('contract');
  const archiveDir = mkdtempSync(join(tmpdir(), 'tally-contract-archive-'));
  let apps = {} as Record<AppName, RunningTally>;
  let api: ApiDocument;
  const exchanges: Exchange[] = [];
  const recording = recordingFetch(exchanges);
  const client = (app: AppName, token = adminToken): TallyHttpClient =>
    createTallyClient({ baseUrl: apps[app].url, token, fetch: recording });

  beforeAll(async () => {
    // A grace period longer than the subscription's history: the billing run drafts its periods and leaves them
    // draft (one run finalizes what is past its grace), so the walk can finalize one by hand.
    // The archive on in attribution (it serves the archive's routes); nothing is old enough to seal by default.
    apps = await startAllApps(namespace, {
      invoicing: { TALLY_INVOICE_GRACE_HOURS: '100000' },
      attribution: { TALLY_ARCHIVE: 'filesystem', TALLY_ARCHIVE_DIR: archiveDir },
    });
    api = await ApiDocument.of(Object.fromEntries(apps4.map((app) => [app, apps[app].url])));
  });

  afterAll(async () => {
    await stopAllApps(apps, namespace);
    rmSync(archiveDir, { recursive: true, force: true });
  });

  it('walks every route through the typed client', async () => {
    const attribution = client('attribution');
    const aggregation = client('aggregation');
    const ingestion = client('ingestion');
    const invoicing = client('invoicing');

    // Runtime routes, on each app.
    for (const app of apps4) {
      const each = client(app);
      ok(await each.GET('/health'));
      ok(await each.GET('/health/live'));
      ok(await each.GET('/health/ready'));
      ok(await each.GET('/metrics', { parseAs: 'text' }));
      ok(await each.GET('/openapi.json'));
      ok(await each.GET('/v1/admin/projections'));
      ok(await each.GET('/v1/admin/consumers'));
      ok(await each.GET('/v1/admin/dead-letters', { params: { query: { limit: '10' } } }));
    }

    // Tenants and credentials (the operator creates a tenant; its admin issues a viewer credential).
    const tenant = `t${Date.now().toString(36)}`;
    ok(await attribution.POST('/v1/admin/tenants', { body: { id: tenant, name: 'Contract Co' } }));
    ok(await attribution.GET('/v1/admin/tenants'));
    const admin = ok(
      await attribution.POST('/v1/admin/credentials', {
        body: { role: 'admin', name: 'contract admin' },
        headers: { 'tally-tenant': tenant },
      }),
    );
    const asTenant = client('attribution', admin.token);
    const viewer = ok(
      await asTenant.POST('/v1/admin/credentials', { body: { role: 'billing-viewer', name: 'viewer' } }),
    );
    ok(await asTenant.GET('/v1/admin/credentials'));
    ok(await asTenant.DELETE('/v1/admin/credentials/{id}', { params: { path: { id: viewer.id } } }));

    // Catalogue: a meter and a plan that prices it.
    ok(
      await aggregation.POST('/api/v1/meters', {
        body: {
          slug: 'fn-gbs',
          eventType: 'fn.invocation',
          aggregation: 'SUM',
          valueProperty: '$.gbSeconds',
          groupBy: { region: '$.region' },
        },
      }),
    );
    ok(await aggregation.GET('/api/v1/meters'));
    ok(await aggregation.GET('/api/v1/meters/{slug}', { params: { path: { slug: 'fn-gbs' } } }));
    ok(
      await aggregation.PUT('/api/v1/meters/{slug}', {
        params: { path: { slug: 'fn-gbs' } },
        body: { description: 'GB-seconds', groupBy: { region: '$.region' } },
      }),
    );
    ok(
      await invoicing.POST('/v1/plans', {
        body: {
          id: 'metered',
          name: 'Metered',
          currency: 'USD',
          charges: [{ meter: 'fn-gbs', model: 'unit', unitPrice: '0.001' }],
        },
      }),
    );
    ok(
      await invoicing.POST('/v1/plans/{id}/versions', {
        params: { path: { id: 'metered' } },
        body: {
          effectiveFrom: '2099-01-01T00:00:00Z',
          charges: [{ meter: 'fn-gbs', model: 'unit', unitPrice: '0.002' }],
        },
      }),
    );
    ok(await invoicing.GET('/v1/plans/{id}', { params: { path: { id: 'metered' } } }));

    // Registry: an account, a subscription, a subject.
    const startsAt = '2026-01-01T00:00:00Z';
    ok(
      await attribution.POST('/v1/accounts', {
        body: { id: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC' },
      }),
    );
    ok(await attribution.GET('/v1/accounts/{id}', { params: { path: { id: 'acme' } } }));
    ok(
      await attribution.POST('/v1/subscriptions', {
        body: { id: 'sub-acme', accountId: 'acme', planId: 'metered', startsAt },
      }),
    );
    ok(await attribution.GET('/v1/subscriptions/{id}', { params: { path: { id: 'sub-acme' } } }));
    ok(
      await attribution.POST('/v1/subscriptions/{id}/reschedule', {
        params: { path: { id: 'sub-acme' } },
        body: { startsAt: '2025-12-01T00:00:00Z', reason: 'cover earlier usage' },
      }),
    );
    ok(
      await attribution.POST('/v1/subscriptions/{id}/plan-changes', {
        params: { path: { id: 'sub-acme' } },
        body: { planId: 'metered', effectiveFrom: '2026-02-01T00:00:00Z' },
      }),
    );
    ok(
      await attribution.PUT('/v1/subjects/{key}', {
        params: { path: { key: 'inst-1' } },
        body: { accountId: 'acme', effectiveFrom: startsAt, attributes: { site: 'eu-1' } },
      }),
    );
    ok(
      await attribution.POST('/v1/subjects/{key}/corrections', {
        params: { path: { key: 'inst-1' } },
        body: { accountId: 'acme', effectiveFrom: startsAt, attributes: { site: 'eu-2' }, reason: 'the site was eu-2' },
      }),
    );
    ok(await attribution.GET('/v1/subjects/{key}', { params: { path: { key: 'inst-1' } } }));

    // Usage: a producer key, events both ways, their status, a correction; one parked event.
    const key = ok(await ingestion.POST('/v1/api-keys', { body: { name: 'contract', allowedSources: ['*'] } }));
    ok(await ingestion.GET('/v1/api-keys'));
    const producer = client('ingestion', key.key);
    const now = new Date().toISOString();
    const event = (id: string, subject: string) => ({
      specversion: '1.0' as const,
      id,
      source: '//fn-runtime',
      type: 'fn.invocation',
      subject,
      time: now,
      data: { gbSeconds: '2.5' },
    });
    ok(await producer.POST('/v1/events', { body: [event('e1', 'inst-1'), event('e-parked', 'nobody')] }));
    ok(await producer.POST('/api/v1/events', { body: event('e2', 'inst-1') }));
    // The status is kept off the request path: it appears within moments of the acceptance.
    await eventually(
      () => producer.GET('/v1/events/status', { params: { query: { source: '//fn-runtime', id: 'e1' } } }),
      (answer) => answer.response.ok,
      10_000,
    );
    ok(
      await producer.POST('/v1/events/corrections', {
        body: { action: 'void', source: '//fn-runtime', id: 'e2', reason: 'a test' },
      }),
    );
    // OpenMeter's listEvents: the accepted events with their content; the parked one says why it does not count.
    const listed = await eventually(
      async () => ok(await ingestion.GET('/api/v1/events', { params: { query: { subject: 'nobody' } } })),
      (events) => events.length === 1 && events[0].validationError !== undefined,
      10_000,
    );
    expect(listed[0]).toMatchObject({
      event: { id: 'e-parked', subject: 'nobody', data: { gbSeconds: '2.5' } },
      validationError: expect.stringContaining('unknown subject'),
    });
    expect(ok(await ingestion.GET('/api/v1/events', { params: { query: { limit: '1' } } }))).toHaveLength(1);
    await eventually(
      async () => ok(await attribution.GET('/v1/parked-usage', { params: { query: { limit: '10' } } })),
      (page) => page.items.length > 0,
      10_000,
    );

    // Reading usage.
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    await eventually(
      async () =>
        ok(
          await aggregation.GET('/api/v1/meters/{slug}/query', {
            params: { path: { slug: 'fn-gbs' }, query: { from, to, windowSize: 'HOUR' } },
          }),
        ),
      (answer) => typeof answer !== 'string' && answer.data.length > 0,
      10_000,
    );
    ok(
      await aggregation.GET('/api/v1/meters/{slug}/query', {
        params: { path: { slug: 'fn-gbs' }, query: { from, to } },
        headers: { accept: 'text/csv' },
        parseAs: 'text',
      }),
    );
    const posted = ok(
      await aggregation.POST('/api/v1/meters/{slug}/query', {
        params: { path: { slug: 'fn-gbs' } },
        body: { from, to, groupBy: ['region'], advancedMeterGroupByFilters: { region: { $ne: 'nowhere' } } },
      }),
    );
    expect(typeof posted !== 'string' && posted.data.length).toBeGreaterThan(0);
    const subjects = ok(
      await aggregation.GET('/api/v1/meters/{slug}/subjects', { params: { path: { slug: 'fn-gbs' } } }),
    );
    expect(subjects).toEqual(['inst-1']);
    ok(
      await aggregation.GET('/api/v1/meters/{slug}/group-by/{key}/values', {
        params: { path: { slug: 'fn-gbs', key: 'region' } },
      }),
    );
    ok(await aggregation.GET('/v1/usage', { params: { query: { accountId: 'acme', windowSize: 'HOUR' } } }));
    ok(await aggregation.GET('/v1/accounts/{id}/usage', { params: { path: { id: 'acme' } } }));
    ok(await aggregation.GET('/v1/unmetered-event-types'));
    // The usage export (issue 17), both forms: the body is the file itself.
    const exported = ok(
      await aggregation.GET('/v1/exports/usage', { params: { query: { from, to } }, parseAs: 'text' }),
    );
    expect(String(exported)).toContain('inst-1');
    ok(
      await aggregation.GET('/v1/exports/usage', {
        params: { query: { from, to, accountId: 'acme', format: 'parquet' } },
        parseAs: 'arrayBuffer',
      }),
    );
    // Console reads (issue 16): accounts found by a part of their name, usage over time, the intake rate.
    await eventually(
      async () => ok(await attribution.GET('/v1/accounts', { params: { query: { search: 'ACM', limit: '10' } } })),
      (page) => page.accounts.some((a) => a.id === 'acme'),
      10_000,
    );
    ok(
      await aggregation.GET('/v1/accounts/{id}/usage', {
        params: { path: { id: 'acme' }, query: { windowSize: 'DAY', meters: 'fn-gbs', breakdownBy: 'app' } },
      }),
    );
    ok(await ingestion.GET('/v1/admin/intake'));

    // Budgets.
    const budget = ok(
      await aggregation.POST('/v1/budgets', {
        body: { id: 'acme-gbs', accountId: 'acme', meter: 'fn-gbs', limit: '1000', thresholds: [50, 100] },
      }),
    );
    ok(await aggregation.GET('/v1/budgets/{id}', { params: { path: { id: budget.budgetId } } }));
    // The list is the budgets projection's: it follows the ledger within moments.
    await eventually(
      async () => ok(await aggregation.GET('/v1/budgets', { params: { query: { accountId: 'acme' } } })),
      ({ items }) => items.map((b) => b.budgetId).join() === budget.budgetId,
      10_000,
    );
    ok(await aggregation.GET('/v1/budgets'));
    ok(await aggregation.DELETE('/v1/budgets/{id}', { params: { path: { id: budget.budgetId } } }));

    // Billing: the upcoming invoice, a cost budget, a run, the invoices, a void, credit notes, a reconciliation.
    ok(await invoicing.GET('/v1/accounts/{id}/upcoming-invoice', { params: { path: { id: 'acme' } } }));
    const costBudget = ok(
      await invoicing.POST('/v1/cost-budgets', {
        body: { id: 'acme-cost', accountId: 'acme', limit: '0.01', allowances: true, thresholds: [50, 100] },
      }),
    );
    await eventually(
      async () => ok(await invoicing.GET('/v1/cost-budgets', { params: { query: { accountId: 'acme' } } })),
      ({ items }) => items.map((b) => b.budgetId).join() === costBudget.budgetId,
      10_000,
    );
    ok(await invoicing.GET('/v1/cost-budgets'));
    ok(await invoicing.POST('/v1/admin/billing-runs'));
    ok(await invoicing.GET('/v1/cost-budgets/{id}', { params: { path: { id: costBudget.budgetId } } }));
    ok(await invoicing.DELETE('/v1/cost-budgets/{id}', { params: { path: { id: costBudget.budgetId } } }));
    const { invoices } = ok(await invoicing.GET('/v1/invoices', { params: { query: { accountId: 'acme' } } }));
    expect(invoices.length).toBeGreaterThan(0);
    const id = invoices[0].invoiceId;
    ok(await invoicing.GET('/v1/invoices/{id}', { params: { path: { id } } }));
    ok(await invoicing.POST('/v1/invoices/{id}/finalize', { params: { path: { id } } }));
    ok(
      await invoicing.POST('/v1/invoices/{id}/void', {
        params: { path: { id } },
        body: { reason: 'issued in error' },
      }),
    );
    const { creditNotes } = ok(await invoicing.GET('/v1/credit-notes', { params: { query: { accountId: 'acme' } } }));
    expect(creditNotes).toEqual([]);
    const reconciliation = ok(await invoicing.POST('/v1/reconciliations', { body: { period: '2026-01' } }));
    ok(await invoicing.GET('/v1/reconciliations/{id}', { params: { path: { id: reconciliation.id } } }));
    // The console's lists (issue 16): each answered non-empty, so that its items meet the document too.
    await eventually(
      async () => ok(await invoicing.GET('/v1/plans', { params: { query: { limit: '1' } } })),
      (page) => page.plans.length === 1,
      10_000,
    );
    ok(await invoicing.GET('/v1/reconciliations', { params: { query: { limit: '1' } } }));
    ok(await invoicing.GET('/v1/invoices', { params: { query: { accountId: 'acme', order: 'desc' } } }));
    await eventually(
      async () => ok(await invoicing.GET('/v1/admin/billing-runs')),
      ({ runs }) => runs.length > 0,
      10_000,
    );

    // Ending things last: the subscription, the producer key.
    ok(
      await attribution.POST('/v1/subscriptions/{id}/cancel', {
        params: { path: { id: 'sub-acme' } },
        body: { at: '2099-06-01T00:00:00Z', reason: 'the contract ends' },
      }),
    );
    ok(await ingestion.DELETE('/v1/api-keys/{id}', { params: { path: { id: key.id } } }));

    // Operations on the side: a meter made to be deleted, a projection rebuilt, dead letters replayed (none here).
    ok(
      await aggregation.POST('/api/v1/meters', {
        body: { slug: 'short-lived', eventType: 'x.y', aggregation: 'COUNT' },
      }),
    );
    ok(await aggregation.DELETE('/api/v1/meters/{slug}', { params: { path: { slug: 'short-lived' } } }));
    ok(
      await ingestion.POST('/v1/admin/projections/{name}/rebuild', {
        params: { path: { name: 'ingestion_event_status' } },
      }),
    );
    ok(await ingestion.POST('/v1/admin/dead-letters/replay', { body: {} }));
    ok(await attribution.POST('/v1/admin/archive/passes'));
    expect(ok(await attribution.GET('/v1/admin/archive')).lastPass).not.toBeNull();
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(
      (await ingestion.POST('/v1/admin/dead-letters/{id}/replay', { params: { path: { id: '999999' } } })).response
        .status,
    ).toBe(404);
    expect((await invoicing.GET('/v1/credit-notes/{id}', { params: { path: { id: unknown } } })).response.status).toBe(
      404,
    );

    // Refusals, answered as the document's problem.
    expect((await attribution.POST('/v1/accounts', { body: { id: 'x' } as never })).response.status).toBe(400);
    expect((await attribution.GET('/v1/accounts/{id}', { params: { path: { id: 'nobody' } } })).response.status).toBe(
      404,
    );
  }, 120_000);

  it('answers every request of the walk as its document says', () => {
    const wrong = exchanges
      .map((e) => [e, api.complaintAbout(e)] as const)
      .filter(([, complaint]) => complaint !== undefined)
      .map(([e, complaint]) => `${e.method} ${e.url.pathname} → ${e.status}: ${complaint}`);
    expect(exchanges.length).toBeGreaterThan(60);
    expect(wrong).toEqual([]);
  });

  it('succeeds on every documented operation in the walk', () => {
    const succeeded = new Set(
      exchanges.filter((e) => e.status < 300).map((e) => api.operationOf(e.method, e.url.pathname)?.key),
    );
    const documented = Object.entries(api.document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    // Reached only as refusals here: a credit note needs a finalized period re-rated when the next one finalizes
    // (a moved clock: e2e/invoicing.e2e.spec.ts holds its answer to the document); replaying one needs a message
    // that failed for good (e2e/dead-letters.e2e.spec.ts).
    expect(documented.filter((operation) => !succeeded.has(operation)).sort()).toEqual([
      'get /v1/credit-notes/{id}',
      'post /v1/admin/dead-letters/{id}/replay',
    ]);
  });

  it('holds every example in the document to its schema, and every request-body example is a request its route accepts', async () => {
    const invalid: string[] = [];
    let examples = 0;
    const visit = (node: unknown, path: string[]) => {
      if (!node || typeof node !== 'object') return;
      const schema = node as Schema;
      const isSchema = ['type', '$ref', 'anyOf', 'oneOf', 'allOf'].some((keyword) => keyword in schema);
      if (Array.isArray(schema.examples) && isSchema) {
        const complaint = api.validator(...path);
        for (const example of schema.examples) {
          examples += 1;
          const wrong = complaint(example);
          if (wrong) invalid.push(`${path.join('/')}: ${JSON.stringify(example)}: ${wrong}`);
        }
      }
      for (const [key, value] of Object.entries(schema)) if (key !== 'examples') visit(value, [...path, key]);
    };
    visit(api.document.paths, ['paths']);
    visit(api.document.components.schemas, ['components', 'schemas']);
    expect(invalid).toEqual([]);
    expect(examples).toBeGreaterThan(40);

    // Each body example sent to its route (in this suite's tenant): whatever the answer, not "malformed".
    const key = ok(
      await client('ingestion').POST('/v1/api-keys', { body: { name: 'examples', allowedSources: ['*'] } }),
    );
    const refused: string[] = [];
    let sent = 0;
    for (const [template, operations] of Object.entries(api.document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        const resolved = schema?.$ref
          ? api.document.components.schemas[String(schema.$ref).split('/').pop() as string]
          : schema;
        const example = (resolved?.examples as unknown[] | undefined)?.[0];
        if (example === undefined) {
          if (operation.requestBody) refused.push(`${method} ${template}: a body without an example`);
          continue;
        }
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
          const parameter = operation.parameters?.find((p) => p.name === name);
          const examples =
            (parameter?.schema.examples as string[] | undefined) ??
            (parameter?.schema.$ref
              ? (api.document.components.schemas[String(parameter.schema.$ref).split('/').pop() as string]
                  .examples as string[])
              : undefined);
          return encodeURIComponent(examples?.[0] ?? 'example');
        });
        const token = operation['x-tally-auth'] === 'producer' ? key.key : adminToken;
        const app = api.servedBy.get(`${method} ${template}`) as AppName;
        const response = await fetch(`${apps[app].url}${path}`, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(example),
        });
        const text = await response.text();
        sent += 1;
        if (response.status === 400) refused.push(`${method} ${template}: ${text}`);
      }
    }
    expect(refused).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(20);
  }, 60_000);
});
