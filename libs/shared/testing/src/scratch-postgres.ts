import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, waitUntil } from './ports';

const bin = (name: string) => join(process.env.TALLY_PG_BIN ?? '/usr/lib/postgresql/15/bin', name);

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
const asPostgresUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
};

/**
 * A Postgres server of a test's (or the chaos harness's) own, on its own port and data directory, that
 * the test may stop, kill and restart — the machine's shared Postgres is never touched. Trust auth.
 */
export class ScratchPostgres {
  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  /** A fresh cluster (initdb), started. */
  static async create(options: { port?: number } = {}): Promise<ScratchPostgres> {
    const port = options.port ?? (await freePort());
    const root = mkdtempSync(join(tmpdir(), 'tally-pg-'));
    const dataDir = join(root, 'data');
    const user = asPostgresUser();
    if (user) {
      chownSync(root, user.uid, user.gid);
      chmodSync(root, 0o700);
    }
    execFileSync(
      bin('initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
      {
        stdio: 'ignore',
        ...(user ?? {}),
      },
    );
    const server = new ScratchPostgres(port, dataDir, user);
    await server.start();
    return server;
  }

  /** postgres://postgres@127.0.0.1:<port>/postgres, or another database on the same server. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    // fsync off: a test server's durability across a power cut is not what is tested; its speed is welcome.
    const child = spawn(
      bin('postgres'),
      [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'max_connections=300',
        '-k',
        this.dataDir,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        // Its own process group, so kill() takes the backends down with the postmaster, as a crash of the host would.
        detached: true,
        ...(this.user ?? {}),
      },
    );
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4_000)));
    this.process = child;
    await waitUntil(
      () => this.accepts(),
      30_000,
      () => `scratch Postgres on ${this.port} did not start: ${log}`,
    );
  }

  /** A clean shutdown (SIGINT: fast mode, open sessions are disconnected). */
  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  /** Like a crash of the host: postmaster and backends killed at once, no shutdown checkpoint, sessions cut. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async query<T extends Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const client = new Client({ connectionString: this.url(database) });
    // A test's query may meet this server's own stop: its promise rejects; the client's `error` must not end the run.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async destroy(): Promise<void> {
    await this.signal('SIGKILL').catch(() => undefined);
    rmSync(join(this.dataDir, '..'), { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (signal === 'SIGKILL' && child.pid) process.kill(-child.pid, 'SIGKILL');
    else child.kill(signal);
    await exited;
    this.process = undefined;
    // Killed backends may outlive the postmaster for a moment; a new postmaster refuses while they hold shared memory.
    if (signal === 'SIGKILL')
      await waitUntil(
        async () => !this.backendsAlive(child.pid),
        10_000,
        () => `backends of scratch Postgres on ${this.port} linger`,
      );
  }

  private backendsAlive(groupId: number | undefined): boolean {
    if (!groupId) return false;
    try {
      process.kill(-groupId, 0);
      return true;
    } catch {
      return false;
    }
  }

  private async accepts(): Promise<boolean> {
    const client = new Client({ connectionString: this.url(), connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
