import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Below the OS's ephemeral range (32768–60999 on Linux by default): a port there can be handed to any
// outgoing connection (to Postgres, NATS…) while a killed server is down, and its restart then fails to bind.
const ephemeralFrom = (): number => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
};
const highest = Math.max(ephemeralFrom() - 1, 20_000);
const lowest = highest - 15_000;
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
