import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest directory above this file with an nx.json (source and compiled alike). */
const repositoryRoot = (from = __dirname): string | undefined => {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'nx.json'))) return dir;
  return undefined;
};

/** What the console is built from: when any of these is newer than the build, it is built again. */
const consoleSources = [
  'apps/console/src',
  'apps/console/index.html',
  'apps/console/vite.config.mts',
  'libs/client/src/http-client.ts',
  'libs/client/src/problem.ts',
  'package-lock.json',
];

const newest = (path: string): number => {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
};

export interface ConsoleBuildLog {
  info(message: string): void;
  warn(message: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Holds a lock directory while `work` runs: two platforms starting at once (tests in parallel) build one after
 * the other, the second finding the first's build fresh. A lock left by a killed process expires after 2 min.
 */
const holding = async <T>(lock: string, work: () => Promise<T>): Promise<T> => {
  for (;;) {
    try {
      mkdirSync(lock, { recursive: false });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > 120_000) rmSync(lock, { force: true, recursive: true });
      await sleep(200);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true, recursive: true });
  }
};

/**
 * The console's static files for `npm start`: dist/apps/console, built first (Vite, about a second) when it
 * is missing or older than its sources. Runs beside the platform's own start; a failed build is a warning,
 * never a failed start: the API serves without the console.
 */
export const consoleBuild = async (log: ConsoleBuildLog): Promise<string | undefined> => {
  const root = repositoryRoot();
  if (!root) return undefined;
  mkdirSync(join(root, 'dist/apps'), { recursive: true });
  return holding(join(root, 'dist/apps/console.building'), () => buildWhenStale(root, log));
};

const buildWhenStale = async (root: string, log: ConsoleBuildLog): Promise<string | undefined> => {
  const dist = join(root, 'dist/apps/console');
  const built = existsSync(join(dist, 'index.html')) ? statSync(join(dist, 'index.html')).mtimeMs : 0;
  const sources = Math.max(...consoleSources.map((path) => newest(join(root, path))));
  if (sources === 0) return built ? dist : undefined; // no sources beside it (a copied build): serve what is there
  if (built >= sources) return dist;
  const vite = join(root, 'node_modules/vite/bin/vite.js');
  if (!existsSync(vite)) {
    log.warn('the console is not built and Vite is not installed (npm ci installs it): serving the API only');
    return built ? dist : undefined;
  }
  log.info('building the console (npm run build:console) …');
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    let output = '';
    const child = spawn(process.execPath, [vite, 'build', '--config', 'apps/console/vite.config.mts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => resolve({ code: null, output: String(error) }));
    child.on('close', (code) => resolve({ code, output }));
  });
  if (code !== 0) {
    log.warn(`the console could not be built (serving the API only):\n${output.trim()}`);
    return undefined;
  }
  log.info(`built the console in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dist;
};
