import 'reflect-metadata';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { ApiKeysService, IngestionModule } from '@tally/ingestion/feature-intake';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { runMain } from '@tally/shared/feature-runtime';
import { messageOf } from '@tally/shared/util-core';
import { loadTallyConfig } from '@tally/shared/util-config';
import { banner } from './banner';
import { consoleBuild } from './console-build';
import { loadCatalog } from './catalog';
import { embeddedAdminToken, embeddedDevApiKey } from './embedded-credentials';
import { loadExampleAccount } from './example-account';

// Embedded mode (`npm start`): all four apps in one process on one port. Without DATABASE_URL an
// embedded Postgres starts under TALLY_DATA_DIR; without NATS_URL the bus lives in Postgres too.
const dataDir = loadTallyConfig({ TALLY_DATA_DIR: process.env.TALLY_DATA_DIR }).TALLY_DATA_DIR;
const generatedAdminToken = process.env.TALLY_ADMIN_TOKEN ? undefined : embeddedAdminToken(dataDir);
// Readable log lines unless asked otherwise: this is the process a person watches in a terminal.
const env = {
  ...process.env,
  TALLY_ADMIN_TOKEN: process.env.TALLY_ADMIN_TOKEN ?? generatedAdminToken,
  TALLY_LOG_FORMAT: process.env.TALLY_LOG_FORMAT ?? 'pretty',
};

// The console (apps/console) is built, when stale, while the embedded Postgres starts; served at `/`.
const consoleRoot = consoleBuild({
  info: (message) => console.log(`[tally] ${message}`),
  warn: (message) => console.warn(`[tally] ${message}`),
});

void runMain(
  {
    apps: ['ingestion', 'attribution', 'aggregation', 'invoicing'],
    modules: [
      IngestionModule.register(),
      AttributionModule.register(),
      AggregationModule.register(),
      InvoicingModule.register(),
    ],
    allowEmbeddedPostgres: true,
    env,
    consoleRoot,
  },
  async (tally) => {
    const apiKey = await embeddedDevApiKey(dataDir, tally.app.get(ApiKeysService));
    const { config } = tally.runtime;
    const adminToken = config.TALLY_ADMIN_TOKEN as string;
    // The example account is priced by the Forge plan: with it on, the Forge catalog loads unless another is named.
    const catalog = config.TALLY_CATALOG ?? (config.TALLY_EXAMPLE === 'on' ? 'forge' : undefined);
    const loaded = catalog ? await loadCatalog(tally.url, adminToken, catalog) : undefined;
    const exampleLoaded = join(dataDir, 'example-account.loaded');
    const example =
      config.TALLY_EXAMPLE !== 'on'
        ? undefined
        : catalog !== 'forge'
          ? `no example account: it is priced by the forge catalog, and TALLY_CATALOG=${catalog}`
          : existsSync(exampleLoaded)
            ? 'example account: example (opened on an earlier start)'
            : await loadExampleAccount(
                (method, path, body, token) =>
                  fetch(`${tally.url}${path}`, {
                    method,
                    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                    body: body === undefined ? undefined : JSON.stringify(body),
                  }),
                { adminToken, apiKey },
                new Date(),
                config.TALLY_LATENESS_HORIZON_DAYS,
              ).then(
                (loaded) => {
                  // The mark of a finished load: later starts leave the example as it is.
                  writeFileSync(exampleLoaded, `${new Date().toISOString()}\n`);
                  return loaded;
                },
                (error: unknown) => {
                  // Tally itself is fine: say what failed (the next start tries again) rather than stop a start that worked.
                  console.warn(`[tally] the example account was not loaded: ${messageOf(error)}`);
                  return `example account not loaded: ${messageOf(error)}`;
                },
              );
    console.log(banner(tally.url, tally.runtime, { adminToken: generatedAdminToken, apiKey }, loaded, example));
  },
);
