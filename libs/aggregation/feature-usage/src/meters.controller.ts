import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { validateMeter } from '@tally/aggregation/domain';
import { MeterTables } from '@tally/aggregation/data-access-rollups';
import { badRequest, notFound, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { MetersService } from './meters.service';
import { AGGREGATION_DB, METER_TABLES } from './tokens';

/** OpenMeter-compatible meters: POST/GET/DELETE /api/v1/meters. Slug and definition are immutable. */
@Controller()
export class MetersController {
  constructor(
    private readonly meters: MetersService,
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(METER_TABLES) private readonly tables: MeterTables,
  ) {}

  @Post('api/v1/meters')
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const checked = validateMeter(body);
    if (!checked.ok) throw badRequest('the meter is invalid', checked.errors);
    const { created, meter } = await this.meters.create(checked.meter);
    void reply.status(created ? 201 : 200);
    return meter;
  }

  /** Live meters (the catalogue follows the ledger within moments of a change). */
  @Get('api/v1/meters')
  async list() {
    return (await this.tables.active(this.db, this.runtime.tenant)).map((m) => ({ id: m.slug, ...m }));
  }

  @Get('api/v1/meters/:slug')
  async meter(@Param('slug') slug: string) {
    const meter = await this.meters.meter(slug);
    if (!meter) throw notFound(`no meter ${slug}`);
    return meter;
  }

  @Delete('api/v1/meters/:slug')
  @HttpCode(204)
  async delete(@Param('slug') slug: string): Promise<void> {
    await this.meters.delete(slug);
  }

  /** Usage whose event type no meter measures: kept in the ledger and counted here, so nothing is silently unbilled. */
  @Get('v1/unmetered-event-types')
  async unmetered() {
    return { items: await this.tables.unmeteredEventTypes(this.db, this.runtime.tenant) };
  }
}
