import { Readable } from 'node:stream';
import { Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { exportFileName, exportMediaTypes, parseUsageExportQuery } from '@tally/aggregation/domain';
import { RollupTables, usageExportChunks } from '@tally/aggregation/data-access-usage';
import { ApiDoc, badRequest, notFound, ReadsFrom, RUNTIME, TallyRuntime, Tenancy } from '@tally/shared/feature-runtime';
import { AGGREGATION_DB, EXPORT_POOL, ROLLUP_TABLES } from './tokens';
import { UsageExportCsv, UsageExportParquet, usageExportQuery } from './usage-export.schemas';

const refusalDetail = {
  validation: 'the export query is invalid',
  'reversed-interval': 'the export range ends at or before its start',
  'export-range-too-long': 'the export range is too long',
} as const;

/** GET /v1/exports/usage — the tenant's usage events for finance and data teams, streamed as CSV or Parquet. */
@Controller('v1/exports')
export class UsageExportController {
  constructor(
    private readonly tenancy: Tenancy,
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(ROLLUP_TABLES) private readonly rollups: RollupTables,
    @Inject(EXPORT_POOL) private readonly pool: Pool,
  ) {}

  @ApiDoc({
    summary: 'Export usage events as CSV or Parquet (streamed)',
    description:
      'Every usage event of the tenant (or of one account) whose event time is in [from, to), as it counts now: ' +
      'moves, amendments and voids applied, voided and parked usage left out. Streamed from one snapshot of the ' +
      'usage as it is read, so an export of any size is never held in memory. An answer that breaks off (the ' +
      'database gone mid-way) ends without its last chunk, so a client sees an error, never a shorter file. ' +
      'Saved under the `Content-Disposition` file name, `usage-<tenant>[-<account>]-<from>-<to>.<csv|parquet>`.',
    query: usageExportQuery,
    responses: {
      200: {
        description: 'the export (CSV by default; Parquet with `format=parquet` or its media type in `Accept`)',
        schema: UsageExportCsv,
        contentType: exportMediaTypes.csv,
        alternatives: { [exportMediaTypes.parquet]: UsageExportParquet },
      },
    },
  })
  @Get('usage')
  @ReadsFrom('aggregation_usage_rollup')
  async usage(
    @Query() params: Record<string, unknown>,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const parsed = parseUsageExportQuery(params, accept);
    if (!parsed.ok) throw badRequest(refusalDetail[parsed.code], parsed.errors, parsed.code);
    const { query } = parsed;
    const tenant = this.tenancy.current;
    if (query.accountId !== undefined && !(await this.rollups.account(this.db, tenant, query.accountId)))
      throw notFound(`no account ${query.accountId} (accounts appear here moments after they are opened)`);
    const headers = {
      'content-type': exportMediaTypes[query.format],
      'content-disposition': `attachment; filename="${exportFileName(tenant, query)}"`,
      'cache-control': 'no-store',
    };
    // HEAD (Fastify answers it with the GET route): the headers, without reading a row — Fastify would otherwise
    // read the whole export to throw it away.
    if (reply.request.method === 'HEAD') {
      await reply.headers(headers).send();
      return;
    }
    const chunks = usageExportChunks({
      pool: this.pool,
      schema: this.runtime.schemaFor('aggregation'),
      range: { tenant, from: query.from, to: query.to, accountId: query.accountId },
      format: query.format,
      batchSize: this.runtime.config.TALLY_EXPORT_BATCH_ROWS,
    })[Symbol.asyncIterator]();
    // The first chunk is read before anything is sent: Postgres unreachable at the start is still a 503 problem.
    const first = await chunks.next();
    void reply.headers(headers);
    // One chunk (a batch of rows) buffered at most: the cursor advances as fast as the client reads. An error
    // after the first bytes makes Fastify destroy the socket, so the chunked answer never gets its last chunk.
    const body = Readable.from(resumed(first, chunks), { highWaterMark: 1 });
    // A client gone before the stream's first read never starts `resumed`, whose return would close the export:
    // close it here too (its cursor, its transaction, its pooled connection). Twice is harmless.
    body.once('close', () => void chunks.return?.(undefined)?.catch(() => undefined));
    await reply.send(body);
  }
}

/** The chunks again, from the one already taken. Stopping this early stops (and closes) the export underneath. */
async function* resumed(
  first: IteratorResult<Uint8Array>,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  if (first.done) return;
  yield first.value;
  yield* { [Symbol.asyncIterator]: () => rest };
}
