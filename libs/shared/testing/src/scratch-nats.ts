import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, waitUntil } from './ports';

/** TLS files a client presents: the CA it trusts, its certificate and key. */
export interface ClientTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

const natsServer = process.env.TALLY_NATS_SERVER ?? '/usr/sbin/nats-server';

interface Node {
  name: string;
  port: number;
  clusterPort: number;
  config: string;
  process?: ChildProcess;
}

/**
 * NATS servers with JetStream of a test's (or the chaos harness's) own: one server, or a cluster of
 * three on loopback with routes between them (streams then take 3 replicas). Nodes can be killed and
 * restarted; their file stores survive, as a real node's disk would.
 */
export class ScratchNats {
  private constructor(
    private readonly root: string,
    private readonly nodes: Node[],
    /** A user the readiness probe may connect as, when the servers require authentication. */
    private readonly probeUser?: { user: string; pass: string },
    /** The TLS files the readiness probe connects with, when the servers require TLS. */
    private readonly probeTls?: ClientTls,
  ) {}

  /**
   * `authorization`: a nats-server authorization block (users, permissions); without it anyone may connect.
   * `tls`: the server's certificate and key, and a CA to verify clients' certificates with (mutual TLS); then
   * `clientTls` is what the readiness probe presents.
   */
  static async create(
    options: {
      nodes?: 1 | 3;
      authorization?: string;
      user?: { user: string; pass: string };
      tls?: { certFile: string; keyFile: string; caFile: string };
      clientTls?: ClientTls;
    } = {},
  ): Promise<ScratchNats> {
    const count = options.nodes ?? 1;
    const root = mkdtempSync(join(tmpdir(), 'tally-nats-'));
    const nodes: Node[] = [];
    for (let i = 0; i < count; i++)
      nodes.push({
        name: `n${i + 1}`,
        port: await freePort(),
        clusterPort: await freePort(),
        config: join(root, `n${i + 1}.conf`),
      });
    for (const node of nodes) {
      const store = join(root, node.name);
      mkdirSync(store, { recursive: true });
      const routes = nodes.filter((n) => n !== node).map((n) => `nats-route://127.0.0.1:${n.clusterPort}`);
      writeFileSync(
        node.config,
        [
          `server_name: ${node.name}`,
          `listen: 127.0.0.1:${node.port}`,
          `jetstream { store_dir: "${store}" }`,
          ...(count > 1
            ? [`cluster { name: tally-scratch, listen: 127.0.0.1:${node.clusterPort}, routes: [${routes.join(', ')}] }`]
            : []),
          ...(options.authorization ? [options.authorization] : []),
          ...(options.tls
            ? [
                `tls { cert_file: "${options.tls.certFile}", key_file: "${options.tls.keyFile}", ca_file: "${options.tls.caFile}", verify: true, timeout: 2 }`,
              ]
            : []),
        ].join('\n'),
      );
    }
    const cluster = new ScratchNats(root, nodes, options.user, options.clientTls);
    await Promise.all(nodes.map((n) => cluster.startNode(n)));
    await cluster.waitForJetStream();
    return cluster;
  }

  /** Every node, comma-separated, as NATS_URL takes them. */
  get url(): string {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
  }

  get size(): number {
    return this.nodes.length;
  }

  /** kill -9 of one node (0-based), or of all of them. */
  async kill(index?: number): Promise<void> {
    await Promise.all(this.pick(index).map((n) => this.signal(n, 'SIGKILL')));
  }

  async start(index?: number): Promise<void> {
    await Promise.all(this.pick(index).map((n) => this.startNode(n)));
    await this.waitForJetStream();
  }

  async destroy(): Promise<void> {
    await this.kill().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }

  private pick(index?: number): Node[] {
    return index === undefined ? this.nodes : [this.nodes[index]];
  }

  private async startNode(node: Node): Promise<void> {
    if (node.process && node.process.exitCode === null && node.process.signalCode === null) return;
    const child = spawn(natsServer, ['-c', node.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    node.process = child;
    await waitUntil(
      () => log.includes('Server is ready') || child.exitCode !== null,
      20_000,
      () => `nats node ${node.name} did not start: ${log}`,
    );
    if (child.exitCode !== null) throw new Error(`nats node ${node.name} exited: ${log}`);
  }

  private async signal(node: Node, signal: NodeJS.Signals): Promise<void> {
    const child = node.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    node.process = undefined;
  }

  /** A clustered JetStream needs a meta leader before it takes streams; a lone server is ready when it listens. */
  private async waitForJetStream(): Promise<void> {
    const alive = this.nodes.filter((n) => n.process);
    await waitUntil(
      async () =>
        (await Promise.all(alive.map((n) => jetStreamReady(n.port, this.probeUser, this.probeTls)))).every(Boolean),
      30_000,
      () => 'JetStream did not become ready',
      200,
    );
  }
}

/** JetStream answers on this node (in a cluster: a meta leader exists and the node has joined). */
const jetStreamReady = async (
  port: number,
  user?: { user: string; pass: string },
  tls?: ClientTls,
): Promise<boolean> => {
  const nc = await connect({
    servers: `nats://127.0.0.1:${port}`,
    reconnect: false,
    timeout: 2_000,
    ...user,
    ...(tls ? { tls } : {}),
  }).catch(() => undefined);
  if (!nc) return false;
  try {
    await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc.close().catch(() => undefined);
  }
};
