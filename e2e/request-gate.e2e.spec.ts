import { connect, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, uniqueName } from '@tally/shared/testing';
import { adminToken, createProducerKey, deleteStreams, http, startApp, usageEvent } from './support';

/** Sends only the request head (and optionally part of the body); resolves with the raw answer, if one comes. */
const rawRequest = (url: string, head: string, body = ''): { socket: Socket; answer: Promise<string> } => {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (/\r\n\r\n[\s\S]*\}/.test(received)) resolve(received);
    });
    socket.on('close', () => resolve(received));
  });
  socket.write(head + body);
  return { socket, answer };
};
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), ms))]);

/**
 * The request gate: credentials are checked from the headers before the body is read; bodies in flight are
 * bounded per process; each credential is rate-limited.
 */
describe('request gate', () => {
  const namespace = uniqueName('gate');
  let ingestion: RunningTally;
  let key: string;

  beforeAll(async () => {
    ingestion = await startApp('ingestion', namespace, {
      TALLY_MAX_BODY_BYTES_IN_FLIGHT: '1000000',
      TALLY_RATE_LIMIT_PER_SECOND: '5',
    });
    key = await createProducerKey(ingestion.url);
  });
  afterAll(async () => {
    await ingestion?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('refuses a request without a valid credential before reading its body', async () => {
    // A malformed body with no credential: 401, not 400 — the body was never parsed.
    const malformed = await fetch(`${ingestion.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"not json',
    });
    expect(malformed.status).toBe(401);
    const wrongKey = await fetch(`${ingestion.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer tally_nope' },
      body: '{"not json',
    });
    expect(wrongKey.status).toBe(401);
    // 5 MB announced, not one byte of it sent: the 401 comes at once, without waiting for the body.
    const { socket, answer } = rawRequest(
      ingestion.url,
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n`,
    );
    expect(await within(answer, 5_000)).toMatch(/^HTTP\/1\.1 401/);
    socket.destroy();
    // An admin route too.
    expect(
      (
        await fetch(`${ingestion.url}/v1/api-keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"not json',
        })
      ).status,
    ).toBe(401);
  });

  it('sheds a body beyond the bytes in flight with 503 + Retry-After, and takes it again once the first is done', async () => {
    const events = JSON.stringify(Array.from({ length: 1_000 }, (_, i) => usageEvent(`gate-${i}`, 'inst-1')));
    expect(events.length).toBeGreaterThan(150_000);
    // 900,000 bytes announced (100 events and white space) and half sent: they are held while the body arrives.
    const padded = JSON.stringify(Array.from({ length: 100 }, (_, i) => usageEvent(`slow-${i}`, 'inst-1'))).padEnd(
      900_000,
      ' ',
    );
    const slow = rawRequest(
      ingestion.url,
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${key}\r\nContent-Length: ${padded.length}\r\n\r\n`,
      padded.slice(0, 450_000),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const shed = await fetch(`${ingestion.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: events,
    });
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(await shed.json()).toMatchObject({ type: 'https://tally.dev/problems/busy' });
    slow.socket.write(padded.slice(450_000));
    expect(await within(slow.answer, 10_000)).toMatch(/^HTTP\/1\.1 200/);
    slow.socket.destroy();
    const again = await http(
      'POST',
      `${ingestion.url}/v1/events`,
      [usageEvent('gate-after', 'inst-1')],
      'application/json',
      key,
    );
    expect(again.status).toBe(200);
  });

  it('limits each credential: past its burst, 429 with Retry-After; another credential is not affected', async () => {
    const limited = await createProducerKey(ingestion.url);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 14; i++) {
      const answer = await fetch(`${ingestion.url}/v1/events/status?source=%2F%2Fx&id=${i}`, {
        headers: { authorization: `Bearer ${limited}` },
      });
      statuses.push(answer.status);
      retryAfter ??= answer.headers.get('retry-after');
      await answer.text();
    }
    // A burst of 10 (twice 5 a second), a little refilled meanwhile; then 429.
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThanOrEqual(10);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(
      (await fetch(`${ingestion.url}/v1/api-keys`, { headers: { authorization: `Bearer ${adminToken}` } })).status,
    ).toBe(200);
  });
});
