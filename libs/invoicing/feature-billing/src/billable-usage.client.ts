import {
  BillableUsageReplyV1,
  BillableUsageRequestV1,
  billableUsageSubject,
  BillableUsageValueV1,
} from '@tally/contracts/meters';
import { decodeJson, encodeJson, MessageBus, RequestFailedError } from '@tally/shared/data-access-messaging';
import type { Tenancy } from '@tally/shared/feature-runtime';
import { refuse } from '@tally/invoicing/domain';

/** Asks aggregation (NATS request/reply) how much of each meter an account used in some intervals. */
export class BillableUsageClient {
  constructor(
    private readonly bus: MessageBus,
    private readonly tenancy: Pick<Tenancy, 'current'>,
    /** Invoicing's clock: time-weighted levels are asked up to its now (asOf), unless the request says. */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async quantities(request: Omit<BillableUsageRequestV1, 'tenant'>): Promise<BillableUsageValueV1[]> {
    return (await this.snapshot(request)).values;
  }

  /** The values and the ledger position the rollups had reached when they were read. */
  async snapshot(
    request: Omit<BillableUsageRequestV1, 'tenant'>,
  ): Promise<{ values: BillableUsageValueV1[]; position: bigint | null }> {
    if (request.intervals.length === 0 || request.meters.length === 0) return { values: [], position: null };
    let reply: BillableUsageReplyV1;
    try {
      const answer = await this.bus.request(
        billableUsageSubject,
        encodeJson({ tenant: this.tenancy.current, asOf: this.clock().toISOString(), ...request }),
        { timeoutMs: 30_000 },
      );
      reply = decodeJson<BillableUsageReplyV1>(answer.data);
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
    return { values: reply.values, position: BigInt(reply.position) };
  }
}
