import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  Account,
  AccountCommand,
  AccountEvent,
  accountStream,
  decideAccount,
  decideSubject,
  evolveAccount,
  foldTimeline,
  initialAccount,
  SubjectCommand,
  SubjectEvent,
  subjectStream,
  SubscriptionIdClaimed,
  subscriptionStream,
} from '@tally/attribution/domain';
import { PlanCreatedV1, planCreatedType, planStream } from '@tally/contracts/plans';
import { RecordedEvent, StreamAppend } from '@tally/shared/data-access-event-store';
import { badRequest, notFound, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { DomainError } from '@tally/shared/util-core';

/** Before any instant: a first assignment without effectiveFrom covers all of the subject's usage. */
export const sinceAlways = '1970-01-01T00:00:00.000Z';

const asDomain = <E>(events: readonly RecordedEvent[]) =>
  events.map((e) => ({ type: e.type, data: e.data }) as unknown as E);

/**
 * Registry commands, event-sourced: read the stream, decide, append with the revision read (a
 * concurrent change is a conflict, never a lost update). Facts from outside the aggregate (does the
 * account exist, the plan and its currency) are looked up here, at the edge, and handed to the decider.
 */
@Injectable()
export class RegistryService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  private get tenant() {
    return this.runtime.tenant;
  }

  private now() {
    return this.runtime.clock().toISOString();
  }

  private async loadAccount(accountId: string) {
    const events = await this.runtime.eventStore.readStream(accountStream(this.tenant, accountId));
    return {
      state: asDomain<AccountEvent>(events).reduce(evolveAccount, initialAccount()),
      revision: events.at(-1)?.streamRevision,
    };
  }

  private async plan(planId: string): Promise<{ currency: string } | undefined> {
    const [created] = await this.runtime.eventStore.readStream(planStream(this.tenant, planId), { maxCount: 1 });
    return created?.type === planCreatedType
      ? { currency: (created.data as unknown as PlanCreatedV1).currency }
      : undefined;
  }

  /** Decides on the account and appends; `also` goes into the same atomic append (the subscription id claim). */
  private async onAccount(accountId: string, command: AccountCommand, also: StreamAppend[] = []) {
    const { state, revision } = await this.loadAccount(accountId);
    const events = decideAccount(command, state);
    if (events.length > 0 || also.length > 0) {
      await this.runtime.eventStore.appendToStreams([
        ...also,
        ...(events.length > 0
          ? [
              {
                stream: accountStream(this.tenant, accountId),
                events: events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data } })),
                expectedRevision: revision ?? ('no_stream' as const),
              },
            ]
          : []),
      ]);
    }
    return { changed: events.length > 0, state: events.reduce(evolveAccount, state) };
  }

  async openAccount(data: {
    accountId: string;
    name: string;
    currency: string;
    timezone: string;
    billingAnchorDay: number;
  }) {
    const { changed, state } = await this.onAccount(data.accountId, {
      type: 'OpenAccount',
      data: { tenant: this.tenant, ...data },
      metadata: { now: this.now() },
    });
    return { created: changed, account: presentAccount(state) };
  }

  async account(accountId: string) {
    return presentAccount((await this.loadAccount(accountId)).state);
  }

  async startSubscription(data: {
    subscriptionId: string;
    accountId: string;
    planId: string;
    startsAt: string;
    endsAt: string | null;
  }) {
    const claimStream = subscriptionStream(this.tenant, data.subscriptionId);
    const [claim] = await this.runtime.eventStore.readStream(claimStream, { maxCount: 1 });
    const claimedBy = claim && (claim.data as SubscriptionIdClaimed['data']).accountId;
    if (claimedBy && claimedBy !== data.accountId)
      throw new DomainError(
        'subscription_exists',
        `subscription id ${data.subscriptionId} belongs to another account`,
        'id',
      );
    const claimAppend: StreamAppend[] = claimedBy
      ? []
      : [
          {
            stream: claimStream,
            expectedRevision: 'no_stream',
            events: [
              {
                id: randomUUID(),
                type: 'SubscriptionIdClaimed',
                data: { tenant: this.tenant, subscriptionId: data.subscriptionId, accountId: data.accountId },
              },
            ],
          },
        ];
    const command: AccountCommand = {
      type: 'StartSubscription',
      data: { subscriptionId: data.subscriptionId, planId: data.planId, startsAt: data.startsAt, endsAt: data.endsAt },
      metadata: { now: this.now(), plan: await this.plan(data.planId) },
    };
    // The claim is appended only together with the subscription: a refused start claims nothing.
    const { state: before } = await this.loadAccount(data.accountId);
    if (decideAccount(command, before).length === 0)
      return { created: false, subscription: presentSubscription(before, data.subscriptionId) };
    const { state } = await this.onAccount(data.accountId, command, claimAppend);
    return { created: true, subscription: presentSubscription(state, data.subscriptionId) };
  }

  private async accountOfSubscription(subscriptionId: string): Promise<string> {
    const [claim] = await this.runtime.eventStore.readStream(subscriptionStream(this.tenant, subscriptionId), {
      maxCount: 1,
    });
    if (!claim) throw notFound(`no subscription ${subscriptionId}`);
    return (claim.data as SubscriptionIdClaimed['data']).accountId;
  }

  async subscription(subscriptionId: string) {
    const accountId = await this.accountOfSubscription(subscriptionId);
    return presentSubscription((await this.loadAccount(accountId)).state, subscriptionId);
  }

  async changeSubscription(subscriptionId: string, change: (now: string) => Promise<AccountCommand> | AccountCommand) {
    const accountId = await this.accountOfSubscription(subscriptionId);
    const { state } = await this.onAccount(accountId, await change(this.now()));
    return presentSubscription(state, subscriptionId);
  }

  cancelSubscription(subscriptionId: string, data: { at: string; reason: string }) {
    return this.changeSubscription(subscriptionId, (now) => ({
      type: 'CancelSubscription',
      data: { subscriptionId, endsAt: data.at, reason: data.reason },
      metadata: { now },
    }));
  }

  changePlan(subscriptionId: string, data: { planId: string; effectiveFrom: string }) {
    return this.changeSubscription(subscriptionId, async (now) => ({
      type: 'ChangePlan',
      data: { subscriptionId, ...data },
      metadata: { now, plan: await this.plan(data.planId) },
    }));
  }

  rescheduleSubscription(subscriptionId: string, data: { startsAt: string; reason: string }) {
    return this.changeSubscription(subscriptionId, (now) => ({
      type: 'RescheduleSubscription',
      data: { subscriptionId, ...data },
      metadata: { now },
    }));
  }

  private async onSubject(
    subject: string,
    command: (timeline: ReturnType<typeof foldTimeline>) => Promise<SubjectCommand>,
  ) {
    const stream = subjectStream(this.tenant, subject);
    const events = await this.runtime.eventStore.readStream(stream);
    const timeline = foldTimeline(asDomain<SubjectEvent>(events));
    const decided = decideSubject(await command(timeline), timeline);
    if (decided.length > 0) {
      await this.runtime.eventStore.appendToStream(
        stream,
        decided.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data } })),
        { expectedRevision: events.at(-1)?.streamRevision ?? 'no_stream' },
      );
    }
    return { created: decided.length > 0, subject: await this.subject(subject) };
  }

  assignSubject(
    subject: string,
    data: { accountId: string; effectiveFrom?: string; attributes: Record<string, string> },
  ) {
    return this.onSubject(subject, async (timeline) => {
      const latest = timeline.at(-1);
      // Without effectiveFrom: a first assignment covers all time; repeating the current owner is a no-op; a move needs an instant.
      const effectiveFrom =
        data.effectiveFrom ?? (!latest ? sinceAlways : latest.accountId === data.accountId ? latest.from : undefined);
      if (effectiveFrom === undefined)
        throw badRequest('effectiveFrom is required to move a subject that already has an owner', [
          { field: 'effectiveFrom', message: 'effectiveFrom is required' },
        ]);
      const accountExists = (await this.account(data.accountId)) !== undefined;
      return {
        type: 'AssignSubject',
        data: { tenant: this.tenant, subject, accountId: data.accountId, effectiveFrom, attributes: data.attributes },
        metadata: { now: this.now(), accountExists },
      };
    });
  }

  correctSubject(
    subject: string,
    data: {
      accountId: string;
      effectiveFrom: string;
      effectiveTo: string | null;
      attributes: Record<string, string>;
      reason: string;
    },
  ) {
    return this.onSubject(subject, async () => ({
      type: 'CorrectAssignment',
      data: { tenant: this.tenant, subject, ...data },
      metadata: { now: this.now(), accountExists: (await this.account(data.accountId)) !== undefined },
    }));
  }

  async subject(subject: string) {
    const events = await this.runtime.eventStore.readStream(subjectStream(this.tenant, subject));
    if (events.length === 0) return undefined;
    const timeline = foldTimeline(asDomain<SubjectEvent>(events));
    const current = timeline.at(-1);
    return {
      key: subject,
      accountId: current?.accountId,
      attributes: current?.attributes ?? {},
      timeline: timeline.map((s) => ({ accountId: s.accountId, from: s.from, attributes: s.attributes })),
      history: asDomain<SubjectEvent>(events).map((e) => ({ type: e.type, ...e.data })),
    };
  }
}

const presentAccount = (state: Account) =>
  state.status === 'open'
    ? {
        id: state.opened.accountId,
        name: state.opened.name,
        currency: state.opened.currency,
        timezone: state.opened.timezone,
        billingAnchorDay: state.opened.billingAnchorDay ?? 1,
        openedAt: state.opened.openedAt,
        subscriptions: state.subscriptions.map((s) => presentSubscription(state, s.subscriptionId)),
      }
    : undefined;

const presentSubscription = (state: Account, subscriptionId: string) => {
  const s = state.status === 'open' ? state.subscriptions.find((x) => x.subscriptionId === subscriptionId) : undefined;
  if (!s || state.status !== 'open') return undefined;
  return {
    id: s.subscriptionId,
    accountId: state.opened.accountId,
    planId: s.plans[s.plans.length - 1].planId,
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    plans: s.plans,
  };
};
