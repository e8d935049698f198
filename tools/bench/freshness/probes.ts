import { sleep } from '@tally/shared/util-core';
import { bench } from './setup';

export type Phase = 'idle' | 'load';

export interface ProbeResult {
  phase: Phase;
  /** From the 2xx of its POST to the first meter query answer that holds its value (a lower bound if not seen). */
  latencyMs: number;
  seen: boolean;
}

interface Outstanding {
  id: string;
  phase: Phase;
  acceptedAt: number;
}

/** At most this many probe ids in one query (the meter query takes up to 100 values of a group-by filter). */
const idsPerQuery = 100;
const pollEveryMs = 25;

/**
 * Probe events through the same intake, attribution and rollups as the load, each with a unique id in a group-by
 * of a meter of its own: every `1 / perSecond` s one is sent; one poller asks the meter query, every 25 ms, for the
 * ids not seen yet (the oldest 100) and records each as it appears — one query for all, so polling adds a steady
 * 40 queries/s whatever the backlog, and no probe waits for another's answer.
 */
export class Probes {
  readonly results: ProbeResult[] = [];
  phase: Phase = 'idle';
  sendFailures = 0;
  queryFailures = 0;
  queries = 0;
  private readonly outstanding = new Map<string, Outstanding>();
  private sent = 0;
  private sending?: NodeJS.Timeout;
  private polling = false;
  private poller?: Promise<void>;
  private readonly sends = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      intakeUrl: string;
      queryUrl: string;
      apiKey: string;
      adminToken: string;
      perSecond: number;
      /** The query's `from`: before the first probe's time (the start of the benchmark's hour). */
      from: string;
    },
  ) {}

  start(): void {
    this.sending = setInterval(() => {
      const send = this.send();
      this.sends.add(send);
      void send.finally(() => this.sends.delete(send));
    }, 1_000 / this.options.perSecond);
    this.polling = true;
    this.poller = this.poll();
  }

  /** Stops sending, waits up to `timeoutMs` for the probes sent to appear, and counts the others as not seen. */
  async finish(timeoutMs: number): Promise<void> {
    clearInterval(this.sending);
    await Promise.all(this.sends);
    const deadline = performance.now() + timeoutMs;
    while (this.outstanding.size > 0 && performance.now() < deadline) await sleep(pollEveryMs);
    this.polling = false;
    await this.poller;
    const now = performance.now();
    for (const probe of this.outstanding.values()) {
      this.results.push({ phase: probe.phase, latencyMs: now - probe.acceptedAt, seen: false });
      this.unseen.push({ id: `probe-${probe.id}`, phase: probe.phase });
    }
    this.outstanding.clear();
  }

  /** The event ids of the probes accepted but never seen in the meter query (to look for in the apps' logs). */
  readonly unseen: { id: string; phase: Phase }[] = [];

  get pending(): number {
    return this.outstanding.size;
  }

  private async send(): Promise<void> {
    const id = `p${this.sent++}`;
    const phase = this.phase;
    const event = {
      specversion: '1.0',
      id: `probe-${id}`,
      source: bench.source,
      type: bench.probeType,
      subject: bench.probeSubject,
      time: new Date().toISOString(),
      data: { probe: id, value: '1' },
    };
    try {
      const response = await fetch(`${this.options.intakeUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${this.options.apiKey}` },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(30_000),
      });
      // Timed at the answer's arrival: what a producer sees as "accepted".
      const acceptedAt = performance.now();
      const answer = (await response.json()) as { accepted?: number };
      if (response.status >= 200 && response.status < 300 && answer.accepted === 1)
        this.outstanding.set(id, { id, phase, acceptedAt });
      else this.sendFailures++;
    } catch {
      this.sendFailures++;
    }
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      const started = performance.now();
      if (this.outstanding.size > 0) await this.query([...this.outstanding.keys()].slice(0, idsPerQuery));
      await sleep(Math.max(0, started + pollEveryMs - performance.now()));
    }
  }

  private async query(ids: string[]): Promise<void> {
    const params = new URLSearchParams({ from: this.options.from, groupBy: 'probe' });
    for (const id of ids) params.append('filterGroupBy[probe]', id);
    this.queries++;
    try {
      const response = await fetch(`${this.options.queryUrl}/api/v1/meters/${bench.probeMeter}/query?${params}`, {
        headers: { authorization: `Bearer ${this.options.adminToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      const answeredAt = performance.now();
      if (!response.ok) return void this.queryFailures++;
      const { data } = (await response.json()) as { data: { value: number; groupBy: Record<string, string> }[] };
      for (const row of data) {
        const probe = this.outstanding.get(row.groupBy.probe);
        if (!probe || !(Number(row.value) > 0)) continue;
        this.results.push({ phase: probe.phase, latencyMs: answeredAt - probe.acceptedAt, seen: true });
        this.outstanding.delete(probe.id);
      }
    } catch {
      this.queryFailures++;
    }
  }
}
