import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discardBodyBytes, maxBodyBytes, RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, uniqueName } from '@tally/shared/testing';
import { createProducerKey, deleteStreams, startApp, usageEvent } from './support';

const MiB = 1024 * 1024;

type Outcome =
  { status: number; contentType: string | null; body: unknown } | { error: string; cause: string | undefined };

/**
 * Node's fetch (undici) posting `attempts` bodies of `bytes` one after the other, from a process of its own as a
 * producer would be. In the test's process client and server share one event loop and the client always read
 * the answer before it noticed the reset; across processes it is a race, which the client lost on some
 * uploads of every size (`fetch failed`, cause EPIPE). `stream` sends the body chunked (no Content-Length).
 */
const fetchFromAnotherProcess = async (
  url: string,
  key: string,
  bytes: number,
  attempts: number,
  body: 'buffer' | 'stream' = 'buffer',
): Promise<Outcome[]> => {
  const client = `
    const [url, key, bytes, attempts, kind] = process.argv.slice(1);
    const payload = Buffer.alloc(Number(bytes), 0x20);
    const outcomes = [];
    for (let i = 0; i < Number(attempts); i++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer ' + key },
          body: kind === 'stream' ? new Blob([payload]).stream() : payload,
          duplex: 'half',
        });
        const text = await response.text();
        outcomes.push({ status: response.status, contentType: response.headers.get('content-type'), body: JSON.parse(text) });
      } catch (error) {
        outcomes.push({ error: String(error), cause: error.cause?.code ?? String(error.cause) });
      }
    }
    console.log(JSON.stringify(outcomes));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', client, url, key, String(bytes), String(attempts), body],
    { maxBuffer: MiB },
  );
  return JSON.parse(stdout) as Outcome[];
};

/** One line per outcome, so that a failure reads `fetch failed (EPIPE)` next to `413 payload-too-large`. */
const summary = (outcome: Outcome): string =>
  'error' in outcome
    ? `${outcome.error} (${outcome.cause})`
    : `${outcome.status} ${String((outcome.body as { type?: string }).type).replace('https://tally.dev/problems/', '')}`;

const payloadTooLarge = {
  status: 413,
  contentType: 'application/problem+json',
  body: {
    type: 'https://tally.dev/problems/payload-too-large',
    title: 'Payload too large',
    status: 413,
    detail: expect.any(String),
    instance: expect.stringMatching(/^urn:tally:request:/),
  },
};

/** The raw answer to a request head sent with no body, and whether the server then closed the connection. */
const answerToHead = (url: string, head: string): Promise<{ answer: string; closed: boolean }> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false });
    }, 5_000);
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
    socket.write(head);
  });

/** Sends a chunked body of `bytes` (1 MiB chunks) over a raw socket, then waits for the answer and the close. */
const chunkedUpload = (url: string, key: string, bytes: number): Promise<{ answer: string; closed: boolean }> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', () => undefined); // a reset after the answer: the answer is what is checked
    socket.on('close', () => resolve({ answer, closed: true }));
    socket.write(
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${key}\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n`,
    );
    const frame = Buffer.concat([Buffer.from(`${MiB.toString(16)}\r\n`), Buffer.alloc(MiB, 0x20), Buffer.from('\r\n')]);
    const send = async () => {
      for (let sent = 0; sent < bytes && !socket.destroyed; sent += MiB)
        if (!socket.write(frame))
          await new Promise<void>((next) => {
            const go = () => {
              socket.off('drain', go).off('close', go);
              next();
            };
            socket.on('drain', go).on('close', go);
          });
    };
    void send();
  });

/** A POST with `Expect: 100-continue` (node:http): the body is sent only if the server says 100 Continue. */
const postExpectingContinue = (
  url: string,
  key: string,
  body: Buffer,
): Promise<{ continued: boolean; status: number; body: unknown }> =>
  new Promise((resolve, reject) => {
    let continued = false;
    const request = httpRequest(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        'content-length': String(body.length),
        expect: '100-continue',
      },
    });
    request.on('continue', () => {
      continued = true;
      request.end(body);
    });
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        // Answered without 100 Continue: the body is not sent, the request is over.
        if (!continued) request.destroy();
        resolve({ continued, status: response.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
    request.on('error', reject);
    request.flushHeaders();
  });

/**
 * A body over the 5 MiB limit is refused with the documented 413 problem, and the refusal reaches the client:
 * the server reads and drops the rest of a body up to 64 MiB before answering (or answers before the body when
 * the client sent `Expect: 100-continue`), instead of closing while the client is still uploading.
 */
describe('a body over the limit', () => {
  const namespace = uniqueName('oversized');
  let ingestion: RunningTally;
  let key: string;
  let intake: string;

  beforeAll(async () => {
    ingestion = await startApp('ingestion', namespace);
    key = await createProducerKey(ingestion.url);
    intake = `${ingestion.url}/v1/events`;
  });
  afterAll(async () => {
    await ingestion?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  // Eight attempts each: before the fix between none and most of them ended in `fetch failed` (EPIPE), by run.
  it.each([6, 20, 64])('a fetch client uploading %i MiB receives the 413 problem', { timeout: 60_000 }, async (mib) => {
    const outcomes = await fetchFromAnotherProcess(intake, key, mib * MiB, 8);
    expect(outcomes.map(summary)).toEqual(Array(8).fill('413 payload-too-large'));
    for (const outcome of outcomes) expect(outcome).toEqual(payloadTooLarge);
  });

  it('a chunked upload over the limit (no Content-Length) receives the 413 problem', { timeout: 60_000 }, async () => {
    const outcomes = await fetchFromAnotherProcess(intake, key, 20 * MiB, 4, 'stream');
    expect(outcomes.map(summary)).toEqual(Array(4).fill('413 payload-too-large'));
    for (const outcome of outcomes) expect(outcome).toEqual(payloadTooLarge);
  });

  it('with Expect: 100-continue an oversized body is refused before it is sent', async () => {
    const refused = await postExpectingContinue(intake, key, Buffer.alloc(20 * MiB, 0x20));
    expect(refused).toEqual({ continued: false, status: 413, body: payloadTooLarge.body });
    // A body within the limit is asked for (100 Continue) and taken.
    const taken = await postExpectingContinue(
      intake,
      key,
      Buffer.from(JSON.stringify([usageEvent('expect-continue-1', 'inst-1')])),
    );
    expect(taken).toMatchObject({ continued: true, status: 200, body: { results: [{ status: 'accepted' }] } });
  });

  it('a body announced over 64 MiB is answered 413 at once, without reading it, and the connection closed', async () => {
    const { answer, closed } = await answerToHead(
      ingestion.url,
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Length: ${discardBodyBytes + 1}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('https://tally.dev/problems/payload-too-large');
    expect(closed).toBe(true);
  });

  it(
    'the limit is unchanged: exactly 5 MiB is read and parsed, one byte more is 413',
    { timeout: 30_000 },
    async () => {
      const batch = JSON.stringify([usageEvent('at-the-limit', 'inst-1')]);
      const post = (body: string) =>
        fetch(intake, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body,
        });
      const atLimit = await post(batch.padEnd(maxBodyBytes, ' '));
      expect(atLimit.status).toBe(200);
      expect(await atLimit.json()).toMatchObject({ results: [{ status: 'accepted' }] });
      const over = await post(batch.padEnd(maxBodyBytes + 1, ' '));
      expect({ status: over.status, contentType: over.headers.get('content-type'), body: await over.json() }).toEqual(
        payloadTooLarge,
      );
    },
  );

  it('a chunked body within the limit is still taken', async () => {
    const response = await fetch(intake, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: new Blob([JSON.stringify([usageEvent('chunked-within', 'inst-1')])]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ results: [{ status: 'accepted' }] });
  });

  it('a chunked body past 64 MiB is answered 413 as soon as it passes, and the connection closed', async () => {
    // 1 MiB past the bound, then nothing more is sent: the answer comes without the end of the body.
    const { answer, closed } = await chunkedUpload(ingestion.url, key, discardBodyBytes + MiB);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('https://tally.dev/problems/payload-too-large');
    expect(closed).toBe(true);
  });

  it(
    'the dropped bytes are not held: live buffers grow far less than the 64 MiB read',
    { timeout: 120_000 },
    async () => {
      // A collection before each sample, so that the samples count live buffers, not garbage not yet collected.
      // Every 100 ms, not more often: a full collection of this worker's heap takes tens of ms, and sampling every
      // 20 ms left the server's loop mostly collecting (25 s for this test on a quiet machine, past 60 s on a busy
      // one). A body held whole would stay for the whole read, seconds, so 100 ms cannot miss it.
      setFlagsFromString('--expose-gc');
      const collect = runInNewContext('gc') as () => void;
      collect();
      const before = process.memoryUsage().arrayBuffers;
      let peak = 0;
      const sampler = setInterval(() => {
        collect();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      }, 100);
      try {
        const outcomes = await fetchFromAnotherProcess(intake, key, 64 * MiB, 2);
        expect(outcomes.map(summary)).toEqual(['413 payload-too-large', '413 payload-too-large']);
      } finally {
        clearInterval(sampler);
      }
      // Holding the body would show 64 MiB at least; socket and parser buffers in flight were seen up to ≈ 20 MiB
      // (21.2 MB once a collection came every 100 ms rather than every 20 ms, which had slowed the reading down).
      expect(peak).toBeLessThan(32 * MiB);
    },
  );
});
