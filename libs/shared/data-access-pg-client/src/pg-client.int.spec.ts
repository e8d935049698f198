import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '@tally/shared/testing';
import { openPool } from './pg-client';

describe('openPool', () => {
  it('ends only once every connection has closed, so a Postgres stopped next terminates none of them', async () => {
    const pool = openPool({ connectionString: testDatabaseUrl(), max: 3 });
    // Three idle connections: hold them together so the pool opens three, then hand them back.
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    clients.forEach((client) => client.release());
    const closed: unknown[] = [];
    pool.on('remove', (client) => closed.push(client));
    await pool.end();
    // pg's own end() resolves when it has asked them to end, before any has: 0 of 3 here without the wait.
    expect(closed).toHaveLength(3);
  });

  it('waits, too, for a connection checked out when end() was called, closed when it comes back', async () => {
    const pool = openPool({ connectionString: testDatabaseUrl(), max: 2 });
    const held = await pool.connect();
    let ended = false;
    const ending = pool.end().then(() => (ended = true));
    await held.query('select 1');
    expect(ended).toBe(false);
    held.release();
    await ending;
    expect(pool.totalCount).toBe(0);
  });

  it('ends at once when it never opened a connection', async () => {
    const pool = openPool({ connectionString: testDatabaseUrl() });
    await pool.end();
    expect(pool.ended).toBe(true);
  });
});
