/**
 * What every library logs through. pino's logger satisfies it (the runtime makes one per process);
 * libraries see only this, so none depends on pino. Fields come first, as pino takes them: structured
 * fields for machines (`{ consumer, stream, reason }`), the message for people. No payloads in fields.
 */
export type LogFields = Record<string, unknown>;

export interface LogMethod {
  (message: string): void;
  (fields: LogFields, message: string): void;
}

export interface Logger {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  /** Expected conditions an operator should know of: an outage, a retry, backpressure. No stack. */
  warn: LogMethod;
  /** Something that should not happen: a bug or a broken invariant. With the stack (`{ err }`). */
  error: LogMethod;
  child(bindings: LogFields): Logger;
}

const nothing = () => undefined;

/** Logs nothing: for code run without a process logger (tools, unit tests). */
export const silentLogger: Logger = {
  trace: nothing,
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
  child: () => silentLogger,
};
