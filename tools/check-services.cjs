#!/usr/bin/env node
// Checks that the services the tests need answer: Postgres (with the `test` database) and NATS with
// JetStream enabled. Exits 1 with a message naming what is missing. Used by .ci/run.
const { Client } = require('pg');

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const natsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

const checkPostgres = async () => {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3_000 });
  await client.connect();
  const { rows } = await client.query('show server_version');
  await client.end();
  return `Postgres ${rows[0].server_version} at ${databaseUrl}`;
};

const checkNats = async () => {
  const { connect } = require('@nats-io/transport-node');
  const { jetstreamManager } = require('@nats-io/jetstream');
  const nc = await connect({ servers: natsUrl, timeout: 3_000 });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    return `NATS ${nc.info?.version} with JetStream (storage used ${info.storage} bytes) at ${natsUrl}`;
  } catch (error) {
    throw new Error(
      `NATS answers at ${natsUrl} but JetStream is not enabled (start nats-server with -js): ${error.message}`,
    );
  } finally {
    await nc.close();
  }
};

(async () => {
  let failed = false;
  for (const [name, check] of [
    ['Postgres', checkPostgres],
    ['NATS', checkNats],
  ]) {
    try {
      console.log(`ok: ${await check()}`);
    } catch (error) {
      failed = true;
      console.error(`NOT READY: ${name}: ${error.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
