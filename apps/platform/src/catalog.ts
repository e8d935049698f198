import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A catalog: meters and price plans to create at start-up, as the admin API takes them. */
interface Catalog {
  meters: Record<string, unknown>[];
  plans: Record<string, unknown>[];
}

/** `forge` → the shipped catalogs/forge.json; anything else is a path to a catalog file. */
export const catalogPath = (name: string): string =>
  /^[a-z0-9-]+$/.test(name) ? resolve(__dirname, '../../../catalogs', `${name}.json`) : resolve(name);

/**
 * Creates a catalog's meters, then its plans, through the running API (the same validation as any client).
 * Safe on every start: the same meter or plan again is answered 200 and changes nothing; one that differs
 * from what exists stops the start with the API's problem.
 */
export const loadCatalog = async (url: string, adminToken: string, name: string): Promise<string> => {
  const path = catalogPath(name);
  if (!existsSync(path)) throw new Error(`TALLY_CATALOG=${name}: no catalog at ${path}`);
  const catalog = JSON.parse(readFileSync(path, 'utf8')) as Catalog;
  const post = async (route: string, body: Record<string, unknown>) => {
    const response = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`TALLY_CATALOG=${name}: POST ${route} answered ${response.status}: ${await response.text()}`);
  };
  for (const meter of catalog.meters) await post('/api/v1/meters', meter);
  for (const plan of catalog.plans) await post('/v1/plans', plan);
  return `catalog ${name}: ${catalog.meters.length} meters, ${catalog.plans.length} plans (${catalog.plans.map((p) => p.id).join(', ')})`;
};
