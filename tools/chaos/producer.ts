import { ExactDecimal, sleep } from '@tally/shared/util-core';

export interface Usage {
  events: number;
  /** Exact sum of gbSeconds. */
  gbSeconds: ExactDecimal;
}

/** What producers saw in one phase. */
export interface ProducerView {
  batches: number;
  statuses: Record<string, number>;
  retryAfter: Set<string>;
  /** Batches answered 200 while the fault was active. */
  acceptedDuringFault: number;
}

const batchSize = 250;

/**
 * An at-least-once producer: it sends batches of usage to the ingestion instances in turn and, until a
 * batch is answered 200, sends the very same batch again (to the next instance), waiting as Retry-After
 * says. What was acknowledged is what Tally owes: per account, the event count and the exact sum.
 */
export class Producer {
  private readonly acknowledged = new Set<string>();
  private readonly owed = new Map<string, Usage>();
  private next = 0;
  faultActive = false;

  constructor(
    private readonly intake: () => string[],
    private readonly apiKey: string,
    /** subject → account */
    private readonly subjects: ReadonlyMap<string, string>,
    /** Event times are drawn from [from, to). */
    private readonly from: Date,
    private readonly to: Date,
  ) {}

  get acknowledgedCount(): number {
    return this.acknowledged.size;
  }

  expected(): ReadonlyMap<string, Usage> {
    return this.owed;
  }

  total(): Usage {
    let gbSeconds = new ExactDecimal(0);
    let events = 0;
    for (const usage of this.owed.values()) {
      gbSeconds = gbSeconds.plus(usage.gbSeconds);
      events += usage.events;
    }
    return { events, gbSeconds };
  }

  /** Sends `count` new events at about `perSecond`, two batches in flight; resolves when all are acknowledged. */
  async produce(phase: string, count: number, perSecond: number): Promise<ProducerView> {
    const view: ProducerView = { batches: 0, statuses: {}, retryAfter: new Set(), acceptedDuringFault: 0 };
    const batches: Record<string, unknown>[][] = [];
    for (let sent = 0; sent < count; sent += batchSize)
      batches.push(
        Array.from({ length: Math.min(batchSize, count - sent) }, (_, i) => this.event(`${phase}-${sent + i}`)),
      );
    const started = Date.now();
    let cursor = 0;
    const lane = async () => {
      while (cursor < batches.length) {
        const index = cursor++;
        // Pacing: batch n leaves no earlier than n · batchSize / perSecond after the start.
        await sleep(Math.max(0, started + (index * batchSize * 1_000) / perSecond - Date.now()));
        await this.deliver(batches[index], view);
      }
    };
    await Promise.all([lane(), lane()]);
    return view;
  }

  private event(id: string): Record<string, unknown> {
    const subjects = [...this.subjects.keys()];
    const subject = subjects[Math.floor(Math.random() * subjects.length)];
    const time = new Date(this.from.getTime() + Math.floor(Math.random() * (this.to.getTime() - this.from.getTime())));
    // Up to 9 integer digits and 6 decimals: exact sums are the point.
    const gbSeconds = `${Math.floor(Math.random() * 1_000)}.${String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0')}`;
    return {
      specversion: '1.0',
      id,
      source: '//chaos/fn-runtime',
      type: 'fn.invocation',
      subject,
      time: time.toISOString(),
      data: { gbSeconds },
    };
  }

  private async deliver(batch: Record<string, unknown>[], view: ProducerView): Promise<void> {
    view.batches += 1;
    for (;;) {
      const urls = this.intake();
      const url = urls[this.next++ % urls.length];
      let status = 'network error';
      let retryAfter: string | null = null;
      try {
        const response = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}` },
          body: JSON.stringify(batch),
          signal: AbortSignal.timeout(30_000),
        });
        status = String(response.status);
        retryAfter = response.headers.get('retry-after');
        if (response.status === 200) {
          const body = (await response.json()) as { results: { id: string; status: string }[] };
          if (body.results.every((r) => r.status === 'accepted' || r.status === 'duplicate')) {
            view.statuses[status] = (view.statuses[status] ?? 0) + 1;
            if (this.faultActive) view.acceptedDuringFault += 1;
            this.owe(batch);
            return;
          }
          status = '200 with rejections';
        } else await response.text();
      } catch {
        // The instance is gone (killed) or did not answer: the same batch goes again.
      }
      view.statuses[status] = (view.statuses[status] ?? 0) + 1;
      if (retryAfter) view.retryAfter.add(retryAfter);
      await sleep(Number(retryAfter ?? 1) * 1_000);
    }
  }

  private owe(batch: Record<string, unknown>[]): void {
    for (const event of batch) {
      const id = event.id as string;
      if (this.acknowledged.has(id)) continue;
      this.acknowledged.add(id);
      const account = this.subjects.get(event.subject as string) as string;
      const usage = this.owed.get(account) ?? { events: 0, gbSeconds: new ExactDecimal(0) };
      this.owed.set(account, {
        events: usage.events + 1,
        gbSeconds: usage.gbSeconds.plus((event.data as { gbSeconds: string }).gbSeconds),
      });
    }
  }
}
