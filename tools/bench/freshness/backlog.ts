import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { testNatsUrl } from '@tally/shared/testing';
import { RunningApp } from './apps';

/**
 * Where the work waits when the load ends: each running projection's ledger events not yet applied (counted up to
 * 10,000), and in distributed mode each JetStream consumer's messages not yet delivered or not yet acknowledged.
 * The stage with the backlog is the one the load outran.
 */
export const backlog = async (processes: readonly RunningApp[], adminToken: string, namespace?: string) => {
  const lines: string[] = [];
  for (const { name, url } of processes) {
    const response = await fetch(`${url}/v1/admin/projections`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (!response?.ok) continue;
    const { projections } = (await response.json()) as {
      projections: { name: string; status: string; behind: number }[];
    };
    const running = projections.filter((p) => p.status === 'running');
    lines.push(`${name}: ${running.map((p) => `${p.name} ${p.behind >= 10_000 ? '≥10,000' : p.behind}`).join(', ')}`);
  }
  if (namespace) {
    const nc = await connect({ servers: testNatsUrl() });
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.list()) {
      if (!stream.config.name.startsWith(`${namespace.toUpperCase()}_`)) continue;
      for await (const consumer of jsm.consumers.list(stream.config.name))
        lines.push(
          `JetStream ${stream.config.name} → ${consumer.name}: ${consumer.num_pending.toLocaleString('en')} not delivered, ${consumer.num_ack_pending.toLocaleString('en')} not acknowledged`,
        );
    }
    await nc.close();
  }
  return lines;
};
