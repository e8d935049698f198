import pino from 'pino';
import { prettyFactory } from 'pino-pretty';
import { redactCredentials, TallyConfig } from '@tally/shared/util-config';
import { currentTelemetry, Logger } from '@tally/shared/util-telemetry';

/** Where formatted lines go instead of stdout (tests keep or drop them). */
export type LineSink = (line: string) => void;

/**
 * The process's logger: pino, at TALLY_LOG_LEVEL; JSON lines (TALLY_LOG_FORMAT=json, the distributed apps'
 * default) or readable ones (pretty, `npm start`'s — pino-pretty formatting each line in this thread, not
 * in a transport worker, so nothing is lost when the process exits). Every line carries the request and
 * correlation ids of the work it was written in, and has connection-URL passwords masked (a driver error
 * may quote a URL). Fastify logs through the same instance.
 */
export const createProcessLogger = (
  config: Pick<TallyConfig, 'TALLY_LOG_LEVEL' | 'TALLY_LOG_FORMAT'>,
  sink?: LineSink,
): pino.Logger & Logger => {
  const pretty =
    config.TALLY_LOG_FORMAT === 'pretty'
      ? prettyFactory({ colorize: false, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', singleLine: true })
      : undefined;
  const out = sink ?? ((line: string) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`));
  return pino(
    {
      level: config.TALLY_LOG_LEVEL,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // An error is its type, message, code and stack — never its other properties: a TypeORM query error
      // carries the statement's parameters (usage payloads, key hashes), which are data, not diagnostics.
      serializers: { err: errorFields },
      mixin: () => {
        const telemetry = currentTelemetry();
        if (!telemetry) return {};
        return telemetry.requestId
          ? { requestId: telemetry.requestId, correlationId: telemetry.correlationId }
          : { correlationId: telemetry.correlationId, causationId: telemetry.causationId };
      },
    },
    {
      write: (json: string) => {
        const masked = redactCredentials(json);
        out(pretty ? pretty(masked).trimEnd() : masked.trimEnd());
      },
    },
  );
};

const errorFields = (error: unknown) => {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown } | null;
  return {
    type: typeof e?.name === 'string' ? e.name : typeof error,
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(typeof e?.code === 'string' || typeof e?.code === 'number' ? { code: e.code } : {}),
    ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}),
  };
};
