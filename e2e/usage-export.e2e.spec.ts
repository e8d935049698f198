import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse as parseCsv } from 'csv-parse/sync';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageLedgerId } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { eventually, uniqueName } from '@tally/shared/testing';
import { adminToken, AppName, createProducerKey, http, openPayingAccount, startAllApps, stopAllApps } from './support';

const source = '//fn-runtime/eu-1';
const tenant = 'default';
const hour = 3_600_000;
/** Whole hours, two back: inside the lateness horizon, and a range [from, to) that holds every event but one. */
const from = new Date(Math.floor(Date.now() / hour) * hour - 2 * hour);
const to = new Date(from.getTime() + hour);
const at = (ms: number) => new Date(from.getTime() + ms).toISOString();

/**
 * What was sent, as the producers wrote it (raw JSON text: a 28-place decimal and a 30-digit integer as JSON
 * numbers, which must never pass through a float), and what the export must say of each event.
 */
const sent = [
  {
    id: 'exp-1',
    subject: 'fn-a',
    time: at(0),
    data: '{"gbSeconds":"0.1000000000000000000000000001","invocations":123456789012345678901234567890,"exact":0.1000000000000000000000000001}',
  },
  // Voided below: left out of every export.
  { id: 'exp-2', subject: 'fn-a', time: at(1_000), data: '{"gbSeconds":"7"}' },
  // Another account, at the same millisecond as exp-2.
  { id: 'exp-3', subject: 'fn-b', time: at(1_000), data: '{"gbSeconds":"0.000000000000000000000000000000000001"}' },
  // A field CSV must quote; amended below (the export has the amendment).
  { id: 'exp-4', subject: 'fn-a', time: at(2_500), data: '{"gbSeconds":"2.5","note":"a, \\"quoted\\"\\nline"}' },
  // Parked (nobody owns the subject): left out.
  { id: 'exp-5', subject: 'nobody', time: at(3_000), data: '{"gbSeconds":"1"}' },
  // The millisecond before `from`: outside the range.
  { id: 'exp-6', subject: 'fn-a', time: new Date(from.getTime() - 1).toISOString(), data: '{"gbSeconds":"1"}' },
];
const amendedData = '{"gbSeconds":2.4999999999999999999999999999}';

interface Expected {
  usage_id: string;
  account_id: string;
  subject: string;
  event_type: string;
  time: string;
  data: string;
  attributes: Record<string, string>;
}
const expectedRow = (id: string, accountId: string, attributes: Record<string, string>, data?: string): Expected => {
  const event = sent.find((e) => e.id === id);
  if (!event) throw new Error(`no event ${id} was sent`);
  return {
    usage_id: usageLedgerId(tenant, source, id),
    account_id: accountId,
    subject: event.subject,
    event_type: 'fn.invocation',
    time: event.time,
    data: data ?? event.data,
    attributes,
  };
};
const attributesA = { app: 'forge-a', environment: 'production' };
const attributesB = { app: 'forge-b', environment: 'staging' };

/**
 * JSON compared value by value with every number as its digits (lossless-json): the export's data is the jsonb's
 * text, whose key order and spacing are Postgres's, so the texts are compared as the values they spell. Intake
 * keeps a number sent as a JSON number as its decimal text (a string in the ledger): the digits are compared.
 */
const exactValues = (json: string): unknown =>
  JSON.parse(
    JSON.stringify(parseLossless(json), (_key, value: unknown) => (isLosslessNumber(value) ? value.value : value)),
  );

/** One exported row, read back, in the shape of `Expected` (JSON columns parsed losslessly). */
interface ReadRow {
  usage_id: string;
  account_id: string;
  subject: string;
  event_type: string;
  time: string;
  data: string;
  attributes: string;
  position: string;
}
const comparable = (rows: (ReadRow & { time_us?: string })[]) =>
  rows.map(({ time_us: _micros, ...r }) => ({
    ...r,
    data: exactValues(r.data),
    attributes: JSON.parse(r.attributes),
    position: undefined,
  }));
const comparableExpected = (rows: Expected[]) =>
  rows.map((r) => ({ ...r, data: exactValues(r.data), position: undefined }));

/** The second, independent reader: DuckDB reads the Parquet file (its own Parquet implementation, in C++). */
const readParquetWithDuckDb = async (file: string) => {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const path = file.replace(/'/g, "''");
    const rows = (
      await connection.runAndReadAll(
        `select usage_id, account_id, subject, event_type,
                strftime("time" at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') as time, epoch_us("time")::varchar as time_us,
                data, attributes, position::varchar as position
           from read_parquet('${path}')`,
      )
    ).getRowObjectsJson() as unknown as (ReadRow & { time_us: string })[];
    const types = Object.fromEntries(
      (await connection.runAndReadAll(`describe select * from read_parquet('${path}')`))
        .getRowObjectsJson()
        .map((r) => [String(r.column_name), String(r.column_type)]),
    );
    const rowGroups = Number(
      (
        await connection.runAndReadAll(`select count(distinct row_group_id)::int as n from parquet_metadata('${path}')`)
      ).getRowObjectsJson()[0].n,
    );
    return { rows, types, rowGroups };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
};

const readCsv = (text: string): ReadRow[] => parseCsv(text, { columns: true, record_delimiter: '\r\n' });

describe('GET /v1/exports/usage', () => {
  const namespace = uniqueName('export');
  let apps = {} as Record<AppName, RunningTally>;
  let key: string;
  const dir = mkdtempSync(join(tmpdir(), 'tally-export-'));
  const exportUrl = (query: Record<string, string>) =>
    `${apps.aggregation.url}/v1/exports/usage?${new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), ...query })}`;
  const get = (query: Record<string, string>, headers: Record<string, string> = {}, token = adminToken) =>
    fetch(exportUrl(query), { headers: { authorization: `Bearer ${token}`, ...headers } });
  const send = (path: string, body: string) =>
    fetch(`${apps.ingestion.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });

  beforeAll(async () => {
    // Two rows per fetch and per row group: every export here crosses several cursor fetches.
    apps = await startAllApps(namespace, { aggregation: { TALLY_EXPORT_BATCH_ROWS: '2' } });
    const urls = { invoicing: apps.invoicing.url, attribution: apps.attribution.url };
    await openPayingAccount(urls, 'acme');
    await openPayingAccount(urls, 'globex');
    await http('PUT', `${apps.attribution.url}/v1/subjects/fn-a`, { accountId: 'acme', attributes: attributesA });
    await http('PUT', `${apps.attribution.url}/v1/subjects/fn-b`, { accountId: 'globex', attributes: attributesB });
    await eventually(
      () => http('GET', `${apps.attribution.url}/v1/subjects/fn-b`),
      (r) => r.status === 200,
      5_000,
    );
    key = await createProducerKey(apps.ingestion.url);
    const events = sent.map(
      (e) =>
        `{"specversion":"1.0","id":"${e.id}","source":"${source}","type":"fn.invocation","subject":"${e.subject}","time":"${e.time}","data":${e.data}}`,
    );
    expect((await send('/v1/events', `[${events.join(',')}]`)).status).toBe(200);
    const status = (id: string) =>
      http('GET', `${apps.ingestion.url}/v1/events/status?source=${encodeURIComponent(source)}&id=${id}`);
    for (const e of sent)
      await eventually(
        () => status(e.id),
        (r) => ['attributed', 'parked'].includes(r.body?.status),
        10_000,
      );
    expect(
      (
        await send(
          '/v1/events/corrections',
          `{"action":"void","source":"${source}","id":"exp-2","reason":"test traffic"}`,
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await send(
          '/v1/events/corrections',
          `{"action":"amend","source":"${source}","id":"exp-4","reason":"meter fix","data":${amendedData}}`,
        )
      ).status,
    ).toBe(200);
    // The export reads the usage projection: wait until it has both corrections.
    await eventually(
      async () => readCsv(await (await get({})).text()),
      (rows) => rows.length === 3 && rows.some((r) => r.data.includes('2.4999999999999999999999999999')),
      15_000,
    );
  }, 120_000);

  afterAll(async () => {
    await stopAllApps(apps, namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  const everyAccount = () => [
    expectedRow('exp-1', 'acme', attributesA),
    // exp-2 (voided) and exp-3 share a millisecond: exp-2 is gone, exp-3 stays in time order.
    expectedRow('exp-3', 'globex', attributesB),
    expectedRow('exp-4', 'acme', attributesA, amendedData),
  ];

  it('answers CSV by default: every counted event of the range, in time order, decimals digit for digit', async () => {
    const answer = await get({});
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(answer.headers.get('content-disposition')).toBe(
      `attachment; filename="usage-default-${compact(from)}-${compact(to)}.csv"`,
    );
    expect(answer.headers.get('transfer-encoding')).toBe('chunked');
    expect(answer.headers.get('tally-ledger-position')).toMatch(/^\d+$/);
    const text = await answer.text();
    expect(text.split('\r\n')[0]).toBe('usage_id,account_id,subject,event_type,time,data,attributes,position');
    const rows = readCsv(text);
    expect(comparable(rows)).toEqual(comparableExpected(everyAccount()));
    // Decimals as the producer wrote them, character for character, in the exported text itself.
    expect(rows[0].data).toContain('"gbSeconds": "0.1000000000000000000000000001"');
    expect(rows[0].data).toContain('123456789012345678901234567890');
    expect(rows[0].data).toMatch(/"exact": "?0\.1000000000000000000000000001/);
    expect(rows[1].data).toContain('"0.000000000000000000000000000000000001"');
    expect(rows[2].data).toContain('2.4999999999999999999999999999');
    // Ledger positions: whole numbers; the amended event's is its amendment's, the latest of the three.
    expect(rows.map((r) => r.position).every((p) => /^\d+$/.test(p))).toBe(true);
    expect(BigInt(rows[2].position)).toBeGreaterThan(BigInt(rows[1].position));
  });

  it('answers Parquet that DuckDB reads back field for field, one row group per fetch', async () => {
    const answer = await get({ format: 'parquet' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(answer.headers.get('content-disposition')).toContain('.parquet"');
    const file = join(dir, 'http.parquet');
    writeFileSync(file, Buffer.from(await answer.arrayBuffer()));
    const { rows, types, rowGroups } = await readParquetWithDuckDb(file);
    expect(comparable(rows)).toEqual(comparableExpected(everyAccount()));
    expect(rows.map((r) => r.time_us)).toEqual(everyAccount().map((r) => `${Date.parse(r.time)}000`));
    expect(types).toEqual({
      usage_id: 'VARCHAR',
      account_id: 'VARCHAR',
      subject: 'VARCHAR',
      event_type: 'VARCHAR',
      time: 'TIMESTAMP WITH TIME ZONE',
      data: 'VARCHAR',
      attributes: 'VARCHAR',
      position: 'BIGINT',
    });
    // TALLY_EXPORT_BATCH_ROWS=2: three rows in two row groups.
    expect(rowGroups).toBe(2);
    // The same rows, the same positions, as the CSV.
    const csv = readCsv(await (await get({})).text());
    expect(rows.map((r) => r.position)).toEqual(csv.map((r) => r.position));
  });

  it('chooses the format by Accept when the query does not name one, and the query wins', async () => {
    const parquet = await get({}, { accept: 'application/vnd.apache.parquet' });
    expect(parquet.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(
      Buffer.from(await parquet.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('PAR1');
    const csv = await get({ format: 'csv' }, { accept: 'application/vnd.apache.parquet' });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    await csv.text();
  });

  it('answers HEAD with the headers only', async () => {
    const answer = await fetch(exportUrl({ format: 'parquet' }), {
      method: 'HEAD',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(await answer.text()).toBe('');
  });

  it('exports one account only', async () => {
    const answer = await get({ accountId: 'acme' });
    expect(answer.headers.get('content-disposition')).toContain('usage-default-acme-');
    expect(comparable(readCsv(await answer.text()))).toEqual(
      comparableExpected(everyAccount().filter((r) => r.account_id === 'acme')),
    );
  });

  it('answers an empty range with the header only (CSV) or a file without rows (Parquet)', async () => {
    const empty = {
      from: new Date(from.getTime() - 2 * hour).toISOString(),
      to: new Date(from.getTime() - hour).toISOString(),
    };
    expect(await (await get(empty)).text()).toBe(
      'usage_id,account_id,subject,event_type,time,data,attributes,position\r\n',
    );
    const file = join(dir, 'empty.parquet');
    writeFileSync(file, Buffer.from(await (await get({ ...empty, format: 'parquet' })).arrayBuffer()));
    expect((await readParquetWithDuckDb(file)).rows).toEqual([]);
  });

  it.each<{ query: Record<string, string>; type: string; field: string }>([
    { query: { from: '' }, type: 'validation', field: 'from' },
    { query: { to: 'tomorrow' }, type: 'validation', field: 'to' },
    { query: { format: 'xlsx' }, type: 'validation', field: 'format' },
    { query: { to: from.toISOString() }, type: 'reversed-interval', field: 'to' },
    // 2025-01-01 to 2026-01-03: 367 days
    { query: { from: '2025-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }, type: 'export-range-too-long', field: 'to' },
  ])('refuses $query as a $type problem', async ({ query, type, field }) => {
    const answer = await get(query);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await answer.json()) as { type: string; errors: { field: string }[] };
    expect(problem.type).toBe(`https://tally.dev/problems/${type}`);
    expect(problem.errors.map((e) => e.field)).toContain(field);
  });

  it('answers 404 for an account it does not know', async () => {
    const answer = await get({ accountId: 'initech' });
    expect(answer.status).toBe(404);
    expect(((await answer.json()) as { type: string }).type).toBe('https://tally.dev/problems/not-found');
  });

  it('shows another tenant nothing of this one', async () => {
    const other = `t${Date.now().toString(36)}`;
    await http('POST', `${apps.attribution.url}/v1/admin/tenants`, { id: other, name: 'Other Co' });
    const issued = await fetch(`${apps.attribution.url}/v1/admin/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', 'tally-tenant': other },
      body: JSON.stringify({ role: 'billing-viewer', name: 'their viewer' }),
    });
    const { token } = (await issued.json()) as { token: string };
    const theirs = await get({}, {}, token);
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get('content-disposition')).toContain(`usage-${other}-`);
    expect(readCsv(await theirs.text())).toEqual([]);
    expect((await get({ accountId: 'acme' }, {}, token)).status).toBe(404);
    // The operator acting for that tenant sees the same nothing.
    const asOperator = await get({}, { 'tally-tenant': other });
    expect(readCsv(await asOperator.text())).toEqual([]);
  });

  it('refuses a producer key (aggregation does not take them at all)', async () => {
    expect((await get({}, {}, key)).status).toBe(401);
  });

  describe('from the CLI', () => {
    const cli = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ['tools/run-ts.cjs', 'tools/cli/main.ts', 'usage', 'export-events', ...args, '--url', apps.aggregation.url],
        { cwd: resolve(__dirname, '..'), env: { ...process.env, TALLY_ADMIN_TOKEN: adminToken } },
      );
    const range = () => ['--from', from.toISOString(), '--to', to.toISOString()];

    it('writes the CSV export into a file', async () => {
      const output = join(dir, 'cli.csv');
      await cli([...range(), '--output', output]);
      expect(comparable(readCsv(readFileSync(output, 'utf8')))).toEqual(comparableExpected(everyAccount()));
    });

    it('writes one account’s Parquet export into a file DuckDB reads back', async () => {
      const output = join(dir, 'cli.parquet');
      await cli([...range(), '--account', 'acme', '--format', 'parquet', '--output', output]);
      expect(comparable((await readParquetWithDuckDb(output)).rows)).toEqual(
        comparableExpected(everyAccount().filter((r) => r.account_id === 'acme')),
      );
    });

    it('prints the refusal and writes nothing when Tally refuses', async () => {
      const output = join(dir, 'refused.csv');
      const failed = await cli([...range(), '--format', 'xlsx', '--output', output]).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('format must be one of csv, parquet') });
      expect(() => readFileSync(output)).toThrow();
    });
  });
});

const compact = (instant: Date) => instant.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
