import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  AccountOpened,
  accountStream,
  decideAccount,
  decideSubject,
  evolveAccount,
  evolveSubject,
  initialAccount,
  initialSubject,
  SubjectAssigned,
  subjectStream,
} from '@tally/attribution/domain';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { badRequest } from '@tally/shared/feature-runtime';

/** Before any instant: a first assignment without effectiveFrom covers all of the subject's usage. */
export const sinceAlways = '1970-01-01T00:00:00.000Z';

/**
 * Registry commands, event-sourced: read the stream, decide, append with the revision read
 * (a concurrent change is a conflict, never a lost update). Reads fold the same streams.
 */
@Injectable()
export class RegistryService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  async openAccount(data: { accountId: string; name: string; currency: string; timezone: string }) {
    const tenant = this.runtime.tenant;
    const stream = accountStream(tenant, data.accountId);
    const { state, revision } = await this.loadAccount(stream);
    const events = decideAccount({ type: 'OpenAccount', data: { tenant, ...data }, metadata: { now: this.runtime.clock().toISOString() } }, state);
    await this.append(stream, events, revision);
    const opened = events.reduce(evolveAccount, state);
    return { created: events.length > 0, account: opened.status === 'open' ? present(opened.opened) : undefined };
  }

  async account(accountId: string) {
    const { state } = await this.loadAccount(accountStream(this.runtime.tenant, accountId));
    return state.status === 'open' ? present(state.opened) : undefined;
  }

  async assignSubject(subject: string, data: { accountId: string; effectiveFrom?: string; attributes: Record<string, string> }) {
    const tenant = this.runtime.tenant;
    const stream = subjectStream(tenant, subject);
    const events = await this.runtime.eventStore.readStream(stream);
    const state = events.map((e) => e as unknown as SubjectAssigned).reduce(evolveSubject, initialSubject());
    const account = await this.account(data.accountId);
    const latest = state.assignments.at(-1);
    // Without effectiveFrom: a first assignment covers all time; repeating the current owner is a no-op; a move needs an instant.
    const effectiveFrom = data.effectiveFrom ?? (!latest ? sinceAlways : latest.accountId === data.accountId ? latest.effectiveFrom : undefined);
    if (effectiveFrom === undefined) throw badRequest('effectiveFrom is required to move a subject that already has an owner', [{ field: 'effectiveFrom', message: 'effectiveFrom is required' }]);
    const decided = decideSubject(
      {
        type: 'AssignSubject',
        data: { tenant, subject, accountId: data.accountId, effectiveFrom, attributes: data.attributes },
        metadata: { now: this.runtime.clock().toISOString(), accountExists: account !== undefined },
      },
      state,
    );
    await this.append(stream, decided, events.at(-1)?.streamRevision);
    return { created: decided.length > 0, subject: await this.subject(subject) };
  }

  async subject(subject: string) {
    const events = await this.runtime.eventStore.readStream(subjectStream(this.runtime.tenant, subject));
    if (events.length === 0) return undefined;
    const history = events.map((e) => e as unknown as SubjectAssigned).reduce(evolveSubject, initialSubject()).assignments;
    const current = history.at(-1);
    return {
      key: subject,
      accountId: current?.accountId,
      attributes: current?.attributes ?? {},
      history: history.map((h) => ({ accountId: h.accountId, effectiveFrom: h.effectiveFrom, attributes: h.attributes, assignedAt: h.assignedAt })),
    };
  }

  private async loadAccount(stream: string) {
    const events = await this.runtime.eventStore.readStream(stream);
    return { state: events.map((e) => e as unknown as AccountOpened).reduce(evolveAccount, initialAccount()), revision: events.at(-1)?.streamRevision };
  }

  private async append(stream: string, events: (AccountOpened | SubjectAssigned)[], revision: bigint | undefined): Promise<void> {
    if (events.length === 0) return;
    await this.runtime.eventStore.appendToStream(
      stream,
      // Random ids: a retried request is made idempotent by the decider, and a concurrent different one by the revision check.
      events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })),
      { expectedRevision: revision ?? 'no_stream' },
    );
  }
}

const present = (a: AccountOpened['data']) => ({ id: a.accountId, name: a.name, currency: a.currency, timezone: a.timezone, openedAt: a.openedAt });
