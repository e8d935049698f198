import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The credential the CLI sends: TALLY_TOKEN (a tenant's admin or billing-viewer credential), else
 * TALLY_ADMIN_TOKEN (the operator's), else the operator token `npm start` generated in its data directory
 * (TALLY_DATA_DIR, default ./data). None of them: undefined — the CLI refuses rather than send an empty token.
 */
export const findCredential = (
  env: Record<string, string | undefined>,
  dataDir = env.TALLY_DATA_DIR ?? 'data',
): { token: string; from: string } | undefined => {
  if (env.TALLY_TOKEN?.trim()) return { token: env.TALLY_TOKEN.trim(), from: 'TALLY_TOKEN' };
  if (env.TALLY_ADMIN_TOKEN?.trim()) return { token: env.TALLY_ADMIN_TOKEN.trim(), from: 'TALLY_ADMIN_TOKEN' };
  const file = join(resolve(dataDir), 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { token, from: file };
  }
  return undefined;
};
