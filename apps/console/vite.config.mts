import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/**
 * The console: static files under dist/apps/console, served by `npm start` at `/` (apps/platform) or by any
 * web server in front of the apps. It calls the API at its own origin.
 */
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  resolve: {
    // The browser half of @tally/client: the typed HTTP client without the NATS producer (Node only).
    alias: { '@tally/client/http': resolve(root, 'libs/client/src/http-client.ts') },
  },
  build: {
    outDir: resolve(root, 'dist/apps/console'),
    emptyOutDir: true,
    reportCompressedSize: true,
    // ECharts (≈170 kB gzipped) is its own chunk, loaded with the first chart, never with the first screen.
    chunkSizeWarningLimit: 600,
  },
  // `nx run console:serve`: the console with hot reload, the API of `npm start` behind it.
  server: { proxy: Object.fromEntries(['/v1', '/api', '/health'].map((p) => [p, 'http://127.0.0.1:3000'])) },
  test: {
    name: 'console',
    include: ['src/**/*.spec.tsx', 'src/**/*.spec.ts'],
    environment: 'happy-dom',
  },
});
