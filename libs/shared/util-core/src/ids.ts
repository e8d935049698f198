import { createHash } from 'node:crypto';

/**
 * A name-based UUID (RFC 9562 version 5 layout, SHA-1) from a namespace and parts.
 * Deterministic ids are what make every effect idempotent: the same usage event always
 * maps to the same ledger event id, so re-appending it is a no-op rather than a double count.
 */
export const deterministicUuid = (namespace: string, ...parts: readonly string[]): string => {
  const hash = createHash('sha1');
  hash.update(namespace);
  // Length-prefix every part so ('ab','c') and ('a','bc') never collide.
  for (const part of parts) hash.update(`\u0000${part.length}:${part}`);
  const bytes = hash.digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => uuidPattern.test(value);

/**
 * JSON with object keys sorted at every level: the same value always gives the same text, whatever the
 * key order it was built or stored with (Postgres jsonb reorders keys), for comparing documents.
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
