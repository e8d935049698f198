import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, productionNodeOptions, testDatabaseUrl, testNatsUrl, waitUntil } from '@tally/shared/testing';

const root = resolve(__dirname, '..', '..', '..');

export type Mode = 'distributed' | 'embedded';
export type AppName = 'ingestion' | 'attribution' | 'aggregation' | 'invoicing';
export const appNames: readonly AppName[] = ['ingestion', 'attribution', 'aggregation', 'invoicing'];

/** One running Tally process: the apps it serves, where, and its pid for /proc. */
export interface RunningApp {
  name: string;
  url: string;
  child: ChildProcess;
}

export interface Deployment {
  mode: Mode;
  processes: RunningApp[];
  /** The base URL that serves each app's routes (all the same in embedded mode). */
  urlOf: Record<AppName, string>;
}

interface StartOptions {
  mode: Mode;
  namespace: string;
  adminToken: string;
  logDir: string;
  /** A process (an app's name, or `platform`) to run under `node --cpu-prof`, its profile written into logDir. */
  profile?: string;
  /**
   * Run the compiled build (dist/apps/<app>/main.js, as production and the Dockerfile do) rather than the sources
   * through SWC's require hook, which holds the transpiler and every transpiled module in each process's memory.
   */
  compiled?: boolean;
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

const buildProjects = 'ingestion,attribution,aggregation,invoicing,platform';

/** How long the build may take (a cold build on two cores: about a minute). */
export const buildTimeoutMs = 300_000;

/**
 * Builds the apps as production runs them (dist/apps/<app>), so a `--compiled` run measures the sources in the
 * checkout, never a stale build; Nx's cache makes a build with nothing changed take seconds. Its output is the
 * benchmark's.
 */
export const buildApps = (): Promise<void> =>
  new Promise((resolveBuilt, reject) => {
    const build = spawn('npx', ['nx', 'run-many', '-t', 'build', `--projects=${buildProjects}`], {
      cwd: root,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => build.kill('SIGTERM'), buildTimeoutMs);
    build.once('error', reject);
    build.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolveBuilt();
      else reject(new Error(`the build failed (${signal ?? `exit code ${code}`})`));
    });
  });

/** The node arguments that run an app (or `platform`): from its sources, or its compiled build. */
const entryOf = (name: string, compiled: boolean): string[] => {
  if (!compiled) return ['tools/run-ts.cjs', `apps/${name}/src/main.ts`];
  const main = join(root, 'dist', 'apps', name, 'main.js');
  if (!existsSync(main))
    throw new Error(`--compiled: no ${main}; build first: npx nx run-many -t build --projects=${buildProjects}`);
  return [main];
};

/** Spawns the app with its output in logDir/<name>.log; answered once /health answers. */
const startProcess = async (
  name: string,
  env: Record<string, string>,
  options: StartOptions,
  started: RunningApp[],
  unset: string[] = [],
): Promise<RunningApp> => {
  const port = await freePort();
  const log = createWriteStream(join(options.logDir, `${name}.log`), { flags: 'a' });
  // The heap limit production runs with (the Dockerfile's NODE_OPTIONS), from sources too, as `npm start` does.
  const nodeArgs = [
    ...productionNodeOptions(),
    ...(options.profile === name ? ['--cpu-prof', `--cpu-prof-dir=${options.logDir}`] : []),
  ];
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    ...(options.compiled ? { NODE_ENV: 'production' } : {}),
    PORT: String(port),
    TALLY_LOG_FORMAT: 'json',
  };
  for (const name of unset) delete childEnv[name];
  const child = spawn(process.execPath, [...nodeArgs, ...entryOf(name, options.compiled ?? false)], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const url = `http://127.0.0.1:${port}`;
  // Listed before it answers: a start that fails or times out still has this process stopped.
  const running = { name, url, child };
  started.push(running);
  const answers = () =>
    fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
  await waitUntil(
    async () => !alive(child) || (await answers()),
    120_000,
    () => `${name} did not answer /health in 120 s; see ${join(options.logDir, `${name}.log`)}`,
    250,
  );
  if (!alive(child)) throw new Error(`${name} exited at start; see ${join(options.logDir, `${name}.log`)}`);
  return running;
};

/**
 * Distributed: the four apps as processes of their own on the machine's Postgres and NATS, as the chaos harness
 * starts them (ingestion first: it declares the streams the others consume). Embedded: the one process
 * `npm start` runs, on the machine's Postgres (its bus lives there too: no NATS_URL) and a scratch data directory.
 * Every process is added to `started` as it is spawned, for the caller to stop whatever happens.
 */
export const startDeployment = async (options: StartOptions, started: RunningApp[]): Promise<Deployment> => {
  const common = {
    DATABASE_URL: testDatabaseUrl(),
    TALLY_NAMESPACE: options.namespace,
    TALLY_ADMIN_TOKEN: options.adminToken,
  };
  if (options.mode === 'embedded') {
    const env = { ...common, TALLY_DATA_DIR: join(options.logDir, 'data'), TALLY_EXAMPLE: 'off' };
    // No NATS_URL in its environment, whatever this shell has: the bus is Postgres's.
    const platform = await startProcess('platform', env, options, started, ['NATS_URL']);
    const urlOf = Object.fromEntries(appNames.map((app) => [app, platform.url])) as Record<AppName, string>;
    return { mode: 'embedded', processes: [platform], urlOf };
  }
  const env = { ...common, NATS_URL: testNatsUrl() };
  const start = (app: AppName) => startProcess(app, env, options, started);
  const ingestion = await start('ingestion');
  const others = await Promise.all((['attribution', 'aggregation', 'invoicing'] as const).map(start));
  const processes = [ingestion, ...others];
  const urlOf = Object.fromEntries(processes.map((p) => [p.name, p.url])) as Record<AppName, string>;
  return { mode: 'distributed', processes, urlOf };
};

/** SIGTERM (a profiled process writes its profile as it exits), SIGKILL after 10 s for whatever still runs. */
export const stopAll = async (processes: readonly RunningApp[]): Promise<void> => {
  await Promise.all(
    processes.map(async ({ child }) => {
      if (!alive(child)) return;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
};
