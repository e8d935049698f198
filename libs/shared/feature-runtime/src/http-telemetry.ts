import { randomUUID } from 'node:crypto';
import { CallHandler, ExecutionContext, Injectable, LoggerService, NestInterceptor } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import {
  Logger,
  otelContext,
  otelTrace,
  remoteContext,
  SpanKind,
  TelemetryContext,
  withTelemetry,
} from '@tally/shared/util-telemetry';
import type { Context, Span } from '@opentelemetry/api';

/** An id a client may choose (X-Request-Id, X-Correlation-Id): short, and nothing a log line could be forged with. */
const clientId = (value: unknown): string | undefined =>
  typeof value === 'string' && /^[\w.:@/-]{1,128}$/.test(value) ? value : undefined;

/** Fastify's request id: the client's X-Request-Id when it is a sane one, else a fresh UUID. */
export const requestIdOf = (request: { headers: Record<string, unknown> }): string =>
  clientId(request.headers['x-request-id']) ?? randomUUID();

interface TracedRequest extends FastifyRequest {
  tallySpan?: { span: Span; context: Context };
}

/**
 * Per request: the id echoed as `X-Request-Id`, a server span (parented on the caller's `traceparent`, so a
 * producer's trace continues into Tally), and — at debug level — one line when it completes.
 */
export const installHttpTelemetry = (fastify: FastifyInstance, log: Logger): void => {
  const tracer = otelTrace.getTracer('tally');
  fastify.addHook('onRequest', async (request: TracedRequest, reply) => {
    void reply.header('x-request-id', request.id);
    const parent = remoteContext(request.headers as Record<string, unknown>);
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } },
      parent,
    );
    request.tallySpan = { span, context: otelTrace.setSpan(parent, span) };
  });
  fastify.addHook('onResponse', async (request: TracedRequest, reply) => {
    const traced = request.tallySpan;
    if (traced) {
      traced.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) traced.span.setStatus({ code: 2 });
      traced.span.end();
    }
    log.debug(
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
  });
};

/**
 * Runs each request's handler in its telemetry context (request id; correlation id from X-Correlation-Id,
 * else the request id) and inside its server span, so everything it logs, publishes or appends carries them.
 */
@Injectable()
export class RequestTelemetryInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<TracedRequest>();
    const telemetry: TelemetryContext = {
      requestId: request.id,
      correlationId: clientId(request.headers['x-correlation-id']) ?? request.id,
      causationId: request.id,
    };
    const active = request.tallySpan?.context ?? otelContext.active();
    return new Observable((subscriber) =>
      withTelemetry(telemetry, () => otelContext.with(active, () => next.handle().subscribe(subscriber))),
    );
  }
}

/**
 * Nest's own messages through the process logger. Its start-up chatter (modules initialised, routes mapped)
 * is debug; its warnings and errors stay what they are.
 */
export const nestLogger = (log: Logger): LoggerService => {
  const text = (message: unknown) => (typeof message === 'string' ? message : JSON.stringify(message));
  const contextOf = (params: unknown[]) => (typeof params.at(-1) === 'string' ? { context: params.at(-1) } : {});
  return {
    log: (message, ...params) => log.debug(contextOf(params), text(message)),
    debug: (message, ...params) => log.debug(contextOf(params), text(message)),
    verbose: (message, ...params) => log.trace(contextOf(params), text(message)),
    warn: (message, ...params) => log.warn(contextOf(params), text(message)),
    // Nest calls error(message, context) or error(message, stack, context).
    error: (message, ...params) =>
      log.error(
        { ...contextOf(params), ...(params.length > 1 && typeof params[0] === 'string' && { stack: params[0] }) },
        text(message),
      ),
    fatal: (message, ...params) => log.error(contextOf(params), text(message)),
  };
};
