/**
 * An event as a contract defines it: its type name and its data. A recorded event (the event-store port's
 * RecordedEvent) adds where and when it was stored. Contracts export a union of these per stream category,
 * so a reader narrows by `type` and the compiler knows the data — and knows when a switch misses a type.
 */
export interface LedgerEvent<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Data;
}

/** Every type name of a union, each once: written as an object so the compiler checks the list is complete. */
export type EventTypeNames<E extends LedgerEvent> = { readonly [T in E['type']]: true };

/** A type guard for a union's events, by type name, and the names themselves (for reading only those). */
export interface EventGuard<E extends LedgerEvent> {
  <R extends { type: string }>(event: R): event is R & E;
  readonly types: readonly E['type'][];
}

/**
 * The guard of a union. Only the type name is checked: the data of an event of that type is what its
 * contract says, because only the contract's writer appends it (the ledger is append-only and typed at write).
 */
export const eventsOf = <E extends LedgerEvent>(names: EventTypeNames<E>): EventGuard<E> => {
  const types = Object.keys(names) as E['type'][];
  const known = new Set<string>(types);
  const guard = <R extends { type: string }>(event: R): event is R & E => known.has(event.type);
  return Object.assign(guard, { types });
};

/** The `default` of a switch over a union's types: a type left out fails to compile; at run time it throws. */
export const unhandledEvent = (event: never): never => {
  throw new Error(`no handler for event type ${String((event as { type?: unknown }).type)}`);
};
