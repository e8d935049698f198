import type { MeterCreatedV1 } from '@tally/contracts/meters';
import type { Attribution } from '@tally/contracts/usage';
import { describe, expect, it } from 'vitest';
import { foldBatch, LedgerFoldChanges, touchedBy } from './ledger-fold-batch';
import { emptyLedgerState, foldLedger, LedgerEventLike, LedgerState, LedgerUsage } from './ledger-usage';

const attributed = (accountId: string): Attribution => ({
  status: 'attributed',
  accountId,
  subscriptionId: `sub-${accountId}`,
  planId: 'p',
  attributes: {},
});
const base = { source: '//s', eventId: 'e', reason: 'test', correctedAt: '2026-11-26T00:00:00.000Z' };
let position = 0n;
const at = <E extends Omit<LedgerEventLike, 'globalPosition'>>(event: E) =>
  ({ ...event, globalPosition: ++position }) as LedgerEventLike;
const recorded = (tenant: string, usageId: string, accountId = 'a1') =>
  at({
    type: 'UsageRecorded',
    data: {
      tenant,
      usageId,
      source: '//s',
      eventId: usageId,
      eventType: 'fn',
      subject: 's',
      time: '2026-11-25T10:00:00.000Z',
      receivedAt: '2026-11-25T10:00:00.000Z',
      data: { n: 1 },
      attribution: attributed(accountId),
    },
  });
const moved = (tenant: string, usageId: string, accountId: string) =>
  at({
    type: 'UsageReattributed',
    data: {
      tenant,
      usageId,
      subject: 's',
      eventType: 'fn',
      time: '2026-11-25T10:00:00.000Z',
      previous: attributed('a1'),
      next: attributed(accountId),
      reason: 'transfer',
      causeId: 'c',
    },
  });
const voided = (tenant: string, usageId: string) => at({ type: 'UsageVoided', data: { tenant, usageId, ...base } });
const amended = (tenant: string, usageId: string, n: number) =>
  at({ type: 'UsageAmended', data: { tenant, usageId, ...base, data: { n } } });
const meter = (tenant: string, slug: string): MeterCreatedV1 => ({
  tenant,
  slug,
  name: slug,
  description: null,
  eventType: 'fn',
  aggregation: 'SUM',
  valueProperty: '$.n',
  groupBy: {},
  createdAt: '2026-11-01T00:00:00.000Z',
});
const created = (tenant: string, slug: string) => at({ type: 'MeterCreated', data: { ...meter(tenant, slug) } });
const deleted = (tenant: string, slug: string) =>
  at({ type: 'MeterDeleted', data: { tenant, slug, deletedAt: '2026-11-02T00:00:00.000Z' } });

// Two tenants with the same ids: corrections before their usage, a usage recorded twice, moves, meters that come and go.
const ledger: LedgerEventLike[] = [
  amended('t1', 'u1', 5),
  created('t1', 'm'),
  voided('t2', 'u1'),
  recorded('t1', 'u1'),
  recorded('t2', 'u1'),
  recorded('t1', 'u2'),
  moved('t1', 'u2', 'a2'),
  deleted('t1', 'm'),
  recorded('t1', 'u2', 'a3'),
  amended('t1', 'u3', 7),
  voided('t1', 'u3'),
  created('t2', 'm'),
  moved('t1', 'u9', 'a2'),
  created('t1', 'm'),
  amended('t1', 'u2', 9),
  recorded('t1', 'u3'),
  voided('t1', 'u4'),
];

/** A table-like store of the rows foldBatch's changes describe, written with the same guards as Postgres. */
class Rows {
  usage = new Map<string, LedgerUsage>();
  pending = new Map<string, LedgerState['pending'] extends Map<string, infer P> ? P : never>();
  meters = new Map<string, { meter: MeterCreatedV1 | null; position: bigint }>();

  load(events: readonly LedgerEventLike[]): Map<string, LedgerState> {
    const states = new Map<string, LedgerState>();
    for (const [tenant, ids] of touchedBy(events)) {
      const state = emptyLedgerState();
      for (const id of ids) {
        const u = this.usage.get(`${tenant}/${id}`);
        if (u) state.usage.set(id, { ...u, accounts: new Set(u.accounts) });
        const p = this.pending.get(`${tenant}/${id}`);
        if (p) state.pending.set(id, { ...p });
      }
      states.set(tenant, state);
    }
    return states;
  }

  write(changes: LedgerFoldChanges): void {
    for (const { tenant, usage } of changes.usage) {
      const known = this.usage.get(`${tenant}/${usage.usageId}`);
      if (!known || known.lastPosition < usage.lastPosition) this.usage.set(`${tenant}/${usage.usageId}`, usage);
    }
    for (const { tenant, usageId, correction } of changes.pending) {
      const known = this.pending.get(`${tenant}/${usageId}`);
      if (!known || known.position < correction.position) this.pending.set(`${tenant}/${usageId}`, correction);
    }
    for (const { tenant, usageId } of changes.pendingCleared) {
      const p = this.pending.get(`${tenant}/${usageId}`);
      const u = this.usage.get(`${tenant}/${usageId}`);
      if (p && u && p.position < u.lastPosition) this.pending.delete(`${tenant}/${usageId}`);
    }
    const meters = [
      ...changes.meters.map((m) => ({ key: `${m.tenant}/${m.meter.slug}`, meter: m.meter, position: m.position })),
      ...changes.metersDeleted.map((m) => ({ key: `${m.tenant}/${m.slug}`, meter: null, position: m.position })),
    ];
    for (const { key, meter, position } of meters) {
      const known = this.meters.get(key);
      if (!known || known.position < position) this.meters.set(key, { meter, position });
    }
  }

  /** In foldLedger's shape, per tenant. */
  states(): Record<string, unknown> {
    const out: Record<string, { usage: Record<string, unknown>; pending: Record<string, unknown>; meters: unknown }> =
      {};
    const of = (tenant: string) => (out[tenant] ??= { usage: {}, pending: {}, meters: {} });
    for (const [key, u] of this.usage) of(key.split('/')[0]).usage[u.usageId] = { ...u, accounts: [...u.accounts] };
    for (const [key, p] of this.pending) of(key.split('/')[0]).pending[key.split('/')[1]] = p;
    for (const [key, m] of this.meters)
      if (m.meter) (of(key.split('/')[0]).meters as Record<string, unknown>)[m.meter.slug] = m.meter;
    return out;
  }
}

const whole = (): Record<string, unknown> => {
  const states = new Map<string, LedgerState>();
  for (const event of ledger) {
    const tenant = event.data.tenant;
    if (!states.has(tenant)) states.set(tenant, emptyLedgerState());
    foldLedger(states.get(tenant) as LedgerState, event);
  }
  return Object.fromEntries(
    [...states].map(([tenant, s]) => [
      tenant,
      {
        usage: Object.fromEntries([...s.usage].map(([id, u]) => [id, { ...u, accounts: [...u.accounts] }])),
        pending: Object.fromEntries(s.pending),
        meters: Object.fromEntries(s.meters),
      },
    ]),
  );
};

const foldInBatches = (size: number, rows = new Rows()) => {
  for (let i = 0; i < ledger.length; i += size) {
    const batch = ledger.slice(i, i + size);
    rows.write(foldBatch(rows.load(batch), batch));
  }
  return rows;
};

describe('foldBatch: foldLedger a batch at a time, on rows kept elsewhere', () => {
  it.each([1, 2, 3, 5, 7, ledger.length])('in batches of %i, gives the whole ledger’s fold', (size) =>
    expect(foldInBatches(size).states()).toEqual(whole()),
  );

  it('writes only what the batch changed', () => {
    const rows = foldInBatches(ledger.length);
    const batch = [recorded('t1', 'u1'), moved('t2', 'nobody', 'a2')];
    const changes = foldBatch(rows.load(batch), batch);
    expect(changes).toEqual({ usage: [], pending: [], pendingCleared: [], meters: [], metersDeleted: [] });
  });

  it('a batch applied again, or an older one after newer ones, changes nothing', () => {
    const rows = foldInBatches(3);
    for (let i = 0; i < ledger.length; i += 4) {
      const batch = ledger.slice(i, i + 4);
      rows.write(foldBatch(rows.load(batch), batch));
    }
    expect(rows.states()).toEqual(whole());
  });
});
