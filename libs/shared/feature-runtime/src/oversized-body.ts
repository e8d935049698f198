import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Transform, TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * How much of a body over the limit is read, and dropped, so that its 413 reaches the client: 64 MiB.
 *
 * Fastify answers 413 as soon as it knows a body is too large (at once for a Content-Length over the limit) and
 * closes the connection, while the client is still sending. The unread bytes make the kernel reset the
 * connection, and a client still writing when the reset comes — Node's fetch (undici), often — loses the answer:
 * `TypeError: fetch failed` (cause `write EPIPE` or `ECONNRESET`) instead of the problem. Reading the rest of the
 * body first and answering after (what nginx calls a lingering close) lets the answer through. The bound caps
 * what a refused request costs: at most 64 MiB read from the network — never held, each chunk is dropped as it
 * arrives — only after its credential was checked, and within the request gate's bytes in flight. A mistaken
 * batch or file is seldom larger; past the bound the connection is closed at once (the client may see the reset).
 */
export const discardBodyBytes = 64 * 1024 * 1024;

/** Methods whose bodies Fastify never reads (Node drops such a body itself once the answer is sent). */
const bodyless = new Set(['GET', 'HEAD', 'TRACE']);

/**
 * An answer is already under way: a hook before this one refused the request (the gate's 503 when busy), and
 * with asynchronous onSend hooks `reply.sent` is not true yet.
 */
const answering = (reply: FastifyReply): boolean => reply.sent || reply.statusCode >= 400;

/**
 * Makes the 413 for a body over the route's `bodyLimit` reach the client, with Node's and Fastify's own means
 * (the `checkContinue` event, a `preParsing` hook); the limit itself and bodies within it are unchanged:
 * - `Expect: 100-continue`: the 100 is sent only once the body is wanted (after the request gate, within the
 *   limit), so an oversized body is refused before the client sends it;
 * - a Content-Length over the limit, up to {@link discardBodyBytes}: the body is read and dropped, then Fastify
 *   answers 413 by its Content-Length and closes; above that bound it answers at once, unread, as before;
 * - a chunked body: passed through up to the limit, then dropped until it ends (or passes the bound), and only
 *   then is Fastify shown the byte over its limit.
 * Must be installed after the request gate, so that its preParsing hook (the bytes in flight) runs first.
 */
export const installOversizedBodyAnswer = (fastify: FastifyInstance): void => {
  const awaitingContinue = new WeakSet<IncomingMessage>();
  // Node answers 100 Continue itself, before anything is checked, unless the server listens for checkContinue:
  // the request then goes through Fastify as any other, and the hook below sends the 100 when the body is wanted.
  fastify.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    awaitingContinue.add(request);
    fastify.server.emit('request', request, response);
  });

  fastify.addHook('preParsing', async (request, reply, payload) => {
    if (answering(reply)) return payload;
    const expectsContinue = awaitingContinue.has(request.raw);
    const contentLength = request.headers['content-length'];
    const declared = contentLength === undefined ? undefined : Number(contentLength);
    if (!bodyless.has(request.method) && declared !== undefined && declared > request.routeOptions.bodyLimit) {
      // A client waiting for 100 Continue has sent nothing: the 413 goes before the body does.
      if (expectsContinue || declared > discardBodyBytes) return payload;
      // Content-Length frames the body (Node reads exactly that much), so this reads at most discardBodyBytes.
      // Flowing with no 'data' listener, a stream drops its chunks: nothing is held.
      payload.resume();
      await finished(payload).catch(() => undefined); // the client went away meanwhile: nothing more to read
      return payload;
    }
    if (expectsContinue) reply.raw.writeContinue();
    if (declared === undefined && request.headers['transfer-encoding'] !== undefined) {
      const bounded = new DropPastLimit(request.routeOptions.bodyLimit);
      // Errors reach Fastify's parser through `bounded` (a client gone is a 400 as before).
      pipeline(payload, bounded, () => undefined);
      return bounded;
    }
    return payload;
  });
};

/**
 * A chunked body is known to be too large only once its bytes pass the limit. Hand-written because Fastify's
 * parser answers 413 on the first byte over its limit: this stream passes the body through up to the limit,
 * then drops what comes (keeping only the chunk that crossed it) and gives Fastify that chunk — the cause of its
 * 413 — at the end of the body, or as soon as more than {@link discardBodyBytes} have come. Then it stops
 * taking chunks, so nothing more is read before the connection is closed. Meanwhile Fastify keeps what it was
 * given, at most the limit, as for any body within it (the request gate counts a chunked body as the limit).
 */
class DropPastLimit extends Transform {
  private received = 0;
  private crossing?: Buffer;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received <= this.limit) return done(null, chunk);
    this.crossing ??= chunk;
    // Past the bound `done` is never called: the source is paused (backpressure) until the connection closes.
    if (this.received > discardBodyBytes) this.push(this.crossing);
    else done();
  }

  override _flush(done: TransformCallback): void {
    done(null, this.crossing);
  }
}
