import { sleep } from '@tally/shared/util-core';
import { admin, mainProjection } from './checks';
import { App, apps, AppProcess, chaosNamespace, Cluster } from './cluster';

export interface Fault {
  name: string;
  /** About how long the fault lasts, for pacing the producer across it. */
  lastsMs: number;
  /** Breaks something, waits, repairs it; resolves once repaired. Returns what it measured. */
  inject(cluster: Cluster, log: (line: string) => void): Promise<string[]>;
}

const leaderOf = async (instances: AppProcess[], projection: string): Promise<AppProcess | undefined> => {
  for (const instance of instances) {
    const answer = await admin(instance.url, '/v1/admin/projections').catch(() => undefined);
    if (
      answer?.body?.projections?.some(
        (p: { name: string; status: string }) => p.name === projection && p.status === 'running',
      )
    )
      return instance;
  }
  return undefined;
};

/** kill -9 of the instance leading the app's main projection; ms until the other instance runs it. */
const killLeader = async (cluster: Cluster, app: App): Promise<{ killed: AppProcess; failoverMs: number }> => {
  const projection = mainProjection[app];
  let leader: AppProcess | undefined;
  for (let i = 0; i < 100 && !leader; i++) {
    leader = await leaderOf(cluster.of(app), projection);
    if (!leader) await sleep(200);
  }
  if (!leader) throw new Error(`no instance of ${app} runs ${projection}`);
  const other = cluster.of(app).find((i) => i !== leader) as AppProcess;
  const killedAt = Date.now();
  await leader.kill9();
  for (;;) {
    if ((await leaderOf([other], projection)) === other) return { killed: leader, failoverMs: Date.now() - killedAt };
    if (Date.now() - killedAt > 60_000)
      throw new Error(`${projection} not taken over within 60 s after ${leader.name} was killed`);
    await sleep(50);
  }
};

/** Every instance of every app killed with SIGKILL, the leader of each pair first; failover times measured. */
const killEveryInstance: Fault = {
  name: 'kill -9 of every app instance',
  lastsMs: 30_000,
  inject: async (cluster, log) => {
    const notes: string[] = [];
    await Promise.all(
      apps.map(async (app) => {
        const times: number[] = [];
        for (let round = 0; round < 2; round++) {
          const { killed, failoverMs } = await killLeader(cluster, app);
          times.push(failoverMs);
          log(`  killed ${killed.name}; ${mainProjection[app]} taken over in ${failoverMs} ms`);
          await killed.start();
        }
        notes.push(`${app}: failover ${times.join(' ms, ')} ms`);
      }),
    );
    return notes;
  },
};

const killOneNatsNode = (outageMs: number): Fault => ({
  name: 'kill -9 of one NATS node',
  lastsMs: outageMs,
  inject: async (cluster) => {
    await cluster.nats.kill(0);
    await sleep(outageMs);
    await cluster.nats.start(0);
    return [`node down ${outageMs / 1_000} s`];
  },
});

const killNatsCluster = (outageMs: number): Fault => ({
  name: 'kill -9 of the whole NATS cluster',
  lastsMs: outageMs,
  inject: async (cluster) => {
    await cluster.nats.kill();
    await sleep(outageMs);
    await cluster.nats.start();
    return [`cluster down ${outageMs / 1_000} s`];
  },
});

const stopPostgres = (outageMs: number): Fault => ({
  name: `Postgres stopped for ${outageMs / 1_000} s`,
  lastsMs: outageMs,
  inject: async (cluster) => {
    await cluster.postgres.stop();
    await sleep(outageMs);
    await cluster.postgres.start();
    return [];
  },
});

/** As on a full disk or a failover: every append to the ledger fails (SQLSTATE 53100), everything else works. */
const failLedgerWrites = (outageMs: number): Fault => ({
  name: `ledger writes failing for ${outageMs / 1_000} s`,
  lastsMs: outageMs,
  inject: async (cluster) => {
    const ledger = `"${chaosNamespace}_ledger"`;
    await cluster.postgres.query(`
      create or replace function ${ledger}.chaos_disk_full() returns trigger language plpgsql as
        $$ begin raise exception 'could not extend file: No space left on device' using errcode = '53100'; end $$;
      create trigger chaos_disk_full before insert on ${ledger}.events for each statement execute function ${ledger}.chaos_disk_full();`);
    await sleep(outageMs);
    await cluster.postgres.query(`drop trigger chaos_disk_full on ${ledger}.events`);
    return [];
  },
});

/** A restart: every lock connection is cut at once; the checks then demand exactly one writer per projection. */
const restartPostgres: Fault = {
  name: 'Postgres restart, then one writer each',
  lastsMs: 5_000,
  inject: async (cluster) => {
    await cluster.postgres.restart();
    return [];
  },
};

export const faults = (short: boolean): Fault[] => [
  killEveryInstance,
  killOneNatsNode(short ? 10_000 : 20_000),
  killNatsCluster(short ? 8_000 : 30_000),
  stopPostgres(short ? 15_000 : 60_000),
  // Longer than the 21 s that five deliveries used to last before a message was dead-lettered.
  failLedgerWrites(short ? 25_000 : 60_000),
  restartPostgres,
];
