import { Client } from 'pg';
import { openClient } from '@tally/shared/data-access-pg-client';
import { sleep } from '@tally/shared/util-core';

export interface LeadershipOptions {
  connectionString: string;
  /** What is led: one advisory lock per key across every process on the database. */
  key: string;
  onError?: (error: unknown) => void;
  /** How often a standby asks for the lock (failover time is about this plus the leader's death being noticed). */
  retryMs?: number;
  /** How often the leader checks that its lock connection is alive. */
  checkMs?: number;
}

/**
 * Single-writer election on a Postgres session advisory lock, held on a connection of its own. The
 * lock lives exactly as long as that connection: when the leader dies (kill -9), Postgres restarts or
 * the network drops, the connection ends, the lock is released and a standby takes it within retryMs.
 * The leader learns of the loss from the connection's error/end events or its periodic check and ends
 * its term (the signal aborts); it then campaigns again like any standby.
 *
 * The lock elects; it does not fence. A leader that has not yet noticed its loss could still write, so
 * writers also check a term number in the same transaction as their writes (ProjectionRunner's epoch).
 */
export class Leadership {
  private stopping = new AbortController();
  private running?: Promise<void>;
  private leading = false;
  private term?: AbortController;

  constructor(private readonly options: LeadershipOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until stop(): each time this process is elected, `lead` runs with a signal that aborts
   * when the term ends; `lead` must return once it has stopped its work. `elected` resolves at the first
   * election (or at stop()).
   */
  start(lead: (term: AbortSignal) => Promise<void>): { elected: Promise<void> } {
    this.stopping = new AbortController();
    let firstElection!: () => void;
    const elected = new Promise<void>((resolve) => (firstElection = resolve));
    this.stopping.signal.addEventListener('abort', () => firstElection(), { once: true });
    this.running = this.campaign(lead, firstElection);
    return { elected };
  }

  /** Ends the current term (a writer found itself fenced): the lock connection closes and this process campaigns again. */
  resign(): void {
    this.term?.abort();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    this.running = undefined;
  }

  private async campaign(lead: (term: AbortSignal) => Promise<void>, onElected: () => void): Promise<void> {
    const stop = this.stopping.signal;
    // Connection failures in a row (Postgres away): waits grow to 5 s, and only the first is reported.
    let failures = 0;
    while (!stop.aborted) {
      const term = new AbortController();
      this.term = term;
      const endTerm = () => term.abort();
      let client: Client | undefined;
      try {
        client = await openClient(this.options.connectionString, (error) => {
          this.options.onError?.(error);
          endTerm();
        });
        client.on('end', endTerm);
        failures = 0;
        stop.addEventListener('abort', endTerm, { once: true });
        // stop() while the connection was opening: the abort fired before anyone listened for it.
        if (stop.aborted) endTerm();
        while (!term.signal.aborted && !(await tryLock(client, this.options.key)))
          await sleep(this.options.retryMs ?? 500, term.signal);
        if (term.signal.aborted) continue;
        this.leading = true;
        onElected();
        const work = lead(term.signal);
        await this.watch(client, term);
        await work;
      } catch (error) {
        if (!stop.aborted && failures++ === 0) this.options.onError?.(error);
        endTerm();
      } finally {
        this.leading = false;
        stop.removeEventListener('abort', endTerm);
        await client?.end().catch(() => undefined);
      }
      if (!stop.aborted)
        await sleep(Math.min(5_000, (this.options.retryMs ?? 500) * 2 ** Math.max(0, failures - 1)), stop);
    }
  }

  /** Until the term ends: a query on the lock connection every checkMs (a half-dead connection fails it). */
  private async watch(client: Client, term: AbortController): Promise<void> {
    while (!term.signal.aborted) {
      await sleep(this.options.checkMs ?? 1_000, term.signal);
      if (term.signal.aborted) return;
      try {
        await client.query({ text: 'select 1', query_timeout: 5_000 } as never);
      } catch (error) {
        this.options.onError?.(error);
        term.abort();
      }
    }
  }
}

const tryLock = async (client: Client, key: string): Promise<boolean> =>
  (await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [key])).rows[0]
    .locked;

/**
 * Runs work only if the lock is free, holding it on a connection of its own for the duration; the signal
 * aborts if that connection is lost (the lock with it), so the work can stop between steps. Undefined
 * when another process holds the lock.
 */
export const whileHoldingLock = async <T>(
  connectionString: string,
  key: string,
  work: (signal: AbortSignal) => Promise<T>,
  onError?: (error: unknown) => void,
): Promise<T | undefined> => {
  const lost = new AbortController();
  const client = await openClient(connectionString, (error) => {
    onError?.(error);
    lost.abort();
  });
  client.on('end', () => lost.abort());
  try {
    if (!(await tryLock(client, key))) return undefined;
    return await work(lost.signal);
  } finally {
    await client.end().catch(() => undefined);
  }
};
