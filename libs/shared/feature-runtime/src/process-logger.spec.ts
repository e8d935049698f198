import { describe, expect, it } from 'vitest';
import { withTelemetry } from '@tally/shared/util-telemetry';
import { createProcessLogger } from './process-logger';

const capture = (format: 'json' | 'pretty' | undefined, level = 'info') => {
  const lines: string[] = [];
  const log = createProcessLogger({ TALLY_LOG_LEVEL: level as 'info', TALLY_LOG_FORMAT: format }, (line) =>
    lines.push(line),
  );
  return { log, lines };
};

describe('the process logger', () => {
  it('writes one JSON object per line, with level, time and message', () => {
    const { log, lines } = capture('json');
    log.warn({ consumer: 'attribution_ledger', reason: 'Postgres away' }, 'consumer stalled');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'warn',
      msg: 'consumer stalled',
      consumer: 'attribution_ledger',
      reason: 'Postgres away',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('adds the request and correlation ids of the work the line was written in', () => {
    const { log, lines } = capture('json');
    withTelemetry({ requestId: 'req-1', correlationId: 'order-4711', causationId: 'req-1' }, () =>
      log.info('in a request'),
    );
    withTelemetry({ correlationId: 'order-4711', causationId: 'msg-9' }, () => log.info('handling a message'));
    log.info('outside');
    expect(JSON.parse(lines[0])).toMatchObject({ requestId: 'req-1', correlationId: 'order-4711' });
    expect(JSON.parse(lines[1])).toMatchObject({ correlationId: 'order-4711', causationId: 'msg-9' });
    expect(JSON.parse(lines[2])).not.toHaveProperty('correlationId');
  });

  it('masks passwords of connection URLs, whatever field they are in', () => {
    const { log, lines } = capture('json');
    log.warn({ reason: 'connect failed: postgres://tally:s3cret-pw@db:5432/tally' }, 'postgres://u:other-pw@h/db');
    expect(lines[0]).not.toMatch(/s3cret-pw|other-pw/);
  });

  it('logs an error by its type, message, code and stack, never its other properties (query parameters)', () => {
    const { log, lines } = capture('json');
    const failed = Object.assign(new Error('duplicate key'), {
      name: 'QueryFailedError',
      code: '23505',
      parameters: ['{"customer":"payload-secret-xyz"}'],
      query: 'insert into usage …',
    });
    log.error({ err: failed }, 'unexpected error');
    expect(JSON.parse(lines[0]).err).toEqual({
      type: 'QueryFailedError',
      message: 'duplicate key',
      code: '23505',
      stack: expect.stringContaining('duplicate key'),
    });
    expect(lines[0]).not.toContain('payload-secret-xyz');
  });

  it('reads as plain lines in the pretty format, and honours the level', () => {
    const { log, lines } = capture('pretty', 'warn');
    log.info('not written');
    log.warn({ consumer: 'c' }, 'consumer stalled');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: consumer stalled \{"consumer":"c"\}$/);
  });
});
