import { Inject, Injectable } from '@nestjs/common';
import { pruneSealed, sealRange } from '@tally/shared/data-access-archive';
import { whileHoldingLock } from '@tally/shared/data-access-postgres';
import { LedgerArchive, Log, LOG, Metrics, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { messageOf } from '@tally/shared/util-core';

/** What one archive pass did (and, when it failed, why: the files it sealed before failing stay sealed). */
export interface ArchivePassReport {
  startedAt: string;
  durationMs: number;
  trigger: 'scheduled' | 'manual';
  /** Rows recorded before this instant (the database's clock − TALLY_ARCHIVE_AFTER_DAYS) were due to be sealed. */
  cutoff: string | null;
  sealedFiles: number;
  sealedRows: number;
  sealedBytes: number;
  /** Files found already written with the same bytes, left by a pass that stopped before its manifest. */
  reusedFiles: number;
  /** Whether this pass pruned (TALLY_ARCHIVE_PRUNE=on). */
  pruning: boolean;
  prunedFiles: number;
  prunedRows: number;
  error: string | null;
}

/** Why a pass did not run: another is running (in this process or another), or the archive is off. */
export type ArchivePassOutcome = ArchivePassReport | 'busy' | 'off';

/**
 * The archive's clock, in the attribution app (the ledger writer's app: one place for what is done to the
 * ledger). Every TALLY_ARCHIVE_INTERVAL_SECONDS — and once at start — it seals the rows recorded more than
 * TALLY_ARCHIVE_AFTER_DAYS ago, then prunes sealed usage files older than TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS
 * when pruning is on. One process at a time: the pass holds an advisory lock on a connection of its own
 * (whileHoldingLock, as billing does); a process that finds it held skips the pass. The lock elects; the
 * manifest fences (archive-concurrent-seal) and each prune is one verified transaction, so even two passes at
 * once could not archive a row twice or lose one. A failed pass (Postgres or the object store away) is logged,
 * counted and tried again at the next tick; it never stops the process.
 */
@Injectable()
export class ArchivePasses {
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private ticking?: Promise<unknown>;
  private running?: Promise<ArchivePassOutcome>;
  private last: ArchivePassReport | null = null;

  constructor(
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(LOG) private readonly log: Log,
    private readonly metrics: Metrics,
  ) {}

  get archive(): LedgerArchive | undefined {
    return this.runtime.archive;
  }

  /** This process's last pass (null before its first, or while another process runs them). */
  get lastPass(): ArchivePassReport | null {
    return this.last;
  }

  start(): void {
    const archive = this.archive;
    if (!archive) return;
    this.stopped = false;
    const tick = (delayMs: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.ticking = this.run('scheduled').finally(() => tick(archive.settings.intervalMs));
      }, delayMs);
    };
    // The first pass right after start: a process restarted more often than the interval still archives.
    tick(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.running;
  }

  /** One pass now, unless one is running (here or in another process): never rejects, a failure is in its report. */
  run(trigger: ArchivePassReport['trigger']): Promise<ArchivePassOutcome> {
    const archive = this.archive;
    if (!archive) return Promise.resolve('off');
    if (this.running) return Promise.resolve('busy');
    const running = whileHoldingLock(
      this.runtime.connectionString,
      `${archive.ledgerSchema}.archive-pass`,
      (lockLost) => this.pass(archive, trigger, lockLost),
      (error) => this.log.warn({ reason: messageOf(error) }, 'archive lock connection lost'),
    )
      .then((report) => report ?? ('busy' as const))
      .catch((error: unknown) => this.failed(trigger, Date.now(), null, emptyCounts(archive), error))
      .finally(() => (this.running = undefined));
    this.running = running;
    return running;
  }

  /** lockLost aborts when the lock's connection is gone: the seal and the prune stop at their next step. */
  private async pass(
    archive: LedgerArchive,
    trigger: ArchivePassReport['trigger'],
    lockLost: AbortSignal,
  ): Promise<ArchivePassReport> {
    const started = Date.now();
    const counts = emptyCounts(archive);
    let cutoff: Date | null = null;
    try {
      // The ledger's clock, as recorded_at is: an app host's clock that runs ahead cannot seal early.
      const { rows } = await archive.pool.query<{ cutoff: Date }>(
        `select clock_timestamp() - make_interval(secs => $1::float8) as cutoff`,
        [archive.settings.afterDays * 86_400],
      );
      cutoff = rows[0].cutoff;
      const { pool, ledgerSchema, manifest, store } = archive;
      const sealed = await sealRange({ pool, ledgerSchema, manifest, store, cutoff, signal: lockLost });
      counts.sealedFiles = sealed.sealed.length;
      counts.sealedRows = sealed.rows;
      counts.sealedBytes = sealed.bytes;
      counts.reusedFiles = sealed.reused;
      this.metrics.archiveRows.inc({ action: 'sealed' }, sealed.rows);
      this.metrics.archiveSealedBytes.inc(sealed.bytes);
      if (archive.settings.prune) {
        const minSealedAgeMs = archive.settings.pruneMinAgeMs;
        const pruned = await pruneSealed({ pool, ledgerSchema, manifest, store, minSealedAgeMs, signal: lockLost });
        counts.prunedFiles = pruned.files;
        counts.prunedRows = pruned.rows;
        this.metrics.archiveRows.inc({ action: 'pruned' }, pruned.rows);
      }
      this.metrics.archiveSealedThrough.set(Number(await archive.manifest.sealedThrough()));
    } catch (error) {
      return this.failed(trigger, started, cutoff, counts, error);
    }
    const report = { ...this.report(trigger, started, cutoff, counts), error: null };
    this.metrics.archivePasses.inc({ outcome: 'completed' });
    this.last = report;
    this.log.info({ ...report }, 'archive pass');
    return report;
  }

  private failed(
    trigger: ArchivePassReport['trigger'],
    started: number,
    cutoff: Date | null,
    counts: Counts,
    error: unknown,
  ): ArchivePassReport {
    const report = { ...this.report(trigger, started, cutoff, counts), error: messageOf(error) };
    this.metrics.archivePasses.inc({ outcome: 'failed' });
    this.metrics.archiveSealFailures.inc();
    this.last = report;
    this.log.warn(
      { ...report, retryInMs: this.archive?.settings.intervalMs },
      'archive pass failed (tried again at the next)',
    );
    return report;
  }

  private report(
    trigger: ArchivePassReport['trigger'],
    started: number,
    cutoff: Date | null,
    counts: Counts,
  ): Omit<ArchivePassReport, 'error'> {
    return {
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      trigger,
      cutoff: cutoff?.toISOString() ?? null,
      ...counts,
    };
  }
}

type Counts = Pick<
  ArchivePassReport,
  'sealedFiles' | 'sealedRows' | 'sealedBytes' | 'reusedFiles' | 'pruning' | 'prunedFiles' | 'prunedRows'
>;

const emptyCounts = (archive: LedgerArchive): Counts => ({
  sealedFiles: 0,
  sealedRows: 0,
  sealedBytes: 0,
  reusedFiles: 0,
  pruning: archive.settings.prune,
  prunedFiles: 0,
  prunedRows: 0,
});
