/**
 * The decider pattern: a pure function from (command, state) to new events, and a pure fold of
 * events into state. Time, ids and prices arrive inside the command, never from the clock.
 */
export interface Decider<Command, Event, State> {
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

/** Rebuilds state from a stream's events. */
export const fold = <Event, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: readonly Event[],
): State => events.reduce(decider.evolve, decider.initialState());

/**
 * A refusal from the domain: a machine-readable code, a sentence for people, and the field at fault.
 * Adapters map it to problem+json; the domain never throws for expected business refusals.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
