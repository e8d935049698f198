import { LogFields, Logger } from '@tally/shared/util-telemetry';

export interface LogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  fields: LogFields;
  message: string;
}

/** A Logger that keeps what it is told, for tests to look at (bindings of children merged into fields). */
export const recordingLogger = (
  entries: LogEntry[] = [],
  bindings: LogFields = {},
): Logger & { entries: LogEntry[] } => {
  const method =
    (level: LogEntry['level']) =>
    (first: string | LogFields, second?: string): void => {
      const [fields, message] = typeof first === 'string' ? [{}, first] : [first, second ?? ''];
      entries.push({ level, fields: { ...bindings, ...fields }, message });
    };
  return {
    entries,
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
  };
};
