import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { evaluateValueExpression, parseValueExpression } from '@tally/contracts/meters';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { ExactDecimal } from '@tally/shared/util-core';
import { rollupMigrations } from './migrations';

const namespace = uniqueName('meterval');
const schema = `${namespace}_aggregation`;

// Expressions over three fields, with every operation; numbers that divide evenly and ones that do not.
const number = fc.constantFrom('0', '1', '2', '3', '7', '1024', '0.5', '1000000000', '0.001');
const leaf = fc.oneof(number, fc.constantFrom('a', 'b', 'c', 'n.x'));
const expression: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/'), tie('e')).map(([x, op, y]) => `(${x} ${op} ${y})`),
    tie('e').map((x) => `-${x}`),
    fc.tuple(fc.constantFrom('min', 'max'), tie('e'), tie('e')).map(([f, x, y]) => `${f}(${x}, ${y})`),
    fc.tuple(fc.constantFrom('ceil', 'floor'), tie('e')).map(([f, x]) => `${f}(${x})`),
  ),
})).e;
const reading = fc.oneof(
  fc.constantFrom('0', '-3', '2.5', '1e3', '12345678901234567890.123456789', 'lots', '0x10', '', '-0.0001'),
  // Past the reading rule's bounds (64 characters, a two-digit exponent): not a value in both, never a crash.
  fc.constantFrom('1e99', '1e-99', '1e100', '1e2000000000', '1e-20000', '9'.repeat(64), '9'.repeat(65)),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constant(null),
  fc.constant(true),
);
const data = fc
  .record({ a: reading, b: reading, c: reading, x: reading }, { requiredKeys: ['a'] })
  .map(({ x, ...rest }) => ({ ...rest, n: { x } }));

describe('meter_value (Postgres) and evaluateValueExpression (TypeScript) are twins', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: rollupMigrations });
  });
  afterAll(async () => {
    await db?.destroy();
    await dropSchemas(namespace);
  });

  it('gives the same value — or none — for 600 random expressions over random data', async () => {
    const cases = fc
      .sample(fc.tuple(expression, data), { numRuns: 600, seed: 20261202 })
      .map(([text, d]) => ({ text, d, parsed: parseValueExpression(text) }))
      .filter((c) => c.parsed.ok);
    expect(cases.length).toBeGreaterThan(400);
    const rows: { i: number; value: string | null }[] = await db.query(
      `select i::int, "${schema}".meter_value(e, d)::text as value
         from jsonb_to_recordset($1::jsonb) as x(i int, e jsonb, d jsonb)`,
      [JSON.stringify(cases.map((c, i) => ({ i, e: c.parsed.ok && c.parsed.expression, d: c.d })))],
    );
    let values = 0;
    for (const row of rows) {
      const c = cases[row.i];
      const ts = c.parsed.ok ? evaluateValueExpression(c.parsed.expression, c.d) : undefined;
      const expected = ts?.ok ? ts.value : null;
      const context = `${c.text} over ${JSON.stringify(c.d)}`;
      if (expected === null) expect(row.value, context).toBeNull();
      else {
        values += 1;
        expect(row.value, context).not.toBeNull();
        expect(new ExactDecimal(row.value as string).eq(expected), `${context}: ${row.value} ≠ ${expected}`).toBe(true);
      }
    }
    // Enough of them are values (not all "missing"), or the comparison would say little.
    expect(values).toBeGreaterThan(100);
  });

  it('rounds a quotient that does not end at 40 places, half away from zero, as the TypeScript does', async () => {
    const [row] = await db.query(
      `select "${schema}".exact_div(2, 3)::text as two_thirds, "${schema}".exact_div(-2, 3)::text as minus,
              "${schema}".exact_div(1, 8)::text as eighth, "${schema}".exact_div(1, 0) as by_zero`,
    );
    expect(row).toEqual({
      two_thirds: `0.${'6'.repeat(39)}7`,
      minus: `-0.${'6'.repeat(39)}7`,
      eighth: `0.${'125'.padEnd(40, '0')}`,
      by_zero: null,
    });
  });
});
