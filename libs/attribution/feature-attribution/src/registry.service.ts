import { Inject, Injectable } from '@nestjs/common';
import {
  Account,
  AccountCommand,
  accountDecider,
  accountStream,
  isSubscriptionIdClaimed,
  SubjectCommand,
  subjectDecider,
  subjectStream,
  SubjectTimeline,
  subscriptionClaimDecider,
  subscriptionStream,
} from '@tally/attribution/domain';
import { billingAnchorDayOf, localeOf } from '@tally/contracts/accounts';
import { isPlanEvent, planStream } from '@tally/contracts/plans';
import {
  aggregateStream,
  decideCommand,
  EventStore,
  handleCommand,
  StreamAppend,
} from '@tally/shared/data-access-event-store';
import { badRequest, Clock, CLOCK, EVENT_STORE, notFound, Tenancy } from '@tally/shared/feature-runtime';

/** Before any instant: a first assignment without effectiveFrom covers all of the subject's usage. */
export const sinceAlways = '1970-01-01T00:00:00.000Z';

/**
 * Registry commands, event-sourced: read the stream, decide, append with the revision read (a
 * concurrent change is a conflict, never a lost update). Facts from outside the aggregate (does the
 * account exist, the plan and its currency) are looked up here, at the edge, and handed to the decider.
 */
@Injectable()
export class RegistryService {
  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
  ) {}

  private get tenant() {
    return this.tenancy.current;
  }

  private now() {
    return this.clock().toISOString();
  }

  private async loadAccount(accountId: string) {
    return aggregateStream(this.ledger, accountDecider, accountStream(this.tenant, accountId));
  }

  private async plan(planId: string): Promise<{ currency: string } | undefined> {
    const [created] = await this.ledger.readStream(planStream(this.tenant, planId), { maxCount: 1 });
    return created && isPlanEvent(created) && created.type === 'PlanCreated'
      ? { currency: created.data.currency }
      : undefined;
  }

  /** Decides on the account and appends; `also` goes into the same atomic append (the subscription id claim). */
  private async onAccount(accountId: string, command: AccountCommand, also: StreamAppend[] = []) {
    const { events, state } = await handleCommand(
      this.ledger,
      accountDecider,
      accountStream(this.tenant, accountId),
      command,
      { alsoAppend: also },
    );
    return { changed: events.length > 0, state };
  }

  async openAccount(data: {
    accountId: string;
    name: string;
    currency: string;
    timezone: string;
    billingAnchorDay: number;
    locale: string;
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
    // The claim is appended only together with the subscription: a refused start claims nothing.
    const claim = await decideCommand(
      this.ledger,
      subscriptionClaimDecider,
      subscriptionStream(this.tenant, data.subscriptionId),
      { tenant: this.tenant, subscriptionId: data.subscriptionId, accountId: data.accountId },
    );
    const command: AccountCommand = {
      type: 'StartSubscription',
      data: { subscriptionId: data.subscriptionId, planId: data.planId, startsAt: data.startsAt, endsAt: data.endsAt },
      metadata: { now: this.now(), plan: await this.plan(data.planId) },
    };
    const { changed, state } = await this.onAccount(data.accountId, command, claim.append ? [claim.append] : []);
    return { created: changed, subscription: presentSubscription(state, data.subscriptionId) };
  }

  private async accountOfSubscription(subscriptionId: string): Promise<string> {
    const [claim] = await this.ledger.readStream(subscriptionStream(this.tenant, subscriptionId), {
      maxCount: 1,
    });
    if (!claim || !isSubscriptionIdClaimed(claim)) throw notFound(`no subscription ${subscriptionId}`);
    return claim.data.accountId;
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

  private async onSubject(subject: string, command: (timeline: SubjectTimeline) => Promise<SubjectCommand>) {
    const { events } = await handleCommand(this.ledger, subjectDecider, subjectStream(this.tenant, subject), {
      from: command,
    });
    return { created: events.length > 0, subject: await this.subject(subject) };
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
    const { state: timeline, events } = await aggregateStream(
      this.ledger,
      subjectDecider,
      subjectStream(this.tenant, subject),
    );
    if (events.length === 0) return undefined;
    const current = timeline.at(-1);
    return {
      key: subject,
      accountId: current?.accountId,
      attributes: current?.attributes ?? {},
      timeline: timeline.map((s) => ({ accountId: s.accountId, from: s.from, attributes: s.attributes })),
      history: events.map((e) => ({ type: e.type, ...e.data })),
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
        billingAnchorDay: billingAnchorDayOf(state.opened),
        locale: localeOf(state.opened),
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
