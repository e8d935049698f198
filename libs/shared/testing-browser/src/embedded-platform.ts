import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../../../..');

/**
 * `npm start` as a user runs it — nothing configured, so an embedded Postgres under `dataDir` and the in-process
 * bus, with the Forge catalog — as a child process; answered once it says it is running (or could not start).
 * Its output goes to `onOutput` as it comes. `detached`: a process group of its own, as `npm start` in a terminal
 * is, so that Ctrl-C (SIGINT to the group) can be sent.
 */
export const startEmbeddedPlatform = async (options: {
  port: number;
  dataDir: string;
  onOutput: (text: string) => void;
  detached?: boolean;
  /** More settings, e.g. a billing interval longer than the test, so that only the test's runs bill. */
  env?: Record<string, string>;
}): Promise<ChildProcess> => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Tests bring their own accounts; the example account is the newcomer's (e2e/console-newcomer).
    TALLY_EXAMPLE: 'off',
    ...options.env,
    PORT: String(options.port),
    TALLY_DATA_DIR: options.dataDir,
    TALLY_EMBEDDED_PG_PORT: String(options.port + 1),
    TALLY_CATALOG: 'forge',
  };
  delete env.DATABASE_URL;
  delete env.NATS_URL;
  const child = spawn(process.execPath, ['tools/run-ts.cjs', 'apps/platform/src/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  // Answered once the platform says it is running, or could not start; refused after 90 s or if it exits first.
  await new Promise<void>((started, failed) => {
    const timer = setTimeout(() => failed(new Error(`npm start said nothing in 90 s:\n${output}`)), 90_000);
    const take = (chunk: Buffer) => {
      output += chunk;
      options.onOutput(String(chunk));
      if (output.includes('Tally is running') || output.includes('failed to start')) {
        clearTimeout(timer);
        started();
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('exit', (code) => {
      clearTimeout(timer);
      failed(new Error(`npm start exited (${code}) before it was running:\n${output}`));
    });
  });
  return child;
};
