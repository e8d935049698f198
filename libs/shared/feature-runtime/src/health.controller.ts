import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from './auth';
import { ProjectionCatalog } from './projection-catalog';
import { CONFIG, MESSAGE_BUS, POSTGRES, PostgresSettings, TALLY_APPS } from './tokens';
import { MessageBus } from '@tally/shared/data-access-messaging';
import { TallyConfig } from '@tally/shared/util-config';

/**
 * Liveness and readiness. `/health` answers 200 while the process runs, saying `degraded` when a
 * dependency is down or work is stalled; `/health/ready` answers 503 then, for load balancers and
 * orchestrators. Public, so it names states, never errors (those are on the admin endpoints).
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

  @Get()
  @Public()
  health() {
    return this.report();
  }

  @Get('ready')
  @Public()
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = await this.report();
    if (report.status !== 'ok') void reply.status(503);
    return report;
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
