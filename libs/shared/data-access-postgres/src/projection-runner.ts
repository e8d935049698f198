import { Client } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { EventStore, RecordedEvent, sleep, Subscription } from '@tally/shared/data-access-event-store';

/**
 * A read model fed from the ledger. `apply` runs inside the runner's transaction, together with
 * the checkpoint, and must be idempotent on its own (ON CONFLICT DO NOTHING, or guarded by what
 * was already applied), so a batch applied twice changes nothing.
 */
export interface Projection {
  /** Unique within its schema, e.g. `usage_rollup`. */
  name: string;
  eventTypes: readonly string[];
  apply(tx: EntityManager, events: readonly RecordedEvent[]): Promise<void>;
  /** Deletes every row the projection owns (rebuild starts from here). */
  reset(tx: EntityManager): Promise<void>;
  /** When the usage in this event was accepted at intake, if it carries that: what freshness is measured from. */
  acceptedAt?(event: RecordedEvent): string | undefined;
}

export interface ProjectionStatus {
  name: string;
  /** running: this process applies it; standby: another process holds it; failing: the last batch failed (retrying). */
  status: 'running' | 'standby' | 'failing' | 'stopped';
  position: string | null;
  /** Events of interest in the ledger after the checkpoint (counted up to 10,000). */
  behind: number;
  /** Wall-clock time of the last committed batch. */
  lastAppliedAt: string | null;
  /** For the newest usage of the last batch: accepted at intake → committed here (visible to queries), in ms. */
  acceptedToVisibleMs: number | null;
  lastError: string | null;
}

const checkpointsDdl = (schema: string) =>
  `create table if not exists "${schema}".projection_checkpoints (
     name text primary key, position bigint not null, updated_at timestamptz not null default now())`;

/**
 * Runs one projection: exactly one runner per projection across processes (a session advisory
 * lock; the others wait as standbys), rows and checkpoint in one transaction, rebuild = reset + replay.
 */
export class ProjectionRunner {
  private subscription?: Subscription;
  private lockClient?: Client;
  private stopped = false;
  private starting?: Promise<void>;
  private lastAppliedAt: Date | null = null;
  private acceptedToVisibleMs: number | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly projection: Projection,
    private readonly dataSource: DataSource,
    private readonly store: EventStore,
    private readonly options: { connectionString: string; schema: string; onError?: (error: unknown) => void; batchSize?: number },
  ) {}

  /**
   * Resolves once this runner holds the lock and is reading; standbys keep trying in the background.
   * A failure to start (database away) is reported and retried, never dropped.
   */
  private checkpointsExist = false;

  start(): Promise<void> {
    this.stopped = false;
    this.starting ??= this.startWithRetries();
    return this.starting;
  }

  private async startWithRetries(): Promise<void> {
    while (!this.stopped) {
      try {
        return await this.acquireAndRun();
      } catch (error) {
        this.options.onError?.(error);
        await this.lockClient?.end().catch(() => undefined);
        this.lockClient = undefined;
        await sleep(1_000);
      }
    }
  }

  private async acquireAndRun(): Promise<void> {
    // Several runners of one app start together; concurrent CREATE TABLE IF NOT EXISTS can still collide.
    await this.dataSource.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.options.schema}.projection_checkpoints`]);
      await tx.query(checkpointsDdl(this.options.schema));
    });
    const client = new Client({ connectionString: this.options.connectionString });
    await client.connect();
    client.on('error', (error) => this.options.onError?.(error));
    this.lockClient = client;
    while (!this.stopped) {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [this.lockKey()]);
      if (rows[0].locked) break;
      await sleep(1_000);
    }
    if (this.stopped) return;
    this.subscribe(await this.checkpoint());
  }

  private subscribe(after: bigint | undefined): void {
    this.subscription = this.store.subscribeToAll({
      after,
      eventTypes: this.projection.eventTypes,
      maxCount: this.options.batchSize ?? 1_000,
      handle: (events) => this.applyBatch(events),
      onError: (error) => {
        this.lastError = String((error as Error)?.message ?? error);
        this.options.onError?.(error);
      },
    });
  }

  /** Applies a batch and moves the checkpoint in the same transaction. Public for the idempotency tests. */
  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const position = events[events.length - 1].globalPosition.toString();
    await this.dataSource.transaction(async (tx) => {
      await this.projection.apply(tx, events);
      // greatest(): replaying an older batch never moves the checkpoint backwards.
      await tx.query(
        `insert into "${this.options.schema}".projection_checkpoints (name, position) values ($1, $2)
         on conflict (name) do update set position = greatest(projection_checkpoints.position, excluded.position), updated_at = now()`,
        [this.projection.name, position],
      );
    });
    this.lastAppliedAt = new Date();
    this.lastError = null;
    const accepted = events.map((e) => this.projection.acceptedAt?.(e)).filter((t): t is string => t !== undefined);
    if (accepted.length > 0) this.acceptedToVisibleMs = this.lastAppliedAt.getTime() - Math.max(...accepted.map((t) => Date.parse(t)));
  }

  async checkpoint(): Promise<bigint | undefined> {
    // Right after start-up the table may not exist yet (the runner creates it): no position yet, not a failure.
    if (!this.checkpointsExist) {
      const [{ present }] = await this.dataSource.query(`select to_regclass($1) is not null as present`, [`"${this.options.schema}".projection_checkpoints`]);
      if (!present) return undefined;
      this.checkpointsExist = true;
    }
    const rows: { position: string }[] = await this.dataSource.query(`select position from "${this.options.schema}".projection_checkpoints where name = $1`, [this.projection.name]);
    return rows[0] ? BigInt(rows[0].position) : undefined;
  }

  /** Drops the projection's rows and checkpoint and replays the whole ledger. */
  async rebuild(): Promise<void> {
    if (!this.lockClient) throw new Error(`projection ${this.projection.name} is not running in this process`);
    await this.subscription?.stop();
    await this.dataSource.transaction(async (tx) => {
      await this.projection.reset(tx);
      await tx.query(`delete from "${this.options.schema}".projection_checkpoints where name = $1`, [this.projection.name]);
    });
    this.subscribe(undefined);
  }

  /** Waits until the checkpoint has reached the ledger's last event of interest. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const position = await this.checkpoint();
      const pending = await this.store.readAll({ after: position, maxCount: 1, eventTypes: this.projection.eventTypes });
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new Error(`projection ${this.projection.name} did not catch up within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /**
   * Whether the rows reflect the ledger as it was when asked: waits (up to timeoutMs) for the checkpoint to
   * pass the last event of interest the ledger held then. False at once when maxPending or more are waiting
   * (a rebuild, a stalled runner): callers that must not act on a partial view (finalizing an invoice) wait.
   * Under steady traffic this holds within milliseconds, where "behind = 0" might never.
   */
  async reachedLedgerHead(timeoutMs = 5_000, maxPending = 1_000): Promise<boolean> {
    const pending = await this.store.readAll({ after: await this.checkpoint(), maxCount: maxPending, eventTypes: this.projection.eventTypes });
    if (pending.length === 0) return true;
    if (pending.length >= maxPending) return false;
    const target = pending[pending.length - 1].globalPosition;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() <= deadline) {
      if (((await this.checkpoint()) ?? -1n) >= target) return true;
      await sleep(20);
    }
    return false;
  }

  async status(): Promise<ProjectionStatus> {
    const position = await this.checkpoint();
    const behind = (await this.store.readAll({ after: position, maxCount: 10_000, eventTypes: this.projection.eventTypes })).length;
    const status = this.stopped ? 'stopped' : !this.subscription ? 'standby' : this.lastError ? 'failing' : 'running';
    return {
      name: this.projection.name,
      status,
      position: position?.toString() ?? null,
      behind,
      lastAppliedAt: this.lastAppliedAt?.toISOString() ?? null,
      acceptedToVisibleMs: this.acceptedToVisibleMs,
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    this.subscription = undefined;
    await this.lockClient?.end().catch(() => undefined);
    this.lockClient = undefined;
    this.starting = undefined;
  }

  private lockKey(): string {
    return `${this.options.schema}.projection.${this.projection.name}`;
  }
}
