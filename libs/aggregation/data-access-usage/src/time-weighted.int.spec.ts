import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Meter, MeterQuery } from '@tally/aggregation/domain';
import { LevelReport, levelHours, levelSpans } from '@tally/contracts/meters';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { MeterQueryTables } from './meter-query.tables';
import { rollupMigrations } from './migrations';
import { RollupTables } from './rollup.tables';

const namespace = uniqueName('gauge');
const schema = `${namespace}_aggregation`;

/** Forge's SQL data stored: the level in GB, reported when it changes; billed in GB-hours. */
const stored: Meter = {
  slug: 'sql-stored',
  name: 'SQL data stored',
  description: null,
  eventType: 'forge.sql.storage',
  aggregation: 'TIME_WEIGHTED_SUM',
  valueProperty: null,
  valueExpression: 'bytes / 1000000000',
  groupBy: {},
};
const november = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };
const query = (q: Partial<MeterQuery>): MeterQuery => ({
  ...november,
  windowTimeZone: 'UTC',
  subjects: [],
  groupBy: [],
  filterGroupBy: {},
  accountId: 'acme',
  ...q,
});

describe('time-weighted meters (GB-hours) on real Postgres', () => {
  let db: DataSource;
  const rollups = new RollupTables(schema);
  // Levels hold until now at most: a clock well after the month, so that the month is whole.
  const meters = new MeterQueryTables(schema, { clock: () => new Date('2027-01-01T00:00:00Z') });
  const reports: LevelReport<{ accountId: string | null; app: string }>[] = [];
  let position = 0;
  const report = async (time: string, gb: string | null, subject: string, accountId: string | null = 'acme') => {
    const usageId = randomUUID();
    const app = subject === 'db-2' ? 'app-b' : 'app-a';
    const data = gb === null ? { note: 'no level' } : { bytes: String(Number(gb) * 1e9) };
    await rollups.add(db, [
      {
        usageId,
        tenant: 't1',
        accountId,
        subject,
        eventType: stored.eventType,
        time,
        position: String(++position),
        data,
        attributes: { app },
      },
    ]);
    reports.push({ usageId, subject, time, level: gb, of: { accountId, app } });
    return usageId;
  };
  const total = async (q: Partial<MeterQuery> = {}) =>
    (await meters.query(db, 't1', stored, query(q))).map((v) => v.value);
  /** The TypeScript twin (reconciliation's reading) over the same reports. */
  const twin = (from: Date, to: Date, accountId = 'acme') =>
    levelHours(levelSpans(reports, from, to).filter((s) => s.report.of.accountId === accountId));

  beforeAll(async () => {
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: rollupMigrations });
    await report('2026-10-31T20:00:00Z', '2', 'db-1'); // set in October, carried into November
    await report('2026-11-10T06:30:00Z', '3', 'db-1'); // changes mid-hour
    await report('2026-11-12T00:00:00Z', null, 'db-1'); // not a level: changes nothing
    await report('2026-11-20T12:15:00Z', '0.5', 'db-1');
    await report('2026-11-15T00:30:00Z', '1', 'db-2');
    await report('2026-11-15T00:30:00Z', '40', 'db-9', 'globex'); // another account's database
  });
  afterAll(async () => {
    await db?.destroy();
    await dropSchemas(namespace);
  });

  it('sums level × hours over the month, the level carried in from October and changed mid-hour', async () => {
    // db-1: 2 GB from 1 Nov 00:00 to 10 Nov 06:30 = 222.5 h → 445 GB-h
    //       3 GB from 10 Nov 06:30 to 20 Nov 12:15 = 245.75 h → 737.25 GB-h
    //       0.5 GB from 20 Nov 12:15 to 1 Dec 00:00 = 251.75 h → 125.875 GB-h   (222.5 + 245.75 + 251.75 = 720 h)
    // db-2: 1 GB from 15 Nov 00:30 to 1 Dec 00:00 = 383.5 h → 383.5 GB-h
    // 445 + 737.25 + 125.875 + 383.5 = 1691.625 GB-h (globex's 40 GB is globex's)
    expect(await total()).toEqual(['1691.625']);
    expect(twin(november.from, november.to)).toBe('1691.625');
  });

  it('cuts windows: a day, and October’s last hours before the month boundary', async () => {
    // 10 Nov: 2 GB × 6.5 h + 3 GB × 17.5 h = 13 + 52.5 = 65.5 GB-h
    const days = await meters.query(db, 't1', stored, query({ windowSize: 'DAY' }));
    expect(days).toHaveLength(30);
    expect(days.find((d) => d.windowStart === '2026-11-10T00:00:00.000Z')?.value).toBe('65.5');
    // 31 Oct: 2 GB from 20:00 to 24:00 = 8 GB-h — and nothing before the first report
    expect(await total({ from: new Date('2026-10-31T00:00:00Z'), to: november.from })).toEqual(['8']);
  });

  it('splits by the subject attribute the charge is per (app), as billing asks', async () => {
    const apps = await meters.query(db, 't1', stored, query({ attributeGroups: ['app'] }));
    // app-a: 445 + 737.25 + 125.875 = 1308.125; app-b: 383.5
    expect(apps.map((v) => [v.attributes?.app, v.value])).toEqual([
      ['app-a', '1308.125'],
      ['app-b', '383.5'],
    ]);
  });

  it('re-rates when a level arrives late, and carries the newest level into December until a parked report ends it', async () => {
    await report('2026-11-25T00:00:00Z', '1', 'db-1'); // recorded after the month was read
    // db-1's 0.5 GB now holds from 20 Nov 12:15 to 25 Nov 00:00 = 107.75 h → 53.875; then 1 GB × 144 h → 144
    // db-1: 445 + 737.25 + 53.875 + 144 = 1380.125; with db-2's 383.5: 1763.625 GB-h
    expect(await total()).toEqual(['1763.625']);
    expect(twin(november.from, november.to)).toBe('1763.625');
    await report('2026-12-10T00:00:00Z', '7', 'db-1', null); // parked: ends db-1's level, counts for nobody
    const december = { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-11T00:00:00Z') };
    // db-1: 1 GB × 216 h (1 Dec → 10 Dec) = 216; db-2: 1 GB × 240 h = 240 → 456 GB-h
    expect(await total(december)).toEqual(['456']);
    expect(twin(december.from, december.to)).toBe('456');
  });

  it('holds levels until now at most: the current month counts no hour that has not happened', async () => {
    const early = new MeterQueryTables(schema, { clock: () => new Date('2026-11-10T12:30:00Z') });
    // db-1: 2 GB × 222.5 h + 3 GB × 6 h (06:30 → 12:30) = 445 + 18 = 463 GB-h; db-2 not yet reported
    expect((await early.query(db, 't1', stored, query({}))).map((v) => v.value)).toEqual(['463']);
    // and an asker's clock (asOf) wins over aggregation's own
    const asked = await meters.query(db, 't1', stored, query({ asOf: new Date('2026-11-10T12:30:00Z') }));
    expect(asked.map((v) => v.value)).toEqual(['463']);
  });

  it('rounds only the one division by 3,600, at 40 places, when the hours do not end (20 minutes = ⅓ h)', async () => {
    const hour = { from: new Date('2026-11-15T00:00:00Z'), to: new Date('2026-11-15T00:50:00Z') };
    // db-1: 3 GB × 50 min = 2.5 GB-h; db-2: 1 GB from 00:30 to 00:50 = ⅓ GB-h → 2.8333… (40 places)
    expect(await total(hour)).toEqual([`2.8${'3'.repeat(39)}`]);
    expect(twin(hour.from, hour.to)).toBe(`2.8${'3'.repeat(39)}`);
  });
});
