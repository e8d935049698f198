import { ApiDoc } from './openapi';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from './auth';
import { ProjectionCatalog } from './projection-catalog';
import { Health, Liveness, Readiness } from './runtime.schemas';
import { CONFIG, MESSAGE_BUS, POSTGRES, PostgresSettings, TALLY_APPS } from './tokens';
import { MessageBus } from '@tally/shared/data-access-messaging';
import { TallyConfig } from '@tally/shared/util-config';

/**
 * Liveness and readiness, public, naming states and never errors (those are on the admin endpoints):
 * - `/health/live`: 200 while the process runs and answers — restart it only when this fails;
 * - `/health`: 200, saying `degraded` when a dependency is down or work is stalled;
 * - `/health/ready`: 503 while degraded or while a projection of this process that answers its queries is
 *   more than TALLY_READY_MAX_BEHIND_EVENTS behind the ledger — stop routing queries here until it caught up.
 *   Intake's event-status view and the relays never hold back readiness (intake keeps accepting).
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(POSTGRES) private readonly postgres: PostgresSettings,
    @Inject(TALLY_APPS) private readonly apps: readonly string[],
    private readonly projections: ProjectionCatalog,
  ) {}

  @ApiDoc({
    summary: 'Health, as a document',
    responses: { 200: { description: 'always 200; `status` says ok or degraded', schema: Health } },
  })
  @Get()
  @Public()
  health() {
    return this.report();
  }

  @ApiDoc({
    summary: 'Liveness',
    responses: { 200: { description: 'the process runs and answers', schema: Liveness } },
  })
  @Get('live')
  @Public()
  live() {
    return { status: 'live', apps: this.apps };
  }

  @ApiDoc({
    summary: 'Readiness (Postgres, NATS, consumers, projection lag)',
    responses: {
      200: { description: 'ready: `status` is ok', schema: Readiness },
      503: {
        description: 'not ready (degraded, or a projection lags): the same document, not a problem, `status` degraded',
        schema: Readiness,
      },
    },
  })
  @Get('ready')
  @Public()
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = await this.report();
    const limit = this.config.TALLY_READY_MAX_BEHIND_EVENTS;
    const lagging = limit > 0 && report.checks.postgres === 'up' ? await this.projections.lagging(limit) : [];
    const status = report.status === 'ok' && lagging.length === 0 ? 'ok' : 'degraded';
    if (status !== 'ok') void reply.status(503);
    return { ...report, status, laggingProjections: lagging };
  }

  private async report() {
    const [postgres, bus] = await Promise.all([this.postgres.reachable(), this.bus.reachable()]);
    const stalled = this.bus
      .consumerStatuses()
      .filter((c) => c.state === 'stalled')
      .map((c) => c.durable);
    const failing = this.projections
      .states()
      .filter((p) => p.status === 'failing')
      .map((p) => p.name);
    return {
      status: postgres && bus && stalled.length === 0 && failing.length === 0 ? 'ok' : 'degraded',
      apps: this.apps,
      ledger: this.config.KURRENTDB_URL ? 'kurrentdb' : 'postgres',
      bus: this.bus.kind,
      checks: { postgres: postgres ? 'up' : 'down', bus: bus ? 'up' : 'down' },
      stalledConsumers: stalled,
      failingProjections: failing,
    };
  }
}
