import { describe, it } from 'vitest';
import { testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { eventStoreContract } from '../testing/event-store.contract';
import { KurrentDbEventStore } from './kurrentdb-event-store';

const url = process.env.KURRENTDB_URL;

if (url) {
  const indexSchema = uniqueName('kdbidx');
  eventStoreContract('KurrentDB', () => ({
    open: async () => {
      const store = new KurrentDbEventStore({
        connectionString: url,
        index: { connectionString: testDatabaseUrl(), schema: indexSchema },
        retentionDays: 40,
      });
      await store.init();
      return store;
    },
    checkpointDatabaseUrl: testDatabaseUrl(),
  }));
} else {
  // No KurrentDB server can run on this machine. Say so in the output rather than pretend.
  console.warn(
    '[tally] KurrentDB contract suite NOT RUN: KURRENTDB_URL is not set (no KurrentDB server on this machine).',
  );
  describe.skip('EventStore contract: KurrentDB (skipped: KURRENTDB_URL is not set, no server on this machine)', () => {
    it('runs the shared contract when KURRENTDB_URL points at a server', () => undefined);
  });
}
