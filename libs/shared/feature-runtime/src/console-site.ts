import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The console's client-side routes (apps/console/src/router.ts): each answers index.html, so a bookmarked
 * address opens its screen. Any other path is the API's.
 */
export const consolePages = [
  '/sign-in',
  '/accounts',
  '/accounts/:accountId',
  '/invoices/:invoiceId',
  '/parked',
  '/events',
  '/catalog',
  '/plans/:planId',
  '/reconciliations',
  '/reconciliations/:reconciliationId',
] as const;

/**
 * Serves the built console (`npm run build:console`, dist/apps/console) at `/`: its files (index.html at `/`,
 * hashed assets under /assets/, cached for a year) and its client-side routes, each route registered by name
 * (no wildcard), so every API route keeps its own answer and a clash would fail the start. The routes are
 * public, as /docs is: the console holds no data, it asks the API with the credential its user signs in with.
 */
export const serveConsole = async (fastify: FastifyInstance, root: string): Promise<boolean> => {
  if (!existsSync(join(root, 'index.html'))) return false;
  await fastify.register(async (site) => {
    // The request gate reads each route's mark from its config (request-gate.ts): these need no credential.
    site.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), tallyAuth: 'public' } as typeof route.config;
    });
    await site.register(fastifyStatic, {
      root,
      wildcard: false,
      setHeaders: (reply, path) =>
        reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
    });
    for (const page of consolePages) site.get(page, (_request, reply) => reply.sendFile('index.html'));
  });
  return true;
};
