import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScratchPostgres } from '@tally/shared/testing';
import { AccessStore, AccessUnavailableError } from './access-store';

/**
 * The credential store on a Postgres of the test's own, which the test stops: tokens stored as hashes,
 * revocation and expiry at once, last use recorded, and an outage that neither locks out credentials
 * verified just before it nor lets an unverified one in.
 */
describe('AccessStore', () => {
  let postgres: ScratchPostgres;
  let store: AccessStore;
  const now = () => new Date();

  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    store = new AccessStore({ connectionString: postgres.url(), schema: 'tally_access', outageGraceMs: 60_000 });
    await store.init('default');
    await store.init('default'); // twice: start-ups are idempotent
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await postgres?.destroy();
  });

  it('keeps tenants once, with the default always there', async () => {
    expect(await store.createTenant('acme', 'Acme', '2026-12-01T00:00:00Z')).toMatchObject({
      created: true,
      tenant: { id: 'acme', name: 'Acme' },
    });
    expect(await store.createTenant('acme', 'Other name', '2026-12-02T00:00:00Z')).toMatchObject({
      created: false,
      tenant: { name: 'Acme' },
    });
    expect((await store.tenants()).map((t) => t.id)).toEqual(['acme', 'default']);
  });

  it('stores a hash, never the token; revokes and expires at once; records the last use', async () => {
    const issued = await store.issue({
      tenant: 'acme',
      role: 'billing-viewer',
      name: 'finance',
      createdBy: 'operator',
      at: now().toISOString(),
    });
    expect(issued.token).toMatch(/^tallyadm_[A-Za-z0-9_-]{43}$/);
    const stored = await postgres.query<{ token_hash: Buffer; prefix: string }>(
      'select token_hash, prefix from tally_access.credentials where id = $1',
      [issued.id],
    );
    expect(stored[0].token_hash.length).toBe(32);
    expect(JSON.stringify(await postgres.query('select * from tally_access.credentials'))).not.toContain(
      issued.token.slice(15),
    );

    expect(await store.authenticate(issued.token, now())).toMatchObject({
      id: issued.id,
      tenant: 'acme',
      role: 'billing-viewer',
    });
    expect(await store.authenticate(`${issued.token}x`, now())).toBeUndefined();
    await expect.poll(async () => (await store.list('acme'))[0].lastUsedAt).not.toBeNull();
    expect(await store.list('default')).toEqual([]);

    expect(await store.revoke('default', issued.id, now().toISOString())).toBeUndefined(); // not that tenant's
    expect((await store.revoke('acme', issued.id, now().toISOString()))?.revokedAt).not.toBeNull();
    expect(await store.authenticate(issued.token, now())).toBeUndefined();

    const expiring = await store.issue({
      tenant: 'acme',
      role: 'admin',
      name: 'temp',
      createdBy: 'operator',
      at: now().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(await store.authenticate(expiring.token, now())).toBeDefined();
    expect(await store.authenticate(expiring.token, new Date(Date.now() + 61_000))).toBeUndefined();
  });

  it('while Postgres is down: a credential verified within the grace works (unless expired), any other is "unavailable", never "unknown"', async () => {
    const verified = await store.issue({
      tenant: 'acme',
      role: 'admin',
      name: 'ops',
      createdBy: 'operator',
      at: now().toISOString(),
      expiresAt: new Date(Date.now() + 120_000).toISOString(),
    });
    const unverified = await store.issue({
      tenant: 'acme',
      role: 'admin',
      name: 'idle',
      createdBy: 'operator',
      at: now().toISOString(),
    });
    expect(await store.authenticate(verified.token, now())).toBeDefined();
    await postgres.stop();
    try {
      expect(await store.authenticate(verified.token, now())).toMatchObject({ id: verified.id });
      expect(await store.authenticate(verified.token, new Date(Date.now() + 121_000))).toBeUndefined();
      await expect(store.authenticate(unverified.token, now())).rejects.toBeInstanceOf(AccessUnavailableError);
    } finally {
      await postgres.start();
    }
    // Back: everything is asked of Postgres again.
    await expect
      .poll(() => store.authenticate(unverified.token, now()).catch(() => 'down'), { timeout: 15_000 })
      .toMatchObject({ id: unverified.id });
  });
});
