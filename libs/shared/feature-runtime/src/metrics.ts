import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (prom-client): Node's own (CPU, memory, event-loop lag, GC, handles)
 * and Tally's, in one registry per app instance (several apps can share a process in tests and in
 * embedded mode's single HTTP server, which has one instance). Served at /metrics with the projection
 * and dependency gauges (projection-catalog.ts).
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  /** Request durations by route template (never the raw URL: ids would explode the label set). */
  readonly httpDuration = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Intake outcomes per tenant: what producers sent and what became of it at the door. */
  readonly intakeEvents = new Counter({
    name: 'tally_intake_events_total',
    help: 'Events answered by intake, by tenant and outcome (accepted, duplicate, rejected).',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: '' });
  }

  /** Times every answered request by its route template (unknown routes count as `unmatched`). */
  instrument(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', async (request, reply) => {
      this.httpDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1_000,
      );
    });
  }
}
