import { inSpan, linksTo, remoteContext, SpanKind } from '@tally/shared/util-telemetry';
import { DataSource, EntityManager } from 'typeorm';
import { EventStore, RecordedEvent, Subscription } from '@tally/shared/data-access-event-store';
import { LedgerEvent, messageOf, sleep } from '@tally/shared/util-core';
import { returnedRows } from './data-source';
import { Leadership } from './leadership';
import { createShadowTables, lockLiveTables, swapInShadowTables } from './shadow-tables';

/**
 * A read model fed from the ledger. `apply` runs inside the runner's transaction, together with
 * the checkpoint, and must be idempotent on its own (ON CONFLICT DO NOTHING, or guarded by what
 * was already applied), so a batch applied twice changes nothing.
 */
/**
 * A projection of the ledger's events of union E (a contract's, or several): the runner reads only the
 * types it names, so `apply` sees events narrowed to E and switches over `event.type` exhaustively.
 */
export interface Projection<E extends LedgerEvent = LedgerEvent> {
  /** Unique within its schema: `<context>_<what>`, e.g. `aggregation_usage_rollup`. */
  name: string;
  /**
   * Names it had before (a rename): the first runner under the new name takes over the checkpoint kept under
   * an old one, so a renamed projection resumes where it was instead of replaying (or re-relaying) the ledger.
   */
  formerNames?: readonly string[];
  /**
   * Whether its lag makes its process unready (default true): a projection that answers the process's
   * queries does. One that must never hold back the process's traffic — intake's event status, relays — does not.
   */
  gatesReadiness?: boolean;
  /** Every type of E (a guard's `types`): what the runner reads from the ledger. */
  eventTypes: readonly E['type'][];
  /** Top-level data fields its `apply` never reads, left out of what the runner reads (ReadAllOptions.omitData). */
  omitData?: readonly string[];
  /**
   * The tables it owns in its schema, and only it writes from the ledger. A rebuild fills copies of
   * them beside the live ones and swaps them in at once. None (a relay): a rebuild replays from the start.
   */
  tables: readonly string[];
  /**
   * Rows of its tables that another writer keeps (not derived from the ledger), copied from one schema's
   * tables into the other's: when a rebuild starts, and again inside the swap. Must be idempotent.
   */
  carryOver?(tx: EntityManager, from: string, to: string): Promise<void>;
  apply(tx: EntityManager, events: readonly RecordedEvent<E>[]): Promise<void>;
  /** When the usage in this event was accepted at intake, if it carries that: what freshness is measured from. */
  acceptedAt?(event: RecordedEvent<E>): string | undefined;
}

/** A projection over the tables of one schema: the live schema, or a rebuild's. */
export type ProjectionDefinition<E extends LedgerEvent = LedgerEvent> = (schema: string) => Projection<E>;

export interface ProjectionStatus {
  name: string;
  /** running: this process applies it; standby: another process holds it; failing: the last batch or read failed (retrying). */
  status: 'running' | 'standby' | 'failing' | 'stopped';
  position: string | null;
  /** Events of interest in the ledger after the checkpoint (counted up to 10,000). */
  behind: number;
  /** Wall-clock time of the last committed batch. */
  lastAppliedAt: string | null;
  /** For the newest usage of the last batch: accepted at intake → committed here (visible to queries), in ms. */
  acceptedToVisibleMs: number | null;
  lastError: string | null;
  /** Leadership term of the process that runs it (grows at every takeover). */
  epoch: string | null;
  /** A rebuild was asked for and has not completed (the leader, wherever it runs, works on it). */
  rebuildRequested: boolean;
  /** A rebuild under way in this process: how far the copies have got. Readers still see the live tables. */
  rebuilding: { since: string; position: string | null } | null;
}

/** A writer that lost its leadership tried to commit: its transaction was refused. */
export class FencedError extends Error {
  constructor(projection: string, epoch: bigint) {
    super(`projection ${projection}: leadership term ${epoch} is over; another process runs it now`);
    this.name = 'FencedError';
  }
}

const checkpointsDdl = (schema: string) => `
  create table if not exists "${schema}".projection_checkpoints (
    name text primary key, position bigint not null, updated_at timestamptz not null default now());
  -- Tables made before leadership terms and rebuild requests existed; checked first, as ALTER locks the table.
  do $$ begin
    if not exists (select 1 from information_schema.columns where table_schema = '${schema}' and table_name = 'projection_checkpoints' and column_name = 'rebuilt_at') then
      alter table "${schema}".projection_checkpoints add column if not exists epoch bigint not null default 0,
        add column if not exists rebuild_requested_at timestamptz, add column if not exists rebuilt_at timestamptz;
    end if;
  end $$`;

/**
 * Runs one projection: one writer across processes, rows and checkpoint in one transaction, rebuilds
 * that readers never see half done.
 *
 * - **Leadership** (Leadership: a session advisory lock) elects one runner; the others stand by and take
 *   over within about a second when it dies, its connection drops or Postgres restarts.
 * - **Fencing**: each election bumps the checkpoint row's epoch; every batch starts by updating that row
 *   *where epoch = mine*, which fails for a deposed leader and row-locks it for the rest of the
 *   transaction, so a takeover waits for a batch in flight and no two writers ever commit interleaved.
 * - **Rebuild**: requested in the checkpoint row (from any process); the leader builds copies of the
 *   projection's tables from the ledger while the live ones keep answering and advancing, pauses the
 *   live subscription, catches the copies up to the ledger head and swaps them in with the checkpoint
 *   in one transaction. A rebuild cut short (crash, lost leadership) starts over under the next leader.
 */
export class ProjectionRunner {
  readonly projection: Projection;
  private readonly leadership: Leadership;
  private term?: { epoch: bigint; signal: AbortSignal };
  private subscription?: Subscription;
  private stopped = true;
  private checkpointsExist = false;
  private lastAppliedAt: Date | null = null;
  private acceptedToVisibleMs: number | null = null;
  private lastError: string | null = null;
  private rebuilding: { since: Date; position: bigint | null } | null = null;

  constructor(
    private readonly definition: ProjectionDefinition,
    private readonly dataSource: DataSource,
    private readonly store: EventStore,
    private readonly options: {
      connectionString: string;
      schema: string;
      onError?: (error: unknown) => void;
      /** After each applied batch: how many events, in how many seconds (the apply-duration metric). */
      onApplied?: (projection: string, events: number, seconds: number) => void;
      batchSize?: number;
      /** Events per transaction while a rebuild fills the copies (default: batchSize). */
      rebuildBatchSize?: number;
    },
  ) {
    this.projection = definition(options.schema);
    this.leadership = new Leadership({
      connectionString: options.connectionString,
      key: `${options.schema}.projection.${this.projection.name}`,
      onError: (error) => this.report(error),
    });
  }

  get name(): string {
    return this.projection.name;
  }

  private get table(): string {
    return `"${this.options.schema}".projection_checkpoints`;
  }

  /** Resolves once this runner leads and is reading, or is stopped; standbys keep campaigning in the background. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.leadership.start((term) => this.lead(term)).elected;
    while (!this.term && !this.stopped) await sleep(10);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.leadership.stop();
  }

  /** One term as leader: claim the epoch, follow the ledger, serve rebuild requests, until the term ends. */
  private async lead(signal: AbortSignal): Promise<void> {
    try {
      const { epoch, position } = await this.retrying(signal, () => this.claim());
      if (signal.aborted) return;
      this.term = { epoch, signal };
      this.follow(position);
      while (!signal.aborted) {
        await sleep(rebuildPollMs, signal);
        if (signal.aborted) break;
        if (await this.rebuildRequested().catch(() => false))
          await this.rebuildInTerm(epoch, signal).catch((error) => {
            this.report(error);
            if (error instanceof FencedError) this.leadership.resign();
          });
        // A rebuild that failed half-way left the live subscription paused: resume it where the checkpoint is.
        if (!this.subscription && !signal.aborted) this.follow(await this.retrying(signal, () => this.checkpoint()));
      }
    } finally {
      await this.subscription?.stop();
      this.subscription = undefined;
      this.term = undefined;
      this.rebuilding = null;
    }
  }

  /** A new term: the epoch grows (fencing the previous leader) and the checkpoint is read under it. */
  private async claim(): Promise<{ epoch: bigint; position: bigint | undefined }> {
    await this.dataSource.transaction(async (tx) => {
      // Several runners of one app start together; concurrent CREATE TABLE IF NOT EXISTS can still collide.
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.options.schema}.projection_checkpoints`]);
      await tx.query(checkpointsDdl(this.options.schema));
      const former = this.projection.formerNames ?? [];
      if (former.length > 0)
        await tx.query(
          `update ${this.table} set name = $1 where name = any($2::text[])
             and not exists (select 1 from ${this.table} where name = $1)`,
          [this.name, former],
        );
    });
    this.checkpointsExist = true;
    const [row]: { epoch: string; position: string }[] = await this.dataSource.query(
      `insert into ${this.table} (name, position, epoch) values ($1, -1, 1)
       on conflict (name) do update set epoch = projection_checkpoints.epoch + 1 returning epoch::text, position::text`,
      [this.name],
    );
    return { epoch: BigInt(row.epoch), position: row.position === '-1' ? undefined : BigInt(row.position) };
  }

  private follow(after: bigint | undefined): void {
    this.subscription = this.store.subscribeToAll({
      after,
      eventTypes: this.projection.eventTypes,
      omitData: this.projection.omitData,
      maxCount: this.options.batchSize ?? 1_000,
      handle: (events) => this.applyBatch(events),
      onError: (error) => {
        this.report(error);
        // Another process leads now: end this term (it campaigns again as a standby).
        if (error instanceof FencedError) this.leadership.resign();
      },
      onHealthy: () => (this.lastError = null),
    });
  }

  /** Applies a batch and moves the checkpoint in the same, fenced transaction. Public for the idempotency tests. */
  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const term = this.term;
    if (!term) throw new Error(`projection ${this.name} is not led by this process`);
    const position = events[events.length - 1].globalPosition;
    const started = performance.now();
    // In the first event's trace, linked to the others' (at most 32: a rebuild's batches are large).
    const span = {
      kind: SpanKind.CONSUMER,
      attributes: { 'tally.projection': this.name, 'tally.events': events.length },
      parent: remoteContext(events[0].metadata),
      links: linksTo(events.slice(1, 33).map((e) => e.metadata)),
    };
    await inSpan(`projection apply ${this.name}`, span, () => this.applyFenced(term.epoch, position, events));
    this.options.onApplied?.(this.name, events.length, (performance.now() - started) / 1_000);
    this.lastAppliedAt = new Date();
    this.lastError = null;
    const accepted = events.map((e) => this.projection.acceptedAt?.(e)).filter((t): t is string => t !== undefined);
    if (accepted.length > 0)
      this.acceptedToVisibleMs = this.lastAppliedAt.getTime() - Math.max(...accepted.map((t) => Date.parse(t)));
  }

  private async applyFenced(epoch: bigint, position: bigint, events: readonly RecordedEvent[]): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      // First statement: fence and row-lock. greatest(): replaying an older batch never moves the checkpoint backwards.
      const moved = returnedRows(
        await tx.query(
          `update ${this.table} set position = greatest(position, $3), updated_at = now() where name = $1 and epoch = $2 returning 1`,
          [this.name, epoch.toString(), position.toString()],
        ),
      );
      if (moved.length === 0) throw new FencedError(this.name, epoch);
      await this.projection.apply(tx, events);
    });
  }

  async checkpoint(): Promise<bigint | undefined> {
    // Right after start-up the table may not exist yet (the leader creates it): no position yet, not a failure.
    if (!this.checkpointsExist) {
      const [{ present }] = await this.dataSource.query(`select to_regclass($1) is not null as present`, [this.table]);
      if (!present) return undefined;
      this.checkpointsExist = true;
    }
    const rows: { position: string }[] = await this.dataSource.query(
      `select position::text from ${this.table} where name = $1`,
      [this.name],
    );
    return rows[0] && rows[0].position !== '-1' ? BigInt(rows[0].position) : undefined;
  }

  /**
   * Asks for a rebuild (any process may: the leader picks it up within a second). The live tables keep
   * answering until the rebuilt ones replace them in one transaction.
   */
  async requestRebuild(): Promise<Date> {
    const [row]: { requested: Date }[] = await this.dataSource.query(
      `insert into ${this.table} (name, position, rebuild_requested_at) values ($1, -1, clock_timestamp())
       on conflict (name) do update set rebuild_requested_at = clock_timestamp() returning rebuild_requested_at as requested`,
      [this.name],
    );
    return row.requested;
  }

  /** Requests a rebuild and waits until the rebuilt tables are live. */
  async rebuild(timeoutMs = 600_000): Promise<void> {
    const requested = await this.requestRebuild();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row]: { rebuilt_at: Date | null }[] = await this.dataSource.query(
        `select rebuilt_at from ${this.table} where name = $1`,
        [this.name],
      );
      if (row?.rebuilt_at && row.rebuilt_at >= requested) return;
      if (Date.now() > deadline) throw new Error(`projection ${this.name} was not rebuilt within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  private async rebuildRequested(): Promise<boolean> {
    const [row]: { requested: boolean }[] = await this.dataSource.query(
      `select rebuild_requested_at is not null and (rebuilt_at is null or rebuilt_at < rebuild_requested_at) as requested from ${this.table} where name = $1`,
      [this.name],
    );
    return row?.requested ?? false;
  }

  private async rebuildInTerm(epoch: bigint, signal: AbortSignal): Promise<void> {
    const live = this.options.schema;
    const shadow = `${live}_rebuild`;
    const tables = this.projection.tables;
    const copy = this.definition(shadow);
    this.rebuilding = { since: new Date(), position: null };
    try {
      let position: bigint | undefined;
      if (tables.length > 0) {
        await this.dataSource.transaction(async (tx) => {
          await this.fence(tx, epoch);
          await createShadowTables(tx, live, shadow, tables);
          await copy.carryOver?.(tx, live, shadow);
        });
        // Phase 1: the copies catch up while the live tables keep following the ledger.
        position = await this.fill(copy, epoch, undefined, signal);
      }
      // Phase 2: the live subscription pauses; the copies reach the ledger head; one transaction swaps them in.
      // (No tables, as a relay: nothing to show half done, the checkpoint goes back to the start.)
      await this.subscription?.stop();
      this.subscription = undefined;
      if (tables.length > 0) position = await this.fill(copy, epoch, position, signal);
      await this.dataSource.transaction(async (tx) => {
        const rows = returnedRows(
          await tx.query(
            `update ${this.table} set position = $3, rebuilt_at = clock_timestamp(), updated_at = now() where name = $1 and epoch = $2 returning 1`,
            [this.name, epoch.toString(), (position ?? -1n).toString()],
          ),
        );
        if (rows.length === 0) throw new FencedError(this.name, epoch);
        await lockLiveTables(tx, live, tables);
        await this.projection.carryOver?.(tx, live, shadow);
        await swapInShadowTables(tx, live, shadow, tables);
      });
      this.follow(position);
    } finally {
      this.rebuilding = null;
    }
  }

  /** Applies the ledger after `position` to the copies, fenced batch by batch, until nothing is left. */
  private async fill(
    copy: Projection,
    epoch: bigint,
    position: bigint | undefined,
    signal: AbortSignal,
  ): Promise<bigint | undefined> {
    const read = (after: bigint | undefined) =>
      this.store.readAll({
        after,
        maxCount: this.options.rebuildBatchSize ?? this.options.batchSize ?? 1_000,
        eventTypes: this.projection.eventTypes,
        omitData: this.projection.omitData,
      });
    // The next batch is read while this one is applied: reading (Postgres, or decoding the archive here) and
    // writing the copies (Postgres) overlap on two cores instead of taking turns.
    let next = read(position);
    for (;;) {
      const events = await next;
      if (signal.aborted)
        throw new Error(`projection ${this.name}: leadership lost during the rebuild; the next leader starts it again`);
      if (events.length === 0) return position;
      next = read(events[events.length - 1].globalPosition);
      // A read failing while this batch is applied is awaited (and thrown) at the next turn, never left unhandled.
      next.catch(() => undefined);
      await this.dataSource.transaction(async (tx) => {
        await this.fence(tx, epoch);
        await copy.apply(tx, events);
      });
      position = events[events.length - 1].globalPosition;
      if (this.rebuilding) this.rebuilding.position = position;
    }
  }

  private async fence(tx: EntityManager, epoch: bigint): Promise<void> {
    const rows: unknown[] = await tx.query(`select 1 from ${this.table} where name = $1 and epoch = $2 for update`, [
      this.name,
      epoch.toString(),
    ]);
    if (rows.length === 0) throw new FencedError(this.name, epoch);
  }

  /** Waits until the checkpoint has reached the ledger's last event of interest. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const position = await this.checkpoint();
      const pending = await this.store.readAll({
        after: position,
        maxCount: 1,
        eventTypes: this.projection.eventTypes,
      });
      if (pending.length === 0) return;
      if (Date.now() > deadline) throw new Error(`projection ${this.name} did not catch up within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /**
   * Whether the rows reflect the ledger as it was when asked: waits (up to timeoutMs) for the checkpoint to
   * pass the last event of interest the ledger held then. False at once when maxPending or more are waiting
   * (a stalled runner, a backlog): callers that must not act on a partial view (finalizing an invoice) wait.
   * Under steady traffic this holds within milliseconds, where "behind = 0" might never.
   */
  async reachedLedgerHead(timeoutMs = 5_000, maxPending = 1_000): Promise<boolean> {
    const pending = await this.store.readAll({
      after: await this.checkpoint(),
      maxCount: maxPending,
      eventTypes: this.projection.eventTypes,
    });
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

  /** For the newest usage of the last batch applied here: accepted at intake to visible (ms), if any yet. */
  acceptedToVisible(): number | null {
    return this.acceptedToVisibleMs;
  }

  /** This process's view, without a database round trip (readiness). */
  state(): { name: string; status: ProjectionStatus['status'] } {
    return {
      name: this.name,
      status: this.stopped ? 'stopped' : !this.term ? 'standby' : this.lastError ? 'failing' : 'running',
    };
  }

  /** Whether more than `limit` events of interest wait after the checkpoint (counts at most limit + 1 of them). */
  async behindMoreThan(limit: number): Promise<boolean> {
    const position = await this.checkpoint();
    const waiting = await this.store.countAfter({
      after: position,
      limit: limit + 1,
      eventTypes: this.projection.eventTypes,
    });
    return waiting > limit;
  }

  /**
   * How far behind the ledger it is, cheaply (a metrics scrape asks every projection): events of interest
   * after the checkpoint, counted up to 10,000, and the age of the oldest of them (0 s when caught up).
   */
  async lag(): Promise<{ events: number; seconds: number }> {
    const position = await this.checkpoint();
    const [oldest] = await this.store.readAll({ after: position, maxCount: 1, eventTypes: this.projection.eventTypes });
    if (!oldest) return { events: 0, seconds: 0 };
    const events = await this.store.countAfter({
      after: position,
      eventTypes: this.projection.eventTypes,
      limit: 10_000,
    });
    return { events, seconds: Math.max(0, (Date.now() - oldest.recordedAt.getTime()) / 1_000) };
  }

  async status(): Promise<ProjectionStatus> {
    const position = await this.checkpoint();
    const behind = await this.store.countAfter({
      after: position,
      eventTypes: this.projection.eventTypes,
      limit: 10_000,
    });
    const requested = this.checkpointsExist && (await this.rebuildRequested().catch(() => false));
    return {
      ...this.state(),
      position: position?.toString() ?? null,
      behind,
      lastAppliedAt: this.lastAppliedAt?.toISOString() ?? null,
      acceptedToVisibleMs: this.acceptedToVisibleMs,
      lastError: this.lastError,
      epoch: this.term?.epoch.toString() ?? null,
      rebuildRequested: requested,
      rebuilding: this.rebuilding && {
        since: this.rebuilding.since.toISOString(),
        position: this.rebuilding.position?.toString() ?? null,
      },
    };
  }

  private report(error: unknown): void {
    this.lastError = messageOf(error);
    this.options.onError?.(error);
  }

  /** Runs a step until it succeeds or the term ends (the database may be away when a term begins). */
  private async retrying<T>(signal: AbortSignal, step: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        this.report(error);
        if (signal.aborted) throw error;
        await sleep(Math.min(5_000, 250 * 2 ** attempt), signal);
      }
    }
  }
}

const rebuildPollMs = 1_000;
