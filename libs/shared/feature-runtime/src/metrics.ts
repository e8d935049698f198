import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BusObserver, MessageBus } from '@tally/shared/data-access-messaging';
import type { ProjectionRunner } from '@tally/shared/data-access-postgres';

/** What a scrape reads besides the counters kept as things happen. */
export interface ScrapeSources {
  bus: MessageBus;
  projections: readonly ProjectionRunner[];
  postgresReachable(): Promise<boolean>;
}

/**
 * The process's Prometheus metrics (prom-client), one registry per app instance (several apps share a
 * process in tests, and embedded mode serves all four from one): Node's own (CPU, memory, event-loop lag,
 * GC, handles), counters kept as things happen (requests, intake outcomes, publishes, projection batches,
 * billing, webhooks), and gauges read at scrape time from this process's consumers and projections — a
 * handful of indexed queries, so a scrape costs milliseconds whatever the backlog. The dashboard over
 * them is docs/grafana/tally-dashboard.json.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter({ name, help, labelNames, registers: [this.registry] });
  private readonly gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge({ name, help, labelNames, registers: [this.registry] });

  /** Request durations by route template (never the raw URL: ids would explode the label set). */
  readonly httpDuration = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Intake outcomes per tenant: what producers sent and what became of it at the door. */
  readonly intakeEvents = this.counter(
    'tally_intake_events_total',
    'Events answered by intake, by tenant and outcome (accepted, duplicate, rejected).',
    ['tenant', 'outcome'],
  );

  readonly busPublished = this.counter(
    'tally_bus_published_total',
    'Messages published, by logical subject and outcome (stored, duplicate: the bus already had its id, failed).',
    ['subject', 'outcome'],
  );

  /** Hand it to the bus: it counts every publish. */
  readonly busObserver: BusObserver = {
    published: (subject, outcome) => this.busPublished.inc({ subject, outcome }),
  };

  readonly projectionApply = new Histogram({
    name: 'tally_projection_apply_seconds',
    help: 'Time to apply one batch of ledger events to a projection (its transaction, checkpoint included).',
    labelNames: ['projection'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly projectionEvents = this.counter(
    'tally_projection_events_applied_total',
    'Ledger events applied to a projection.',
    ['projection'],
  );

  readonly billingRuns = this.counter(
    'tally_billing_runs_total',
    'Billing passes this process ran, by outcome (completed, failed; a pass another process holds the lock for is not counted).',
    ['outcome'],
  );
  readonly billingSubscriptions = this.counter(
    'tally_billing_subscription_periods_total',
    'What billing did with each subscription period it looked at (drafted, redrafted, finalized, unchanged, waiting, behind, voided, failed).',
    ['outcome'],
  );
  /** The archive's seal (+ prune) passes: those this process ran (another holding the lock is not counted). */
  readonly archivePasses = this.counter(
    'tally_archive_passes_total',
    'Archive passes (seal, then prune if on) this process ran, by outcome (completed, failed).',
    ['outcome'],
  );
  readonly archiveSealFailures = this.counter(
    'tally_archive_seal_failures_total',
    'Archive passes that failed (Postgres or the object store away, a file altered): retried at the next pass.',
    [],
  );
  readonly archiveRows = this.counter(
    'tally_archive_rows_total',
    'Ledger rows sealed into the archive, or pruned from the hot ledger, by this process.',
    ['action'],
  );
  readonly archiveSealedBytes = this.counter(
    'tally_archive_sealed_bytes_total',
    'Bytes of Parquet files written to the archive by this process.',
    [],
  );
  readonly archiveSealedThrough = this.gauge(
    'tally_archive_sealed_through',
    'The last ledger position sealed into the archive, as its manifest said after this process’s last pass.',
    [],
  );

  readonly webhookDeliveries = this.counter(
    'tally_webhook_deliveries_total',
    'Webhook delivery attempts by kind and outcome (delivered; retried: down, slow or 5xx; refused: 4xx or a redirect, dead-lettered).',
    ['kind', 'outcome'],
  );

  // Read at scrape time.
  private readonly consumerAcked = this.counter(
    'tally_bus_acked_total',
    'Messages a consumer handled and acknowledged.',
    ['consumer'],
  );
  private readonly consumerFailed = this.counter(
    'tally_bus_handler_failures_total',
    'Handler failures of a consumer (each message is retried).',
    ['consumer'],
  );
  private readonly consumerRedelivered = this.counter(
    'tally_bus_redelivered_total',
    'Deliveries of a message that had been delivered before (after a failure, a crash, a lost ack).',
    ['consumer'],
  );
  private readonly consumerDeadLettered = this.counter(
    'tally_bus_dead_lettered_total',
    'Messages a consumer gave up on (they can never succeed): in the dead-letter store, replayable.',
    ['consumer'],
  );
  private readonly consumerStalled = this.gauge(
    'tally_consumer_stalled',
    '1 while a consumer retries failing messages (an outage, or a message that keeps failing).',
    ['consumer'],
  );
  private readonly consumerPending = this.gauge(
    'tally_consumer_pending',
    'Messages of its subject a consumer has not acknowledged yet (waiting or in hand).',
    ['consumer'],
  );
  private readonly projectionUp = this.gauge(
    'tally_projection_up',
    '1 when this process applies the projection and its last batch succeeded.',
    ['projection'],
  );
  private readonly projectionLagEvents = this.gauge(
    'tally_projection_lag_events',
    'Ledger events of interest to the projection not yet applied (counted up to 10000).',
    ['projection'],
  );
  private readonly projectionLagSeconds = this.gauge(
    'tally_projection_lag_seconds',
    'Age of the oldest ledger event the projection has not applied yet; 0 when caught up.',
    ['projection'],
  );
  private readonly acceptedToVisible = this.gauge(
    'tally_projection_accepted_to_visible_seconds',
    'For the newest usage of the last batch: accepted at intake to visible in queries.',
    ['projection'],
  );
  private readonly dependencyUp = this.gauge('tally_dependency_up', '1 when the dependency answers.', ['dependency']);

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

  readonly projectionApplied = (projection: string, events: number, seconds: number): void => {
    this.projectionApply.observe({ projection }, seconds);
    this.projectionEvents.inc({ projection }, events);
  };

  /** The Prometheus text: gauges and consumer counters read now, everything else as counted. */
  async scrape(sources: ScrapeSources): Promise<string> {
    // Running totals kept by each consumer (its status): the counters are brought up to them.
    const totals = [this.consumerAcked, this.consumerFailed, this.consumerRedelivered, this.consumerDeadLettered];
    for (const counter of totals) counter.reset();
    this.consumerStalled.reset();
    for (const status of sources.bus.consumerStatuses()) {
      const consumer = { consumer: status.durable };
      this.consumerAcked.inc(consumer, status.acked);
      this.consumerFailed.inc(consumer, status.failed);
      this.consumerRedelivered.inc(consumer, status.redelivered);
      this.consumerDeadLettered.inc(consumer, status.deadLettered);
      this.consumerStalled.set(consumer, status.state === 'stalled' ? 1 : 0);
    }
    const [pending, lags, postgresUp, busUp] = await Promise.all([
      sources.bus.consumerPending(),
      Promise.all(sources.projections.map((runner) => runner.lag().catch(() => undefined))),
      sources.postgresReachable(),
      sources.bus.reachable(),
    ]);
    this.consumerPending.reset();
    for (const { durable, pending: count } of pending) this.consumerPending.set({ consumer: durable }, count);
    sources.projections.forEach((runner, i) => {
      const projection = { projection: runner.name };
      this.projectionUp.set(projection, runner.state().status === 'running' ? 1 : 0);
      const lag = lags[i];
      if (lag) {
        this.projectionLagEvents.set(projection, lag.events);
        this.projectionLagSeconds.set(projection, lag.seconds);
      } else {
        // Unknown now (Postgres away): no sample, rather than the last one — stale zeros would hide an outage.
        this.projectionLagEvents.remove(projection);
        this.projectionLagSeconds.remove(projection);
      }
      const visibleMs = runner.acceptedToVisible();
      if (visibleMs !== null) this.acceptedToVisible.set(projection, visibleMs / 1_000);
    });
    this.dependencyUp.set({ dependency: 'postgres' }, postgresUp ? 1 : 0);
    this.dependencyUp.set({ dependency: 'bus' }, busUp ? 1 : 0);
    return this.registry.metrics();
  }
}
