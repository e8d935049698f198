import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKeysService } from '@tally/ingestion/feature-intake';

/**
 * Embedded mode works out of the box: without TALLY_ADMIN_TOKEN an admin token is generated once and
 * kept (mode 0600) in the data directory, and a development producer key (tenant default, any source)
 * is created once and kept beside it, so `npm start` can print both every time.
 */
const secretFile = (dataDir: string, name: string) => join(dataDir, name);

const writeSecret = (file: string, value: string) => {
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
};

export const embeddedAdminToken = (dataDir: string): string => {
  mkdirSync(dataDir, { recursive: true });
  const file = secretFile(dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `tadm_${randomBytes(24).toString('base64url')}`;
  writeSecret(file, token);
  return token;
};

export const embeddedDevApiKey = async (dataDir: string, keys: ApiKeysService): Promise<string> => {
  mkdirSync(dataDir, { recursive: true }); // also when the admin token came from the environment
  const file = secretFile(dataDir, 'dev-api-key');
  const kept = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  // A kept key whose database was wiped is useless: make a new one.
  if (kept && (await keys.authenticate(kept))) return kept;
  const { key } = await keys.create({ name: 'development (npm start)', allowedSources: ['*'] });
  writeSecret(file, key);
  return key;
};
