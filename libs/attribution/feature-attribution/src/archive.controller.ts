import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiDoc, OperatorOnly, ProblemException, problemType } from '@tally/shared/feature-runtime';
import { ArchivePasses } from './archive-passes';
import { ArchivePass, ArchiveStatus } from './archive.schemas';

const archiveOff = () =>
  new ProblemException({
    type: problemType('archive-off'),
    title: 'Archive off',
    // Not a 5xx: nothing failed, there is no archive here to show or to seal into (as a 404 is for a resource).
    status: 404,
    detail:
      'this installation keeps no archive (TALLY_ARCHIVE=off, or unset beside an operator’s Postgres or KurrentDB): see docs/storage.md',
  });

/**
 * The ledger's archive tier (docs/storage.md): what is sealed and pruned, and a pass on demand. Operator-only:
 * the archive spans every tenant. Served by the attribution app, which runs the passes.
 */
@Controller('v1/admin/archive')
export class ArchiveController {
  constructor(private readonly passes: ArchivePasses) {}

  @ApiDoc({
    summary: 'The archive: what is sealed and pruned, and the last pass',
    responses: { 200: { description: 'the manifest in figures and the settings', schema: ArchiveStatus } },
  })
  @Get()
  @OperatorOnly()
  async status() {
    const archive = this.passes.archive;
    if (!archive) throw archiveOff();
    const summary = await archive.manifest.summary();
    return {
      store: archive.settings.store,
      sealedThrough: summary.sealedThrough.toString(),
      files: summary.files,
      rows: summary.rows,
      prunedFiles: summary.prunedFiles,
      prunedRows: summary.prunedRows,
      afterDays: archive.settings.afterDays,
      intervalSeconds: archive.settings.intervalMs / 1_000,
      prune: archive.settings.prune,
      lastPass: this.passes.lastPass,
    };
  }

  /** The scheduled pass, now: seal, then prune if on. 409 while one runs (here or in another process). */
  @ApiDoc({
    summary: 'Run an archive pass now (seal, then prune if on)',
    responses: { 200: { description: 'what the pass did', schema: ArchivePass } },
  })
  @Post('passes')
  @OperatorOnly()
  @HttpCode(200)
  async pass(@Body() _body: unknown) {
    const outcome = await this.passes.run('manual');
    if (outcome === 'off') throw archiveOff();
    if (outcome === 'busy')
      throw new ProblemException({
        type: problemType('archive-pass-busy'),
        title: 'Archive pass busy',
        status: 409,
        detail: 'an archive pass is running right now (in this process or another); try again shortly',
      });
    if (outcome.error)
      throw new ProblemException({
        type: problemType('archive-pass-failed'),
        title: 'Archive pass failed',
        status: 503,
        detail: `the archive pass failed and is tried again at the next one (GET /v1/admin/archive shows what it did): ${outcome.error}`,
      });
    return outcome;
  }
}
