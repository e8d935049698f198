import { EntityManager } from 'typeorm';
import {
  AccountEvent,
  attribute,
  evolveSubscriptions,
  evolveTimeline,
  RegistryEvent,
  Subscription,
} from '@tally/attribution/domain';
import { RegistryTables, UsageRow } from '@tally/attribution/data-access-registry';
import { billingAnchorDayOf, localeOf } from '@tally/contracts/accounts';
import {
  accountUsageStream,
  parkedUsageStream,
  sameAttribution,
  UsageReattributed,
  UsageReattributedV1,
  usageReattributedId,
  usageReattributedType,
  UsageRecorded,
  UsageVoided,
} from '@tally/contracts/usage';
import { EventStore, NewEvent, RecordedEvent } from '@tally/shared/data-access-event-store';
import { Projection } from '@tally/shared/data-access-postgres';
import { eventsOf, unhandledEvent } from '@tally/shared/util-core';

/** The registry, and the usage it attributes. */
export type RegistryProjectionEvent = RegistryEvent | UsageRecorded | UsageReattributed | UsageVoided;
const registryProjectionEvents = eventsOf<RegistryProjectionEvent>({
  AccountOpened: true,
  SubscriptionStarted: true,
  SubscriptionCancelled: true,
  SubscriptionPlanChanged: true,
  SubscriptionRescheduled: true,
  SubscriptionIdClaimed: true,
  SubjectAssigned: true,
  SubjectAssignmentCorrected: true,
  UsageRecorded: true,
  UsageReattributed: true,
  UsageVoided: true,
});
type Recorded = RecordedEvent<RegistryProjectionEvent>;

const sinceAlways = '1970-01-01T00:00:00.000Z';
const min = (...isos: (string | null)[]) => isos.filter((x): x is string => x !== null).sort()[0];

/**
 * Attribution's registry read model and its re-attribution engine, in one ordered pass over the ledger:
 * - registry events update the subject timelines and account subscriptions, then re-evaluate the usage
 *   they can affect (the subject's usage from the change on; the account's subjects' usage from the change on);
 * - a UsageRecorded is indexed, then re-evaluated too: the ledger writer attributes from a possibly stale
 *   registry, and this pass, which has seen every registry event before it in the ledger, is the authority.
 * Whatever changed is appended as UsageReattributed (previous → next, the reason, the cause), with an id
 * derived from (usage, cause): a replay or a retried batch appends nothing new. Order is what makes it
 * race-free: whichever comes first, the usage or the registry change, the later one finds the other.
 */
export const registryProjection = (tables: RegistryTables, store: EventStore): Projection<RegistryProjectionEvent> => ({
  name: 'attribution_registry',
  eventTypes: registryProjectionEvents.types,
  tables: RegistryTables.tables,
  apply: async (tx: EntityManager, events: readonly Recorded[]) => {
    const emitted: { stream: string; event: NewEvent }[] = [];
    const reevaluate = async (
      tenant: string,
      usage: readonly UsageRow[],
      causeOf: Recorded | ((usageId: string) => Recorded),
      reason: string,
    ) => {
      if (usage.length === 0) return;
      const timelines = await tables.timelines(tx, tenant, [...new Set(usage.map((u) => u.subject))]);
      const accounts = [...new Set([...timelines.values()].flatMap((t) => t.map((s) => s.accountId)))];
      const subscriptions = await tables.subscriptions(tx, tenant, accounts);
      for (const u of usage) {
        const cause = typeof causeOf === 'function' ? causeOf(u.usageId) : causeOf;
        const next = attribute(u.time, timelines.get(u.subject) ?? [], (account) => subscriptions.get(account) ?? []);
        if (sameAttribution(u.attribution, next)) continue;
        const change: UsageReattributedV1 = {
          tenant,
          usageId: u.usageId,
          subject: u.subject,
          eventType: u.eventType,
          time: u.time,
          previous: u.attribution,
          next,
          reason,
          causeId: cause.id,
        };
        const stream =
          next.status === 'attributed'
            ? accountUsageStream(tenant, next.accountId, new Date(u.time))
            : parkedUsageStream(tenant, u.subject);
        emitted.push({
          stream,
          event: { id: usageReattributedId(u.usageId, cause.id), type: usageReattributedType, data: { ...change } },
        });
        // Later events of this very batch must see the usage where it now is.
        await tables.setAttribution(tx, u.usageId, next, cause.globalPosition);
        u.attribution = next;
      }
    };

    // Usage comes in runs: index a run in one statement and re-check it against the registry in one pass.
    let recorded: { row: UsageRow & { position: bigint }; event: Recorded }[] = [];
    const flushRecorded = async () => {
      const run = recorded;
      recorded = [];
      const fresh = await tables.recordUsage(
        tx,
        run.map((r) => r.row),
      );
      const causes = new Map(run.map((r) => [r.row.usageId, r.event]));
      for (const tenant of new Set(run.map((r) => r.row.tenant))) {
        const ofTenant = run.filter((r) => r.row.tenant === tenant && fresh.has(r.row.usageId)).map((r) => r.row);
        await reevaluate(
          tenant,
          ofTenant,
          (usageId) => causes.get(usageId) as Recorded,
          'the registry had changed when the usage was recorded',
        );
      }
    };

    for (const event of events) {
      if (event.type === 'UsageRecorded') {
        const u = event.data;
        recorded.push({
          row: {
            usageId: u.usageId,
            tenant: u.tenant,
            subject: u.subject,
            source: u.source,
            eventId: u.eventId,
            eventType: u.eventType,
            time: u.time,
            attribution: u.attribution,
            recordedAt: event.recordedAt.toISOString(),
            position: event.globalPosition,
          },
          event,
        });
        continue;
      }
      await flushRecorded();
      switch (event.type) {
        case 'AccountOpened': {
          const a = event.data;
          await tables.upsertAccount(tx, {
            tenant: a.tenant,
            accountId: a.accountId,
            name: a.name,
            currency: a.currency,
            timezone: a.timezone,
            billingAnchorDay: billingAnchorDayOf(a),
            locale: localeOf(a),
            openedAt: a.openedAt,
          });
          break;
        }
        case 'SubscriptionStarted':
        case 'SubscriptionCancelled':
        case 'SubscriptionPlanChanged':
        case 'SubscriptionRescheduled': {
          const change = event;
          const { tenant, accountId } = change.data;
          const { subscriptions: before, position } = await tables.subscriptionsAt(tx, tenant, accountId);
          if (event.globalPosition <= position) break; // already folded in: a replayed batch
          const after = evolveSubscriptions(before, change);
          await tables.setSubscriptions(tx, tenant, accountId, after, event.globalPosition);
          const from = affectedFrom(before, after, change.data.subscriptionId);
          const usage = from
            ? await tables.usageOf(tx, tenant, await tables.subjectsOf(tx, tenant, accountId), from)
            : [];
          await reevaluate(tenant, usage, event, subscriptionReason(change));
          break;
        }
        case 'SubjectAssigned':
        case 'SubjectAssignmentCorrected': {
          const change = event;
          const { tenant, subject, effectiveFrom } = change.data;
          const { timeline: before, position } = await tables.timelineAt(tx, tenant, subject);
          if (event.globalPosition <= position) break; // already folded in: a replayed batch
          await tables.setTimeline(tx, tenant, subject, evolveTimeline(before, change), event.globalPosition);
          const reason =
            change.type === 'SubjectAssignmentCorrected'
              ? `assignment corrected: ${change.data.reason}`
              : before.length === 0
                ? 'subject registered'
                : 'subject transferred';
          // A first registration re-reads all the subject's usage (parked reasons change too); later changes, from their instant on.
          await reevaluate(
            tenant,
            await tables.usageOf(tx, tenant, [subject], before.length === 0 ? sinceAlways : effectiveFrom),
            event,
            reason,
          );
          break;
        }
        case 'UsageReattributed': {
          const r = event.data;
          await tables.setAttribution(tx, r.usageId, r.next, event.globalPosition);
          break;
        }
        case 'UsageVoided': {
          const v = event.data;
          await tables.voidUsage(tx, v.usageId, event.recordedAt.toISOString());
          break;
        }
        case 'SubscriptionIdClaimed':
          break; // which account an id belongs to: nothing the read model or attribution needs
        default:
          unhandledEvent(event);
      }
    }
    await flushRecorded();
    if (emitted.length > 0) {
      const byStream = new Map<string, NewEvent[]>();
      for (const { stream, event } of emitted) byStream.set(stream, [...(byStream.get(stream) ?? []), event]);
      await store.appendToStreams(
        [...byStream].map(([stream, evts]) => ({ stream, events: evts, expectedRevision: 'any' })),
      );
    }
  },
});

/** The earliest instant at which the account's coverage changed with this subscription event. */
const affectedFrom = (
  before: readonly Subscription[],
  after: readonly Subscription[],
  id: string,
): string | undefined => {
  const was = before.find((s) => s.subscriptionId === id);
  const is = after.find((s) => s.subscriptionId === id);
  if (!is) return undefined;
  if (!was) return is.startsAt;
  const changedPlan = is.plans.find((p, i) => was.plans[i]?.planId !== p.planId || was.plans[i]?.from !== p.from);
  return min(
    was.startsAt !== is.startsAt ? min(was.startsAt, is.startsAt) : null,
    was.endsAt !== is.endsAt ? min(was.endsAt, is.endsAt) : null,
    changedPlan?.from ?? null,
  );
};

const subscriptionReason = (change: AccountEvent): string => {
  switch (change.type) {
    case 'SubscriptionStarted':
      return 'subscription started';
    case 'SubscriptionCancelled':
      return `subscription cancelled: ${change.data.reason}`;
    case 'SubscriptionPlanChanged':
      return 'plan changed';
    case 'SubscriptionRescheduled':
      return `subscription rescheduled: ${change.data.reason}`;
    default:
      return 'registry changed';
  }
};
