import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { copyRows, copyText } from './copy-rows';
import { inTransaction, openPool } from './pg-client';

describe('copyRows', () => {
  const schema = uniqueName('copy');
  const pool = openPool({ connectionString: testDatabaseUrl() });
  beforeAll(async () => {
    await pool.query(`create schema "${schema}"`);
    await pool.query(`create table "${schema}".t (n bigint primary key, label text, doc jsonb)`);
  });
  afterAll(async () => {
    await pool.end();
    await dropSchemas(schema);
  });

  it('writes every character back as it was given, nulls as nulls, JSON exactly', async () => {
    const awkward = 'tab\there, new\nline, return\r, back\\slash, a literal \\N, "quotes", ünïcode ✓';
    const doc = { text: awkward, amount: '0.1000000000000000000001', path: 'C:\\dir\\file' };
    await inTransaction(pool, (client) =>
      copyRows(
        client,
        `"${schema}".t`,
        ['n', 'label', 'doc'],
        [
          ['1', awkward, JSON.stringify(doc)],
          ['2', null, null],
          ['3', '\\N', '{}'],
        ],
      ),
    );
    const { rows } = await pool.query(`select n::text, label, doc from "${schema}".t order by n`);
    expect(rows).toEqual([
      { n: '1', label: awkward, doc },
      { n: '2', label: null, doc: null },
      { n: '3', label: '\\N', doc: {} },
    ]);
  });

  it('refuses the whole batch when one row breaks a constraint, and the transaction writes nothing', async () => {
    await expect(
      inTransaction(pool, (client) =>
        copyRows(
          client,
          `"${schema}".t`,
          ['n', 'label'],
          [
            ['10', 'first'],
            ['10', 'the same key again'],
          ],
        ),
      ),
    ).rejects.toThrow(/duplicate key/);
    expect((await pool.query(`select count(*)::int as n from "${schema}".t where n = 10`)).rows[0].n).toBe(0);
  });

  it('writes many rows across chunks in their order', async () => {
    const rows = Array.from({ length: 1_234 }, (_, i) => [String(1_000 + i), `row ${i}`]);
    await inTransaction(pool, (client) => copyRows(client, `"${schema}".t`, ['n', 'label'], rows));
    const { rows: read } = await pool.query(`select n::text, label from "${schema}".t where n >= 1000 order by n`);
    expect(read.map((r) => [r.n, r.label])).toEqual(rows);
  });

  it('escapes only what COPY gives meaning to', () => {
    expect(copyText('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyText(null)).toBe('\\N');
    expect(copyText('plain "text" ✓')).toBe('plain "text" ✓');
  });
});
