import type { EventGuard, LedgerEvent } from './ledger-event';

/**
 * The decider pattern: a pure function from (command, state) to new events, and a pure fold of
 * events into state. Time, ids and prices arrive inside the command, never from the clock.
 */
export interface Decider<Command, Event, State> {
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

/** A decider of one stream's aggregate, whose events are union E — with E's guard, to read its stream by. */
export interface StreamDecider<Command, E extends LedgerEvent, State> extends Decider<Command, E, State> {
  events: EventGuard<E>;
}

/** Rebuilds state from a stream's events. */
export const fold = <Event, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: readonly Event[],
): State => events.reduce(decider.evolve, decider.initialState());

/**
 * What kind of refusal a code is — the edge answers by kind, never by code: `invalid` the request contradicts
 * itself (400), `not-found` its target does not exist (404), `conflict` it clashes with what exists (409),
 * `unknown-reference` it names something that does not exist (422), `unavailable` it cannot be answered now (503).
 */
export type RefusalKind = 'invalid' | 'not-found' | 'conflict' | 'unknown-reference' | 'unavailable';

/**
 * A refusal from the domain: a machine-readable code, a sentence for people, the field at fault and the
 * refusal's kind. Each context owns its codes (see `refusals`); adapters map the kind to problem+json.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly kind: RefusalKind = 'unknown-reference',
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * A context's refusal codes, each with its kind, and a typed way to throw them: `refuse('unknown_plan', …)`
 * compiles only for a code of that context, so a typo is caught and shared code needs to know no context's codes.
 */
export const refusals = <Codes extends Record<string, RefusalKind>>(codes: Codes) => {
  const refuse = (code: keyof Codes & string, message: string, field?: string): never => {
    throw new DomainError(code, message, field, codes[code]);
  };
  const is = (error: unknown, code: keyof Codes & string): error is DomainError =>
    error instanceof DomainError && error.code === code;
  return { codes, refuse, is };
};
