import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadTallyConfig, tallySchema } from '@tally/shared/util-config';
import { composeNatsConfig } from './nats/permissions';

const root = resolve(__dirname, '..');
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const apps = ['ingestion', 'attribution', 'aggregation', 'invoicing'];

/** No Docker engine here: check what can be checked without one. */
describe('docker-compose.yml', () => {
  it('describes NATS with JetStream, KurrentDB, Postgres and the four apps', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...apps, 'kurrentdb', 'nats', 'postgres'].sort());
    expect(readFileSync(resolve(root, 'deploy/nats.conf'), 'utf8')).toContain('jetstream');
  });

  it('runs NATS with a user per app, allowed only its subjects: deploy/nats.conf is what tools/nats/permissions.ts generates', () => {
    expect(compose.services.nats.command).toEqual(['-c', '/etc/nats/nats.conf']);
    expect(compose.services.nats.volumes).toContain('./deploy/nats.conf:/etc/nats/nats.conf:ro');
    expect(readFileSync(resolve(root, 'deploy/nats.conf'), 'utf8')).toBe(composeNatsConfig());
    for (const app of apps) {
      const password = `TALLY_NATS_${app.toUpperCase()}_PASSWORD`;
      expect(compose.services.nats.environment[password]).toMatch(new RegExp(`^\\$\\{${password}:\\?`));
      expect(compose.services[app].environment).toMatchObject({
        NATS_USER: app,
        NATS_PASSWORD: compose.services.nats.environment[password],
      });
    }
  });

  it.each(apps)('%s: builds its own image from the Dockerfile', (app) => {
    const service = compose.services[app];
    expect(service.build.args.APP).toBe(app);
    expect(existsSync(resolve(root, service.build.dockerfile))).toBe(true);
    expect(existsSync(resolve(root, `apps/${app}/src/main.ts`))).toBe(true);
  });

  it.each(apps)('%s: every variable is one the app validates, and the configuration passes validation', (app) => {
    const env: Record<string, string> = compose.services[app].environment;
    expect(Object.keys(env).filter((name) => !(name in tallySchema))).toEqual([]);
    // Compose fills ${NAME:?…} from the operator's environment: here, with generated secrets.
    const filled = Object.fromEntries(
      Object.entries(env).map(([name, value]) => [
        name,
        String(value).replace(/\$\{(\w+)(:\?[^}]*)?\}/g, () => randomBytes(32).toString('base64url')),
      ]),
    );
    expect(() => loadTallyConfig(filled, ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'])).not.toThrow();
  });

  it('commits no secret: every sensitive variable and password comes from the environment', () => {
    const sensitive = Object.entries(tallySchema)
      .filter(([, spec]) => 'sensitive' in spec && spec.sensitive)
      .map(([name]) => name);
    for (const service of Object.values(compose.services) as { environment?: Record<string, string> }[]) {
      for (const [name, value] of Object.entries(service.environment ?? {})) {
        if (sensitive.includes(name) || /PASSWORD/.test(name))
          expect(String(value), name).toMatch(/^\$\{\w+:\?[^}]+\}$/);
        expect(String(value), name).not.toMatch(/:\/\/[^:/@]+:(?!\$\{)[^@]+@/);
      }
    }
  });

  it('the Dockerfile builds and starts the app named by its build argument (compiled: e2e/compiled-build)', () => {
    const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/ARG APP/);
    expect(dockerfile).toContain('nx run ${APP}:build');
    expect(dockerfile).toContain('dist/apps/${APP}');
  });
});
