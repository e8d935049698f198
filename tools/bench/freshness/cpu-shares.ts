import { cpuSeconds, serverPids } from './process-stats';

/** CPU seconds so far of each named process, the machine's Postgres and NATS servers and this process. */
const snapshot = (apps: Record<string, number>, ownName: string): Map<string, number> => {
  const taken = new Map<string, number>();
  for (const [name, pid] of Object.entries(apps)) taken.set(name, cpuSeconds(pid));
  for (const [server, pids] of Object.entries(serverPids()))
    for (const pid of pids) taken.set(`${server}:${pid}`, cpuSeconds(pid));
  const own = process.cpuUsage();
  taken.set(ownName, (own.user + own.system) / 1e6);
  return taken;
};

/**
 * Each process's share of one core between `start()` and `stop()` (100 % = a whole core; the machine has two):
 * what bounds the run. Postgres backends are summed (one per connection, come and gone), as are NATS's.
 */
export class CpuShares {
  private before = new Map<string, number>();
  private startedAt = 0;

  /** `ownName`: how this process (the benchmark's load generator) is listed. */
  constructor(
    private readonly apps: () => Record<string, number>,
    private readonly ownName = 'bench (load + probes)',
  ) {}

  start(): void {
    this.before = snapshot(this.apps(), this.ownName);
    this.startedAt = performance.now();
  }

  stop(): { name: string; percent: number }[] {
    const after = snapshot(this.apps(), this.ownName);
    const seconds = (performance.now() - this.startedAt) / 1_000;
    const totals = new Map<string, number>();
    for (const [key, value] of after) {
      const name = key.split(':')[0];
      totals.set(name, (totals.get(name) ?? 0) + value - (this.before.get(key) ?? 0));
    }
    return [...totals].map(([name, used]) => ({ name, percent: (100 * used) / seconds }));
  }
}
