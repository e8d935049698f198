import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, ScratchNats, uniqueName } from '@tally/shared/testing';
import { createProducerKey, http, startApp, usageEvent } from './support';

/** A CA, and certificates it signs (P-256 keys: quick to make), with openssl. */
const pki = (dir: string) => {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) =>
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    );
  const signed = (name: string, by: string, san?: string) => {
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    writeFileSync(join(dir, `${name}.ext`), san ? `subjectAltName=${san}\n` : 'extendedKeyUsage=clientAuth\n');
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${by}.pem`,
      '-CAkey',
      `${by}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  };
  ca('tally-ca');
  ca('rogue-ca');
  signed('nats-server', 'tally-ca', 'IP:127.0.0.1,DNS:localhost');
  signed('ingestion', 'tally-ca');
  signed('impostor', 'rogue-ca');
  const file = (name: string) => join(dir, name);
  return {
    ca: file('tally-ca.pem'),
    server: { cert: file('nats-server.pem'), key: file('nats-server.key') },
    client: { cert: file('ingestion.pem'), key: file('ingestion.key') },
    impostor: { cert: file('impostor.pem'), key: file('impostor.key') },
  };
};

/**
 * NATS over TLS with client certificates (mutual TLS), on a server of the test's own with certificates
 * made for the test: an app configured with NATS_TLS_* files talks to it; a client without TLS, without
 * a certificate, or with one from another CA is refused.
 */
describe('NATS over mutual TLS', () => {
  const namespace = uniqueName('tls');
  const dir = mkdtempSync(join(tmpdir(), 'tally-pki-'));
  let files: ReturnType<typeof pki>;
  let nats: ScratchNats;
  let ingestion: RunningTally;

  beforeAll(async () => {
    files = pki(dir);
    const clientTls = { caFile: files.ca, certFile: files.client.cert, keyFile: files.client.key };
    nats = await ScratchNats.create({
      tls: { certFile: files.server.cert, keyFile: files.server.key, caFile: files.ca },
      clientTls,
    });
    ingestion = await startApp('ingestion', namespace, {
      NATS_URL: nats.url,
      NATS_TLS_CA_FILE: files.ca,
      NATS_TLS_CERT_FILE: files.client.cert,
      NATS_TLS_KEY_FILE: files.client.key,
    });
  });
  afterAll(async () => {
    await ingestion?.close();
    await nats?.destroy();
    await dropSchemas(namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an app configured with NATS_TLS_* files accepts usage into JetStream over TLS', async () => {
    expect((await http('GET', `${ingestion.url}/health`)).body).toMatchObject({ bus: 'jetstream' });
    const key = await createProducerKey(ingestion.url);
    const accepted = await http(
      'POST',
      `${ingestion.url}/v1/events`,
      [usageEvent('tls-1', 'inst-1')],
      'application/json',
      key,
    );
    expect(accepted.body.results[0].status).toBe('accepted');
    // Persisted in the server's stream, read back over a second TLS connection.
    const reader = await connect({
      servers: nats.url,
      tls: { caFile: files.ca, certFile: files.client.cert, keyFile: files.client.key },
    });
    try {
      const jsm = await jetstreamManager(reader);
      const stored = async () =>
        (await jsm.streams.list().next()).reduce((sum, stream) => sum + stream.state.messages, 0);
      expect(await eventually(stored, (n) => n >= 1)).toBeGreaterThanOrEqual(1);
    } finally {
      await reader.close();
    }
  });

  it('refuses a client without TLS, without a certificate, or with a certificate from another CA', async () => {
    // The server ends the handshake; without a certificate the client notices only at its connect timeout.
    const attempt = async (tls?: { caFile?: string; certFile?: string; keyFile?: string }) => {
      const nc = await connect({ servers: nats.url, reconnect: false, timeout: 3_000, ...(tls ? { tls } : {}) });
      await nc.flush();
      await nc.close();
    };
    await expect(attempt()).rejects.toThrow();
    await expect(attempt({ caFile: files.ca })).rejects.toThrow();
    await expect(
      attempt({ caFile: files.ca, certFile: files.impostor.cert, keyFile: files.impostor.key }),
    ).rejects.toThrow();
    // The same client with the right certificate gets through (so the refusals above are the certificates' doing).
    await expect(
      attempt({ caFile: files.ca, certFile: files.client.cert, keyFile: files.client.key }),
    ).resolves.toBeUndefined();
  });
});
