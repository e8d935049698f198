import { describe, expect, it } from 'vitest';
import { exportFileName, parseUsageExportQuery } from './usage-export';

const range = { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };

describe('the usage export query', () => {
  it('reads a range, an account and a format', () => {
    expect(parseUsageExportQuery({ ...range, accountId: 'acme', format: 'parquet' }, undefined)).toEqual({
      ok: true,
      query: {
        from: new Date('2026-11-01T00:00:00Z'),
        to: new Date('2026-12-01T00:00:00Z'),
        accountId: 'acme',
        format: 'parquet',
      },
    });
  });

  it.each([
    // no format and no Accept: CSV
    { format: undefined, accept: undefined, chosen: 'csv' },
    // Accept names Parquet's media type
    { format: undefined, accept: 'application/vnd.apache.parquet', chosen: 'parquet' },
    { format: undefined, accept: 'text/csv', chosen: 'csv' },
    // the query parameter wins over the header
    { format: 'csv', accept: 'application/vnd.apache.parquet', chosen: 'csv' },
    { format: 'PARQUET', accept: 'text/csv', chosen: 'parquet' },
  ])('chooses $chosen for format $format and Accept $accept', ({ format, accept, chosen }) => {
    const parsed = parseUsageExportQuery({ ...range, format }, accept);
    expect(parsed.ok && parsed.query.format).toBe(chosen);
  });

  it.each([
    { params: { to: range.to }, field: 'from' },
    { params: { from: range.from }, field: 'to' },
    { params: { ...range, from: '2026-11-01' }, field: 'from' },
    { params: { ...range, to: '2026-02-30T00:00:00Z' }, field: 'to' },
    { params: { ...range, from: [range.from, range.from] }, field: 'from' },
    { params: { ...range, format: 'xlsx' }, field: 'format' },
    { params: { ...range, accountId: '' }, field: 'accountId' },
  ])('refuses a bad $field as a validation problem naming it', ({ params, field }) => {
    const parsed = parseUsageExportQuery(params, undefined);
    expect(parsed).toMatchObject({ ok: false, code: 'validation' });
    expect(!parsed.ok && parsed.errors.map((e) => e.field)).toContain(field);
  });

  it.each([
    { from: range.from, to: range.from },
    { from: range.to, to: range.from },
  ])('refuses from $from to $to: the end must come after the start', (params) => {
    expect(parseUsageExportQuery(params, undefined)).toMatchObject({ ok: false, code: 'reversed-interval' });
  });

  it.each([
    // 366 days exactly: a leap year's worth, taken
    { to: '2025-01-02T00:00:00Z', ok: true },
    // one millisecond more: refused
    { to: '2025-01-02T00:00:00.001Z', ok: false },
  ])('takes at most 366 days (to $to)', ({ to, ok }) => {
    const parsed = parseUsageExportQuery({ from: '2024-01-02T00:00:00Z', to }, undefined);
    expect(parsed.ok).toBe(ok);
    if (!parsed.ok) expect(parsed.code).toBe('export-range-too-long');
  });

  it('names the file after the tenant, the account and the range, in characters safe anywhere', () => {
    const parsed = parseUsageExportQuery({ ...range, accountId: 'acme/eu 1' }, undefined);
    expect(parsed.ok && exportFileName('t1', parsed.query)).toBe(
      'usage-t1-acme_eu_1-20261101T000000Z-20261201T000000Z.csv',
    );
  });
});
