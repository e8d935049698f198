import { EntityManager } from 'typeorm';
import { AccountOpened, attribute, SubjectAssigned } from '@tally/attribution/domain';
import { ParkedRow, RegistryTables } from '@tally/attribution/data-access-registry';
import {
  accountUsageStream,
  UsageAttributedV1,
  usageAttributedId,
  usageAttributedType,
  UsageRecordedV1,
  usageRecordedType,
  UsageVoidedV1,
  usageVoidedType,
} from '@tally/contracts/usage';
import { EventStore, NewEvent, RecordedEvent } from '@tally/shared/data-access-event-store';
import { Projection } from '@tally/shared/data-access-postgres';

/**
 * Attribution's read model of the registry, and the process that attributes parked usage.
 * Processing the ledger in order is what makes re-attribution race-free: whichever comes first,
 * the parked event or the assignment that covers it, the later one finds the other.
 * The UsageAttributed ids are derived from (usage, account), so replays and retries append nothing new.
 */
export const registryProjection = (tables: RegistryTables, store: EventStore): Projection => ({
  name: 'attribution_registry',
  eventTypes: ['AccountOpened', 'SubjectAssigned', usageRecordedType, usageAttributedType, usageVoidedType],
  reset: (tx) => tables.reset(tx),
  apply: async (tx: EntityManager, events: readonly RecordedEvent[]) => {
    const attributions: { stream: string; event: NewEvent }[] = [];
    for (const event of events) {
      switch (event.type) {
        case 'AccountOpened': {
          const a = event.data as AccountOpened['data'];
          await tables.upsertAccount(tx, { tenant: a.tenant, accountId: a.accountId, name: a.name, currency: a.currency, timezone: a.timezone, openedAt: a.openedAt });
          break;
        }
        case 'SubjectAssigned': {
          const s = event.data as SubjectAssigned['data'];
          await tables.insertAssignment(tx, s);
          attributions.push(...(await attributeParked(tx, tables, s.tenant, await tables.openParked(tx, s.tenant, s.subject))));
          break;
        }
        case usageRecordedType: {
          const u = event.data as unknown as UsageRecordedV1;
          if (u.attribution.status !== 'parked') break;
          const parked: ParkedRow = {
            usageId: u.usageId,
            subject: u.subject,
            source: u.source,
            eventId: u.eventId,
            eventType: u.eventType,
            time: u.time,
            data: u.data,
            reason: u.attribution.reason,
            parkedAt: event.recordedAt.toISOString(),
          };
          await tables.park(tx, u.tenant, parked);
          attributions.push(...(await attributeParked(tx, tables, u.tenant, [parked])));
          break;
        }
        case usageAttributedType: {
          const a = event.data as unknown as UsageAttributedV1;
          await tables.markAttributed(tx, a.usageId, a.accountId, event.recordedAt.toISOString());
          break;
        }
        case usageVoidedType: {
          const v = event.data as unknown as UsageVoidedV1;
          await tables.markVoided(tx, v.usageId, event.recordedAt.toISOString());
          break;
        }
      }
    }
    if (attributions.length > 0) {
      const byStream = new Map<string, NewEvent[]>();
      for (const { stream, event } of attributions) byStream.set(stream, [...(byStream.get(stream) ?? []), event]);
      await store.appendToStreams([...byStream].map(([stream, evts]) => ({ stream, events: evts, expectedRevision: 'any' })));
    }
  },
});

const attributeParked = async (tx: EntityManager, tables: RegistryTables, tenant: string, parked: readonly ParkedRow[]) => {
  if (parked.length === 0) return [];
  const histories = await tables.assignments(tx, tenant, [...new Set(parked.map((p) => p.subject))]);
  const result: { stream: string; event: NewEvent }[] = [];
  for (const p of parked) {
    const attribution = attribute(new Date(p.time), histories.get(p.subject) ?? []);
    if (attribution.status !== 'attributed') continue;
    const data: UsageAttributedV1 = { tenant, usageId: p.usageId, accountId: attribution.accountId, eventType: p.eventType, subject: p.subject, time: p.time, data: p.data };
    result.push({
      stream: accountUsageStream(tenant, attribution.accountId, new Date(p.time)),
      event: { id: usageAttributedId(p.usageId, attribution.accountId), type: usageAttributedType, data: { ...data } },
    });
  }
  return result;
};
