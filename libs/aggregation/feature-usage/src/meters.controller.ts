import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { validateMeter, validateMeterUpdate } from '@tally/aggregation/domain';
import { maxListedValues, MeterTables, MeterValue } from '@tally/aggregation/data-access-usage';
import { ApiDoc, badRequest, notFound, ReadOnly, ReadsFrom, Tenancy, z } from '@tally/shared/feature-runtime';
import { MetersService } from './meters.service';
import { openMeterMeter, openMeterQueryJson, pageOfMeters } from './openmeter-presentation';
import { MeterQueryService } from './meter-query.service';
import { AGGREGATION_DB, METER_TABLES } from './tokens';
import {
  Meter,
  MeterList,
  MeterQueryResult,
  MeterRequest,
  UnmeteredEventTypes,
  groupByValuesParams,
  listingRange,
  meterListQuery,
  MeterQueryBody,
  MeterUpdateRequest,
  MeterQueryRequest,
  queryParamsOf,
  meterQuery,
  slugParam,
} from './usage.schemas';

/** OpenMeter-compatible meters under /api/v1/meters. What a meter measures never changes; its name, description, metadata and group-by keys (added) may. */
@Controller()
export class MetersController {
  constructor(
    private readonly meters: MetersService,
    private readonly meterQuery: MeterQueryService,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(METER_TABLES) private readonly tables: MeterTables,
  ) {}

  @ApiDoc({
    summary: 'Create a meter',
    body: MeterRequest,
    responses: {
      201: { description: 'created (or the same definition was there already: the meter as it is)', schema: Meter },
    },
  })
  @Post('api/v1/meters')
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const checked = validateMeter(body);
    if (!checked.ok) throw badRequest('the meter is invalid', checked.errors);
    // Creating the same definition again is a no-op answered like the first time (201: the only success
    // OpenMeter's createMeter declares), with the meter as it is.
    const { meter } = await this.meters.create(checked.meter);
    void reply.status(201);
    return meter && openMeterMeter(meter);
  }

  /** Meters (the catalogue follows the ledger within moments of a change), ordered and paged as OpenMeter's. */
  @ApiDoc({
    summary: 'List meters',
    query: meterListQuery,
    responses: { 200: { description: 'a page of meters, by slug unless ordered otherwise', schema: MeterList } },
  })
  @Get('api/v1/meters')
  @ReadsFrom('aggregation_meters')
  async list(@Query() params: Record<string, string | undefined>) {
    // The query's schema (meterListQuery) has checked each parameter before this runs.
    const meters = (await this.meters.list(params.includeDeleted === 'true')).map(openMeterMeter);
    return pageOfMeters(meters, {
      page: Number(params.page ?? 1),
      pageSize: Number(params.pageSize ?? 100),
      order: params.order === 'DESC' ? 'DESC' : 'ASC',
      orderBy: (params.orderBy ?? 'key') as 'key',
    });
  }

  @ApiDoc({
    summary: 'A meter',
    params: slugParam,
    responses: { 200: { description: 'the meter', schema: Meter } },
  })
  @Get('api/v1/meters/:slug')
  @ReadsFrom('aggregation_meters')
  async meter(@Param('slug') slug: string) {
    const meter = await this.meters.find(slug);
    if (!meter) throw notFound(`no meter ${slug}`);
    return openMeterMeter(meter);
  }

  /**
   * OpenMeter-compatible query: GET /api/v1/meters/{slug}/query?from&to&windowSize&windowTimeZone&subject&groupBy&filterGroupBy[key]
   * (+ accountId). JSON `{from, to, windowSize, data: [{value, windowStart, windowEnd, subject, groupBy}]}`,
   * or CSV with `Accept: text/csv`. Values are exact decimal strings.
   */
  @ApiDoc({
    summary: 'Query a meter: values by window, subject and group (JSON or CSV)',
    description:
      'Filter by a group-by value with `filterGroupBy[key]=value` (repeated: any of the values), by conditions ' +
      'with `advancedMeterGroupByFilters` (a JSON object: key → `{"$in": [...]}`, `$eq`, `$ne`, `$like`, `$and`, ' +
      '`$or` …), by accounts with `filterCustomerId` (a customer is an account). `clientId` is accepted and unused. ' +
      'With `Accept: text/csv` the answer is CSV (`text/csv; charset=utf-8`): a header ' +
      '`window_start,window_end,subject,<group-by keys>,value`, then one line per value. Values are exact ' +
      'decimals written as JSON numbers with every digit.',
    params: slugParam,
    query: meterQuery,
    responses: {
      200: {
        description: 'values by window, subject and group (CSV with `Accept: text/csv`, see above)',
        schema: MeterQueryResult,
        alternatives: { 'text/csv': z.string().meta({ description: 'window_start,window_end,subject,<keys>,value' }) },
      },
    },
  })
  @Get('api/v1/meters/:slug/query')
  @ReadsFrom('aggregation_usage_rollup')
  async query(
    @Param('slug') slug: string,
    @Query() params: Record<string, string | string[] | undefined>,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.answerQuery(slug, params, accept, reply);
  }

  @ApiDoc({
    summary: 'Query a meter with the query in the body (OpenMeter’s queryMeterPost)',
    description:
      'The same query as `GET …/query`, asked in a JSON body: `filterGroupBy` takes several values per key (any ' +
      'of them), `advancedMeterGroupByFilters` an object. JSON or CSV by `Accept`, as the GET.',
    params: slugParam,
    body: MeterQueryRequest,
    responses: {
      200: {
        description: 'values by window, subject and group',
        schema: MeterQueryResult,
        alternatives: { 'text/csv': z.string().meta({ description: 'window_start,window_end,subject,<keys>,value' }) },
      },
    },
  })
  @Post('api/v1/meters/:slug/query')
  @ReadOnly()
  @HttpCode(200)
  @ReadsFrom('aggregation_usage_rollup')
  async queryPost(
    @Param('slug') slug: string,
    @Body() body: MeterQueryBody,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    // The body's schema (MeterQueryRequest) has checked it: it becomes the GET's parameters, read the same way.
    return this.answerQuery(slug, queryParamsOf(body), accept, reply);
  }

  private async answerQuery(
    slug: string,
    params: Record<string, string | string[] | undefined>,
    accept: string | undefined,
    reply: FastifyReply,
  ) {
    const { body, groupBy } = await this.meterQuery.answer(slug, params, 'openmeter');
    // Returned, never sent here: the handler passes the reply through, so Nest sends what it returns — sending it
    // as well had Fastify log FST_ERR_REP_ALREADY_SENT, with its stack, for every JSON query.
    if (!(accept ?? '').includes('text/csv')) {
      void reply.header('content-type', 'application/json');
      return openMeterQueryJson(body);
    }
    void reply.header('content-type', 'text/csv; charset=utf-8');
    return toCsv(
      body.data,
      groupBy.filter((k) => k !== 'subject'),
    );
  }

  @ApiDoc({
    summary: 'The subjects a meter has seen',
    description: 'OpenMeter’s listMeterSubjects: subjects of the usage the meter counts in [from, to], in order.',
    params: slugParam,
    query: listingRange('the beginning of time'),
    responses: { 200: { description: `the subjects (at most ${maxListedValues})`, schema: z.array(z.string()) } },
  })
  @Get('api/v1/meters/:slug/subjects')
  @ReadsFrom('aggregation_usage_rollup')
  async subjects(@Param('slug') slug: string, @Query() params: Record<string, string | undefined>) {
    return this.meterQuery.subjects(slug, params);
  }

  @ApiDoc({
    summary: 'The values a meter has seen for one of its group-by keys',
    description: 'OpenMeter’s listMeterGroupByValues: values of the key in the usage the meter counts in [from, to].',
    params: groupByValuesParams,
    query: listingRange('24 hours before now'),
    responses: { 200: { description: `the values (at most ${maxListedValues})`, schema: z.array(z.string()) } },
  })
  @Get('api/v1/meters/:slug/group-by/:key/values')
  @ReadsFrom('aggregation_usage_rollup')
  async groupByValues(
    @Param('slug') slug: string,
    @Param('key') key: string,
    @Query() params: Record<string, string | undefined>,
  ) {
    return this.meterQuery.groupByValues(slug, key, params);
  }

  @ApiDoc({
    summary: 'Update a meter: its name, description, metadata, new group-by keys (OpenMeter’s updateMeter)',
    description:
      'Nothing that changes a number the meter has produced: its slug, event type, aggregation, value and existing ' +
      'group-by keys stay (changing or removing a key is refused: create another meter). Fields not given stay.',
    params: slugParam,
    body: MeterUpdateRequest,
    responses: { 200: { description: 'the meter after the update', schema: Meter } },
  })
  @Put('api/v1/meters/:slug')
  async update(@Param('slug') slug: string, @Body() body: unknown) {
    const checked = validateMeterUpdate(body);
    if (!checked.ok) throw badRequest('the meter update is invalid', checked.errors);
    const meter = await this.meters.find(slug);
    if (!meter) throw notFound(`no meter ${slug}`);
    const updated = await this.meters.update(meter.slug, checked.update);
    if (!updated) throw notFound(`no meter ${slug}`);
    return openMeterMeter(updated);
  }

  @ApiDoc({
    summary: 'Delete a meter',
    params: slugParam,
    responses: { 204: { description: 'deleted: the slug can be used again' } },
  })
  @Delete('api/v1/meters/:slug')
  @HttpCode(204)
  async delete(@Param('slug') slug: string): Promise<void> {
    const meter = await this.meters.find(slug);
    await this.meters.delete(meter?.slug ?? slug);
  }

  /** Usage whose event type no meter measures: kept in the ledger and counted here, so nothing is silently unbilled. */
  @ApiDoc({
    summary: 'Event types that no meter measures',
    responses: { 200: { description: 'each such event type, with its usage', schema: UnmeteredEventTypes } },
  })
  @Get('v1/unmetered-event-types')
  @ReadsFrom('aggregation_usage_rollup')
  async unmetered() {
    return { items: await this.tables.unmeteredEventTypes(this.db, this.tenancy.current) };
  }
}

const csvCell = (value: string | null) =>
  value === null ? '' : /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;

const toCsv = (data: readonly MeterValue[], groupKeys: readonly string[]): string =>
  [
    ['window_start', 'window_end', 'subject', ...groupKeys, 'value'].join(','),
    ...data.map((d) =>
      [d.windowStart, d.windowEnd, d.subject, ...groupKeys.map((k) => d.groupBy[k] ?? null), d.value]
        .map(csvCell)
        .join(','),
    ),
  ].join('\n') + '\n';
