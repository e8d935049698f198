import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Outside the OS's ephemeral range (32768–60999 on Linux by default): a port there can be handed to any outgoing
// connection (to Postgres, NATS…) while a killed server is down, and its restart then fails to bind. Below the
// range when it leaves room there (the default), else above it.
const ephemeral = (): [number, number] => {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: its default range
  }
  return [32_768, 60_999];
};
const [ephemeralLow, ephemeralHigh] = ephemeral();
const room = 5_000;
const [lowest, highest] =
  ephemeralLow - 1 - 10_000 >= room
    ? [Math.max(10_000, ephemeralLow - 15_000), ephemeralLow - 1]
    : 65_535 - ephemeralHigh >= room
      ? [ephemeralHigh + 1, 65_535]
      : [10_000, 65_535]; // no room outside it: any port, checked free when drawn
const handedOut = new Set<number>();

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A TCP port nobody listens on right now, outside the range the OS draws outgoing connections' ports from,
 * so a test can kill and restart a server on it; with `consecutive` > 1, the first of that many free ports in a
 * row (the embedded platform takes PORT and PORT + 1). Never the same port twice in a process.
 */
export const freePort = async (consecutive = 1): Promise<number> => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lowest + Math.floor(Math.random() * (highest - lowest - consecutive + 2));
    const ports = Array.from({ length: consecutive }, (_, i) => port + i);
    if (ports.some((p) => handedOut.has(p))) continue;
    if (!(await Promise.all(ports.map(bindable))).every(Boolean)) continue;
    for (const p of ports) handedOut.add(p);
    return port;
  }
  throw new Error(`no ${consecutive} free port(s) in a row found between ${lowest} and ${highest}`);
};

/** Polls until the condition holds; fails with the message after timeoutMs. */
export const waitUntil = async (
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: () => string,
  intervalMs = 50,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
};
