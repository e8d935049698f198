import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { validateUsageEvent, FieldError } from '@tally/ingestion/domain';
import { ingestionStream, usageMessageId, UsageReceivedV1, usageReceivedSubject } from '@tally/contracts/usage';
import { encodeJson } from '@tally/shared/data-access-messaging';
import { ProblemException, problemType, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';

export type EventResult =
  | { index: number; id: string | null; source: string | null; status: 'accepted' | 'duplicate' }
  | { index: number; id: string | null; source: string | null; status: 'rejected'; errors: FieldError[] };

/** Largest batch accepted in one request. */
export const maxBatchSize = 1_000;

/**
 * Intake: validate each event on its own, publish the valid ones to JetStream and answer only
 * after JetStream persisted them. If the bus cannot persist, the request fails as a whole (503,
 * retry): re-sent events are deduplicated downstream, so a retry never double counts.
 */
@Injectable()
export class IntakeService implements OnApplicationBootstrap {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.bus.ensureStream(ingestionStream);
  }

  async ingest(events: readonly unknown[]): Promise<EventResult[]> {
    const receivedAt = this.runtime.clock();
    const tenant = this.runtime.tenant;
    const checked = events.map((input, index) => ({ index, input, result: validateUsageEvent(input, receivedAt, this.runtime.config.TALLY_LATENESS_HORIZON_DAYS) }));
    try {
      return await Promise.all(
        checked.map(async ({ index, input, result }): Promise<EventResult> => {
          const { id, source } = identity(input);
          if (!result.ok) return { index, id, source, status: 'rejected', errors: result.errors };
          const message: UsageReceivedV1 = { tenant, receivedAt: receivedAt.toISOString(), event: result.event };
          const ack = await this.runtime.bus.publish(usageReceivedSubject, encodeJson(message), { msgId: usageMessageId(tenant, result.event.source, result.event.id) });
          return { index, id, source, status: ack.duplicate ? 'duplicate' : 'accepted' };
        }),
      );
    } catch (error) {
      this.runtime.log(`[ingestion] could not persist events: ${String((error as Error)?.message ?? error)}`);
      throw new ProblemException({
        type: problemType('stream-unavailable'),
        title: 'Usage stream unavailable',
        status: 503,
        detail: 'events could not be persisted; nothing in this request is acknowledged — retry it (duplicates are counted once)',
      });
    }
  }
}

const identity = (input: unknown) => {
  const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  return { id: typeof body.id === 'string' ? body.id : null, source: typeof body.source === 'string' ? body.source : null };
};
