import type { ArgumentsHost } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { RequestFailedError } from '@tally/shared/data-access-messaging';
import { recordingLogger } from '@tally/shared/testing';
import { ProblemJsonFilter } from './problem';

/** A reply that keeps what the filter sends: the filter's only collaborator besides the logger. */
const answered = () => {
  const reply = {
    status: 0,
    body: undefined as unknown,
  };
  const fastifyReply = {
    status: (code: number) => ((reply.status = code), fastifyReply),
    header: () => fastifyReply,
    send: (body: unknown) => ((reply.body = body), fastifyReply),
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => fastifyReply, getRequest: () => ({ id: 'req-1' }) }),
  } as unknown as ArgumentsHost;
  return { reply, host };
};

describe('problem+json errors in the logs', () => {
  it('logs an expected 503 (a dependency away) as one warning, without a stack', () => {
    const log = recordingLogger();
    const { host, reply } = answered();
    new ProblemJsonFilter(log).catch(new RequestFailedError('no_responders', 'aggregation.qry.usage'), host);
    expect(reply.status).toBe(503);
    expect(log.entries).toEqual([
      {
        level: 'warn',
        message: 'answered 503',
        fields: {
          requestId: 'req-1',
          problem: 'https://tally.dev/problems/dependency-unavailable',
          reason: 'nothing serves aggregation.qry.usage',
        },
      },
    ]);
  });

  it('logs an unexpected error as an error, with the error (and so its stack)', () => {
    const log = recordingLogger();
    const { host, reply } = answered();
    const bug = new TypeError('cannot read properties of undefined');
    new ProblemJsonFilter(log).catch(bug, host);
    expect(reply.status).toBe(500);
    expect(log.entries).toEqual([
      { level: 'error', message: 'unexpected error', fields: { requestId: 'req-1', err: bug } },
    ]);
  });

  it('does not log what the client got wrong (4xx)', () => {
    const log = recordingLogger();
    new ProblemJsonFilter(log).catch(Object.assign(new Error('bad'), { statusCode: 400 }), answered().host);
    expect(log.entries).toEqual([]);
  });
});
