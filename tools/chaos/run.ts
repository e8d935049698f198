import { messageOf, sleep } from '@tally/shared/util-core';
import { Check, checkReadPaths } from './checks';
import { Cluster, startCluster } from './cluster';
import { faults } from './faults';
import { checkInvoices } from './invoices';
import { Producer, ProducerView } from './producer';
import { setUp } from './setup';

export interface ChaosOptions {
  /** Events in all, spread over the faults. */
  events: number;
  /** Shorter outages (CI); every fault still runs once. */
  short: boolean;
  log: (line: string) => void;
}

export interface PhaseResult {
  fault: string;
  events: number;
  producers: ProducerView;
  notes: string[];
  /** From the last acknowledged event of the phase to every check passing; null when they never all passed. */
  convergedMs: number | null;
  /** From the repair (the fault's end) to every check passing. */
  sinceRepairMs: number | null;
  checks: Check[];
}

const convergeWithinMs = 240_000;

/** Polls every read path until all agree with what producers were told, or time runs out. */
const converge = async (
  cluster: Cluster,
  producer: Producer,
  period: Parameters<typeof checkReadPaths>[2],
  log: (line: string) => void,
): Promise<{ convergedMs: number | null; checks: Check[] }> => {
  const started = Date.now();
  let checks: Check[] = [];
  let reported = started;
  while (Date.now() - started < convergeWithinMs) {
    checks = await checkReadPaths(cluster, producer, period);
    if (checks.every((c) => c.ok)) return { convergedMs: Date.now() - started, checks };
    if (Date.now() - reported >= 10_000) {
      reported = Date.now();
      log(
        `  after ${Math.round((reported - started) / 1_000)} s still waiting for: ${checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name} (${c.detail})`)
          .join('; ')}`,
      );
    }
    await sleep(1_000);
  }
  return { convergedMs: null, checks };
};

/**
 * The chaos run: a cluster of its own, usage produced at-least-once while each fault is injected in
 * turn, and after each the whole system compared with what producers were told.
 */
export const runChaos = async (
  options: ChaosOptions,
): Promise<{ phases: PhaseResult[]; invoices: Check[]; logDir: string }> => {
  const { log } = options;
  const cluster = await startCluster(log);
  // Interrupted (Ctrl-C, a CI timeout): take the processes and servers of the run down with it.
  const interrupted = () => void cluster.stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const setup = await setUp(cluster);
    const producer = new Producer(
      () => cluster.of('ingestion').map((i) => i.url),
      setup.apiKey,
      setup.subjects,
      setup.usageFrom,
      setup.usageTo,
    );
    const list = faults(options.short);
    const perFault = Math.ceil(options.events / list.length);
    const phases: PhaseResult[] = [];
    for (const [index, fault] of list.entries()) {
      log(`${index + 1}/${list.length} ${fault.name}: ${perFault} events`);
      // Paced to keep producing through the fault and a little beyond.
      const producing = producer.produce(`f${index + 1}`, perFault, perFault / ((fault.lastsMs + 10_000) / 1_000));
      await sleep(2_000);
      producer.faultActive = true;
      const notes = await fault
        .inject(cluster, log)
        .catch((error) => [`fault could not be injected as planned: ${messageOf(error)}`]);
      producer.faultActive = false;
      const repairedAt = Date.now();
      const producers = await producing;
      const { convergedMs, checks } = await converge(cluster, producer, setup.period, log);
      const sinceRepairMs = convergedMs === null ? null : Date.now() - repairedAt;
      phases.push({ fault: fault.name, events: perFault, producers, notes, convergedMs, sinceRepairMs, checks });
      log(
        `  ${convergedMs === null || sinceRepairMs === null ? 'did NOT converge' : `converged ${seconds(sinceRepairMs)} after the repair, ${seconds(convergedMs)} after the last event was acknowledged`}; producers saw ${describeView(producers)}`,
      );
      for (const check of checks.filter((c) => !c.ok)) log(`  FAILED ${check.name}: ${check.detail}`);
    }
    const invoices = await checkInvoices(cluster, producer, setup);
    return { phases, invoices, logDir: cluster.logDir };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await cluster.stop();
  }
};

export const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;

export const describeView = (view: ProducerView): string =>
  `${Object.entries(view.statuses)
    .map(([status, n]) => `${status}×${n}`)
    .join(', ')}${view.retryAfter.size > 0 ? `, Retry-After ${[...view.retryAfter].join('/')} s` : ''}`;
