import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const __dirname = dirname(fileURLToPath(import.meta.url));

// Resolve the @tally/* aliases from tsconfig.base.json so tests import libraries the way apps do.
const tsconfig = JSON.parse(readFileSync(resolve(__dirname, 'tsconfig.base.json'), 'utf8'));
const alias = Object.entries<string[]>(tsconfig.compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace(/[/.-]/g, '\\$&')}$`),
  replacement: resolve(__dirname, target),
}));

const chaos = 'e2e/chaos.e2e.spec.ts';
// OpenMeter conformance needs ../shared/openmeter beside the checkout: its own run (vitest.openmeter.config.mts).
const openMeter = 'tools/openmeter/**';

export default defineConfig({
  // SWC instead of esbuild: Nest's dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'tally',
          include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'e2e/**/*.spec.ts', 'tools/**/*.spec.ts'],
          exclude: [chaos, openMeter, 'apps/console/**'],
        },
      },
      // The console's component tests: React in a DOM (happy-dom), with the console's own Vite configuration.
      'apps/console/vite.config.mts',
      // The chaos run has the machine to itself (its own Postgres, a NATS cluster, eight app processes): after the rest.
      { extends: true, test: { name: 'chaos', include: [chaos], sequence: { groupOrder: 1 } } },
    ],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites each own a database schema and NATS stream names, so files may run in parallel.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
