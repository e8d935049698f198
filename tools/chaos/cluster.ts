import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, ScratchNats, ScratchPostgres, waitUntil } from '@tally/shared/testing';
import { App, apps, authorizationBlock } from '../nats/permissions';

export { apps };
export type { App };

const root = resolve(__dirname, '..', '..');
export const chaosAdminToken = 'chaos-admin-token-0123456789abcdef';
export const chaosNamespace = 'chaos';

/** One Tally app instance as its own OS process, on a fixed port so that it is found again after a kill -9. */
export class AppProcess {
  private child?: ChildProcess;
  private log?: WriteStream;

  constructor(
    readonly app: App,
    readonly instance: number,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  get name(): string {
    return `${this.app}-${this.instance}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits until it answers /health (it waits for Postgres and NATS itself). */
  async start(): Promise<void> {
    this.log ??= createWriteStream(join(this.logDir, `${this.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['tools/run-ts.cjs', `apps/${this.app}/src/main.ts`], {
      cwd: root,
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    await waitUntil(
      async () => !this.alive || (await this.answers()),
      180_000,
      () => `${this.name} did not start`,
      250,
    );
    if (!this.alive)
      throw new Error(
        `${this.name} exited at start (exit ${child.exitCode}); see ${join(this.logDir, `${this.name}.log`)}`,
      );
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  private async answers(): Promise<boolean> {
    try {
      return (await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      return false;
    }
  }
}

export interface Cluster {
  postgres: ScratchPostgres;
  nats: ScratchNats;
  instances: AppProcess[];
  logDir: string;
  of(app: App): AppProcess[];
  stop(): Promise<void>;
}

/**
 * Its own Postgres, a three-node JetStream cluster on loopback (streams with three replicas, a NATS user
 * per app with only its subjects) and two instances of every app, each a process of its own — nothing
 * shared with the machine's servers.
 */
export const startCluster = async (log: (line: string) => void): Promise<Cluster> => {
  const logDir = mkdtempSync(join(tmpdir(), 'tally-chaos-'));
  const postgres = await ScratchPostgres.create();
  // Authentication on, as in production: each app its own NATS user, allowed only its subjects.
  const passwords = Object.fromEntries(apps.map((app) => [app, randomBytes(24).toString('base64url')])) as Record<
    App,
    string
  >;
  const nats = await ScratchNats.create({
    nodes: 3,
    authorization: authorizationBlock(chaosNamespace, (app) => `"${passwords[app]}"`),
    user: { user: 'ingestion', pass: passwords.ingestion },
  });
  log(`Postgres on ${postgres.port}; NATS cluster ${nats.url}; logs in ${logDir}`);
  const env = {
    DATABASE_URL: postgres.url(),
    NATS_URL: nats.url,
    TALLY_NAMESPACE: chaosNamespace,
    TALLY_ADMIN_TOKEN: chaosAdminToken,
    TALLY_NATS_REPLICAS: '3',
    // A killed instance's messages come back to the other one after 5 s.
    TALLY_ACK_WAIT_MS: '5000',
    // Billing runs only when the harness asks, at the end.
    TALLY_BILLING_INTERVAL_MS: '86400000',
  };
  const instances: AppProcess[] = [];
  for (const app of apps)
    for (const instance of [1, 2])
      instances.push(
        new AppProcess(
          app,
          instance,
          await freePort(),
          { ...env, NATS_USER: app, NATS_PASSWORD: passwords[app] },
          logDir,
        ),
      );
  // Ingestion first: it declares the streams the others consume.
  await Promise.all(instances.filter((i) => i.app === 'ingestion').map((i) => i.start()));
  await Promise.all(instances.filter((i) => i.app !== 'ingestion').map((i) => i.start()));
  return {
    postgres,
    nats,
    instances,
    logDir,
    of: (app) => instances.filter((i) => i.app === app),
    stop: async () => {
      await Promise.all(instances.map((i) => i.kill9()));
      await nats.destroy();
      await postgres.destroy();
    },
  };
};
