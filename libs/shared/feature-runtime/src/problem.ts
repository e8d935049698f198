import { Logger } from '@tally/shared/util-telemetry';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { WrongExpectedRevisionError } from '@tally/shared/data-access-event-store';
import { encodeJson, Reply, RequestFailedError } from '@tally/shared/data-access-messaging';
import { isConnectionError } from '@tally/shared/data-access-pg-client';
import { DomainError, FieldError, messageOf, RefusalKind } from '@tally/shared/util-core';

export interface ProblemError extends FieldError {
  /** Index of the event in a batch, when the problem is one event's. */
  index?: number;
}

/** RFC 9457 problem details. `type` is a stable URI per kind of problem, documented in docs/errors.md. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Which occurrence: `urn:tally:request:<request id>` over HTTP. */
  instance?: string;
  errors?: ProblemError[];
}

export const problemType = (code: string): string => `https://tally.dev/problems/${code}`;

export class ProblemException extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

export const badRequest = (detail: string, errors?: ProblemError[], code = 'validation'): ProblemException =>
  new ProblemException({ type: problemType(code), title: 'Request is invalid', status: 400, detail, errors });

export const notFound = (detail: string): ProblemException =>
  new ProblemException({ type: problemType('not-found'), title: 'Not found', status: 404, detail });

const httpCodes: Record<number, string> = {
  400: 'malformed-request',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
};
const titleOf = (code: string): string => code.charAt(0).toUpperCase() + code.slice(1).replace(/-/g, ' ');

/** How a domain refusal is answered, by its kind (each context owns its codes and their kinds; see util-core's refusals). */
const statusOfKind: Record<RefusalKind, number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  'unknown-reference': 422,
  unavailable: 503,
};

/** Maps anything thrown to problem+json; unexpected errors are logged and answered without internals. */
export const toProblem = (error: unknown): Problem => {
  if (error instanceof ProblemException) return error.problem;
  if (error instanceof DomainError) {
    const status = statusOfKind[error.kind];
    return {
      type: problemType(error.code.replace(/_/g, '-')),
      title: 'Request refused',
      status,
      detail: error.message,
      errors: error.field ? [{ field: error.field, message: error.message }] : undefined,
    };
  }
  if (error instanceof WrongExpectedRevisionError) {
    return {
      type: problemType('concurrent-change'),
      title: 'Concurrent change',
      status: 409,
      detail: 'the resource changed meanwhile; retry the request',
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = httpCodes[status] ?? 'http';
    return { type: problemType(code), title: titleOf(code), status, detail: error.message };
  }
  // A dependency away (Postgres unreachable or restarting, nobody answering on NATS): temporary, say so.
  if (
    isConnectionError(error) ||
    isConnectionError((error as { driverError?: unknown })?.driverError) ||
    error instanceof RequestFailedError
  ) {
    return {
      type: problemType('dependency-unavailable'),
      title: 'Dependency unavailable',
      status: 503,
      detail: 'a service this request needs is unreachable right now; retry shortly',
    };
  }
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fastify?.statusCode === 'number' && fastify.statusCode < 500) {
    const code = httpCodes[fastify.statusCode] ?? 'malformed-request';
    return { type: problemType(code), title: titleOf(code), status: fastify.statusCode, detail: fastify.message };
  }
  return {
    type: problemType('internal'),
    title: 'Internal error',
    status: 500,
    detail: 'an unexpected error occurred; it has been logged',
  };
};

/**
 * The problem as answered over HTTP: with `instance`, a URI naming this occurrence — the request's id, which is
 * also on every log line of the request (X-Request-Id) — and always a `detail` (OpenMeter's problem schema
 * requires both).
 */
export const answeredProblem = (problem: Problem, requestId: string | undefined): Problem => ({
  ...problem,
  detail: problem.detail ?? problem.title,
  ...(requestId && { instance: `urn:tally:request:${encodeURIComponent(requestId)}` }),
});

export const sendProblem = (reply: FastifyReply, problem: Problem): void => {
  // Every 503 is temporary (bus down, backpressure): tell clients when to come back.
  if (problem.status === 503) void reply.header('retry-after', '1');
  void reply
    .status(problem.status)
    .header('content-type', 'application/problem+json')
    .send(answeredProblem(problem, reply.request?.id));
};

@Catch()
export class ProblemJsonFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const problem = toProblem(error);
    // A 503 is expected (a dependency away, backpressure): one line, no stack. Only the unexpected gets the stack.
    // Nest catches outside the handler's telemetry context: the request's id is taken from the request itself.
    const requestId = host.switchToHttp().getRequest<{ id?: string } | undefined>()?.id;
    const request = requestId ? { requestId } : {};
    if (problem.status === 503)
      this.log.warn({ ...request, problem: problem.type, reason: messageOf(error) }, 'answered 503');
    else if (problem.status >= 500) this.log.error({ ...request, err: error }, 'unexpected error');
    sendProblem(host.switchToHttp().getResponse<FastifyReply>(), problem);
  }
}

/**
 * The NATS answer for anything a request handler threw: the problem+json body with header `Tally-Status` (which
 * the NestJS envelope turns into `err`). Like the HTTP filter: a 503 is one warning, other 5xx an error with the stack.
 */
export const problemReply = (error: unknown, log: Logger, what: string): Reply => {
  const problem = toProblem(error);
  if (problem.status === 503) log.warn({ reason: messageOf(error) }, `${what} answered 503`);
  else if (problem.status >= 500) log.error({ err: error }, `${what} failed`);
  return {
    data: encodeJson(problem),
    headers: { 'Content-Type': 'application/problem+json', 'Tally-Status': String(problem.status) },
  };
};
