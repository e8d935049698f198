import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory of a process in MB, from /proc/<pid>/status (VmRSS); undefined once it is gone. */
export const rssMb = (pid: number): number | undefined => {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
};

/** Clock ticks a second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on every Linux Node runs on). */
const ticksPerSecond = 100;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export const cpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields are counted after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
};

/**
 * The processes of the machine's shared servers (every postgres backend, nats-server), by command name: their
 * CPU during the load says whether the database or the broker is the bound, beside the apps' own.
 */
export const serverPids = (): Record<'postgres' | 'nats-server', number[]> => {
  const found: Record<'postgres' | 'nats-server', number[]> = { postgres: [], 'nats-server': [] };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (name === 'postgres' || name === 'nats-server') found[name].push(Number(entry));
    } catch {
      // gone in between
    }
  }
  return found;
};

export interface RssSample {
  at: number;
  /** rest: no requests at all; idle: probes only (a usage event and ≈ 40 meter queries a second); load: the load too. */
  phase: 'rest' | 'idle' | 'load';
  mb: number;
}

/** Samples each named process's RSS every `everyMs`, tagged with the phase it was taken in. */
export class RssSampler {
  readonly samples = new Map<string, RssSample[]>();
  phase: RssSample['phase'] = 'rest';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pids: () => Record<string, number>,
    private readonly everyMs = 5_000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sample(): void {
    for (const [name, pid] of Object.entries(this.pids())) {
      const mb = rssMb(pid);
      if (mb === undefined) continue;
      const list = this.samples.get(name) ?? [];
      list.push({ at: Date.now(), phase: this.phase, mb });
      this.samples.set(name, list);
    }
  }

  /** Per process, the samples at rest (MB, one a second): when V8 gave the start-up's memory back. */
  restSeries(): { name: string; mb: number[] }[] {
    return [...this.samples].map(([name, list]) => ({
      name,
      mb: list.filter((s) => s.phase === 'rest').map((s) => s.mb),
    }));
  }

  /**
   * Per process (MB): the last sample at rest (where the process settles once nothing asks anything of it: V8 gives
   * back the young generation start-up grew only after a few quiet seconds), the largest idle sample, and the largest
   * and the last under load.
   */
  summary(): { name: string; restLast: number; idleMax: number; loadMax: number; loadLast: number }[] {
    return [...this.samples].map(([name, list]) => {
      const of = (phase: RssSample['phase']) => list.filter((s) => s.phase === phase).map((s) => s.mb);
      const load = of('load');
      return {
        name,
        restLast: of('rest').at(-1) ?? 0,
        idleMax: Math.max(0, ...of('idle')),
        loadMax: Math.max(0, ...load),
        loadLast: load.at(-1) ?? 0,
      };
    });
  }
}
