import { ApiDoc } from './openapi';
import { Body, Controller, Get, Header, HttpCode, Inject, Injectable, Param, Post } from '@nestjs/common';
import { ProjectionRunner, ProjectionStatus } from '@tally/shared/data-access-postgres';
import { OperatorOnly } from './auth';
import { Metrics } from './metrics';
import { notFound } from './problem';
import { z } from './api-schemas';
import { ProjectionList, projectionNameParam, RebuildRequested } from './runtime.schemas';
import { MESSAGE_BUS, POSTGRES, PostgresSettings } from './tokens';
import { MessageBus } from '@tally/shared/data-access-messaging';

/** Every projection running in this process, by name, for the admin endpoints and the CLI. */
@Injectable()
export class ProjectionCatalog {
  private readonly runners = new Map<string, ProjectionRunner>();

  register(name: string, runner: ProjectionRunner): void {
    this.runners.set(name, runner);
  }

  get(name: string): ProjectionRunner {
    const runner = this.runners.get(name);
    if (!runner)
      throw notFound(
        `no projection named ${name} runs in this process; known: ${[...this.runners.keys()].join(', ') || 'none'}`,
      );
    return runner;
  }

  async statuses(): Promise<ProjectionStatus[]> {
    return Promise.all([...this.runners.values()].map((r) => r.status()));
  }

  /**
   * Projections of this process more than `limit` events behind the ledger (a standby's lag is its leader's
   * business). Counts index entries, at most limit + 1 per projection: cheap enough for a readiness probe.
   */
  async lagging(limit: number): Promise<string[]> {
    const runners = [...this.runners.entries()].filter(
      ([, r]) => r.projection.gatesReadiness !== false && r.state().status !== 'standby',
    );
    const behind = await Promise.all(runners.map(([, r]) => r.behindMoreThan(limit).catch(() => true)));
    return runners.filter((_, i) => behind[i]).map(([name]) => name);
  }

  all(): ProjectionRunner[] {
    return [...this.runners.values()];
  }

  /** This process's view of each, without touching the database (readiness). */
  states(): ReturnType<ProjectionRunner['state']>[] {
    return [...this.runners.values()].map((r) => r.state());
  }
}

@Controller('v1/admin/projections')
export class ProjectionsController {
  constructor(private readonly catalog: ProjectionCatalog) {}

  @ApiDoc({
    summary: 'Projections: status, lag, freshness, leadership',
    responses: { 200: { description: 'the projections running in this process', schema: ProjectionList } },
  })
  @Get()
  @OperatorOnly()
  async list() {
    return { projections: await this.catalog.statuses() };
  }

  /**
   * Rebuild = replay the ledger into copies of the projection's tables and swap them in at once; readers see
   * the live tables until then. Answers once requested: the leader of the projection (in whichever process)
   * takes it up within a second; `GET` shows `rebuildRequested` until it is done.
   */
  @ApiDoc({
    summary: 'Rebuild a projection from the ledger',
    params: projectionNameParam,
    responses: { 202: { description: 'requested: its leader takes it up within a second', schema: RebuildRequested } },
  })
  @Post(':name/rebuild')
  @OperatorOnly()
  @HttpCode(202)
  async rebuild(@Param('name') name: string, @Body() _body: unknown) {
    const requestedAt = await this.catalog.get(name).requestRebuild();
    return { name, status: 'rebuild requested', requestedAt: requestedAt.toISOString() };
  }
}

/**
 * Prometheus metrics (operator credential, as a scraper's bearer): see Metrics — the process's own, the
 * counters kept as things happen, and the bus's and projections' gauges read now.
 */
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly catalog: ProjectionCatalog,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(POSTGRES) private readonly postgres: PostgresSettings,
    private readonly metrics: Metrics,
  ) {}

  @ApiDoc({
    summary: 'Prometheus metrics',
    responses: {
      200: {
        description: 'the Prometheus text exposition format',
        contentType: 'text/plain; version=0.0.4',
        schema: z.string(),
      },
    },
  })
  @Get()
  @OperatorOnly()
  @Header('content-type', 'text/plain; version=0.0.4')
  metricsText(): Promise<string> {
    return this.metrics.scrape({
      bus: this.bus,
      projections: this.catalog.all(),
      postgresReachable: () => this.postgres.reachable(),
    });
  }
}
