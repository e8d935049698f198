import {
  billableUsageBatchSubject,
  BillableUsageBatchReplyV1,
  BillableUsageReplyV1,
  BillableUsageRequestV1,
  billableUsageSubject,
  BillableUsageValueV1,
} from '@tally/contracts/meters';
import { decodeJson, encodeJson, MessageBus, RequestFailedError } from '@tally/shared/data-access-messaging';
import type { Tenancy } from '@tally/shared/feature-runtime';
import { refuse } from '@tally/invoicing/domain';
import { callBatcher } from '@tally/shared/util-core';
import { billingBatchLingerMs } from './batching';

type Query = Omit<BillableUsageRequestV1, 'tenant'>;

/** Changed hours as ranges [from, to); null: every earlier period must be taken as changed. */
export type ChangedUsage = { from: string; to: string }[] | null;

export interface UsageSnapshot {
  values: BillableUsageValueV1[];
  position: bigint | null;
  /** Only when asked (`changes`). */
  changed?: ChangedUsage;
}

/**
 * A batch's most (meter, interval) pairs: its answer holds a value per pair and per group, and NATS carries 1 MB.
 * A batch whose answer is still too large is asked again query by query.
 */
const maxPairsPerBatch = 2_000;
const timeoutMs = 30_000;

/**
 * Asks aggregation (NATS request/reply) how much of each meter an account used in some intervals. Queries asked at
 * about the same time (a billing run's invoices in flight) go as one batch request, one snapshot of the rollups
 * for all; an aggregation that does not serve batches yet (a rolling upgrade) is asked query by query.
 */
export class BillableUsageClient {
  constructor(
    private readonly bus: MessageBus,
    private readonly tenancy: Pick<Tenancy, 'current'>,
    /** Invoicing's clock: time-weighted levels are asked up to its now (asOf), unless the request says. */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private readonly ask = callBatcher<BillableUsageRequestV1, BillableUsageReplyV1>({
    maxBatch: maxPairsPerBatch,
    lingerMs: billingBatchLingerMs,
    weight: (q) => q.intervals.length * q.meters.length,
    key: (q) => q.tenant,
    run: (requests) => (requests.length === 1 ? this.askOne(requests[0]).then((r) => [r]) : this.askMany(requests)),
    alone: (request) => this.askOne(request),
    // Aggregation did not answer in time: asking each query again would double the wait and flood it.
    retryAlone: (error) => !(error instanceof RequestFailedError && error.reason === 'timeout'),
  });

  private async askOne(request: BillableUsageRequestV1): Promise<BillableUsageReplyV1> {
    const answer = await this.bus.request(billableUsageSubject, encodeJson(request), { timeoutMs });
    const reply = decodeJson<BillableUsageReplyV1 | { detail?: string }>(answer.data);
    // Not an answer but the bus's problem (an answer over NATS's 1 MB): said as unavailable, in its words.
    return 'ok' in reply
      ? reply
      : { ok: false, error: { type: 'unavailable', detail: reply.detail ?? 'aggregation sent no answer' } };
  }

  /** Throws when the batch as a whole got no answers (no batch responder, an answer too large): asked one by one then. */
  private async askMany(requests: BillableUsageRequestV1[]): Promise<BillableUsageReplyV1[]> {
    const [{ tenant }] = requests;
    const queries = requests.map(({ tenant: _, ...query }) => query);
    const answer = await this.bus.request(billableUsageBatchSubject, encodeJson({ tenant, queries }), { timeoutMs });
    const reply = decodeJson<BillableUsageBatchReplyV1 | { detail?: string }>(answer.data);
    if (!('ok' in reply) || !reply.ok || !Array.isArray(reply.answers))
      throw new Error(
        `the batch was not answered: ${'ok' in reply && !reply.ok ? reply.error.detail : JSON.stringify(reply)}`,
      );
    return reply.answers;
  }

  async quantities(request: Query): Promise<BillableUsageValueV1[]> {
    return (await this.snapshot(request)).values;
  }

  /**
   * The values and the ledger position the rollups had reached when they were read; asked with `changes`, also the
   * account's changed hours since a position (null: aggregation cannot say, or does not know the question).
   */
  async snapshot(request: Query): Promise<UsageSnapshot> {
    if ((request.intervals.length === 0 || request.meters.length === 0) && !request.changes)
      return { values: [], position: null };
    let reply: BillableUsageReplyV1;
    try {
      reply = await this.ask({ tenant: this.tenancy.current, asOf: this.clock().toISOString(), ...request });
    } catch (error) {
      if (error instanceof RequestFailedError)
        refuse('usage_unavailable', `usage cannot be read right now (aggregation: ${error.message}); retry shortly`);
      throw error;
    }
    if (!reply.ok)
      refuse(
        reply.error.type === 'unknown_meter' ? 'charged_meter_unknown' : 'usage_unavailable',
        `aggregation refused the usage query: ${reply.error.detail}`,
      );
    return {
      values: reply.values,
      position: BigInt(reply.position),
      ...(request.changes && { changed: reply.changed ?? null }),
    };
  }
}
