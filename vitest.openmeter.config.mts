import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const __dirname = dirname(fileURLToPath(import.meta.url));

// The @tally/* aliases from tsconfig.base.json, as in vitest.config.mts.
const tsconfig = JSON.parse(readFileSync(resolve(__dirname, 'tsconfig.base.json'), 'utf8'));
const alias = Object.entries<string[]>(tsconfig.compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace(/[/.-]/g, '\\$&')}$`),
  replacement: resolve(__dirname, target),
}));

/**
 * OpenMeter conformance (`npm run test:openmeter`): Tally's OpenMeter-compatible routes held to OpenMeter's
 * published OpenAPI document, read from ../shared/openmeter/openapi.yaml beside the checkout. Not part of
 * `npm test`, which must pass without that folder.
 */
export default defineConfig({
  // SWC instead of esbuild: Nest's dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { alias },
  test: {
    name: 'openmeter',
    include: ['tools/openmeter/**/*.spec.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each file owns its namespace (database schema, NATS streams): the two may run side by side.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
