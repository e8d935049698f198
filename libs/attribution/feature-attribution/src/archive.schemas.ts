import { Instant, z } from '@tally/shared/feature-runtime';

const count = z.int().min(0);

export const ArchivePass = z
  .object({
    startedAt: Instant,
    durationMs: count,
    trigger: z
      .enum(['scheduled', 'manual'])
      .meta({ description: 'the archive clock, or POST /v1/admin/archive/passes' }),
    cutoff: Instant.nullable().meta({
      description:
        'rows recorded before this instant were sealed (the ledger’s clock − TALLY_ARCHIVE_AFTER_DAYS); null when the pass failed before reading it',
    }),
    sealedFiles: count,
    sealedRows: count,
    sealedBytes: count,
    reusedFiles: count.meta({ description: 'files found already written with the same bytes by a pass that stopped' }),
    pruning: z.boolean().meta({ description: 'TALLY_ARCHIVE_PRUNE=on: sealed usage files were pruned after sealing' }),
    prunedFiles: count,
    prunedRows: count,
    error: z.string().nullable().meta({
      description:
        'why the pass failed (what it sealed or pruned before failing is counted and stays); null when it completed',
    }),
  })
  .meta({ id: 'ArchivePass' });

export const ArchiveStatus = z
  .object({
    store: z.enum(['filesystem', 's3']),
    sealedThrough: z.string().meta({ description: 'the last ledger position sealed, as digits (0: nothing yet)' }),
    files: count,
    rows: count,
    prunedFiles: count.meta({
      description: 'files whose rows have left the hot ledger: the archive is their only copy',
    }),
    prunedRows: count,
    afterDays: z.number().min(0).meta({ description: 'TALLY_ARCHIVE_AFTER_DAYS, resolved' }),
    intervalSeconds: count,
    prune: z.boolean(),
    lastPass: ArchivePass.nullable().meta({
      description: 'this process’s last pass; null before its first, or while another process runs them',
    }),
  })
  .meta({ id: 'ArchiveStatus' });
