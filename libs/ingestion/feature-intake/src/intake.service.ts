import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { FieldError, sourceAllowed, validateCorrection, validateUsageEvent } from '@tally/ingestion/domain';
import {
  ingestionStream,
  UsageCorrectionBatchV1,
  UsageCorrectionV1,
  usageCorrectedSubject,
  UsageEventV1,
  usageLimits,
  usageReceivedSubject,
  UsageRejectedV1,
  usageRejectedSubject,
} from '@tally/contracts/usage';
import { encodeJson, MessageBus } from '@tally/shared/data-access-messaging';
import { createHash, randomUUID } from 'node:crypto';
import {
  badRequest,
  CLOCK,
  Clock,
  CONFIG,
  forbidden,
  Log,
  LOG,
  MESSAGE_BUS,
  Metrics,
  ProblemException,
  problemType,
} from '@tally/shared/feature-runtime';
import { encodeUsageBatches } from './usage-batches';
import { EarlierCopiesLookup, lookupGraceMs } from './earlier-copies.lookup';
import { messageOf } from '@tally/shared/util-core';
import { TallyConfig } from '@tally/shared/util-config';

export type EventResult =
  | { index: number; id: string | null; source: string | null; status: 'accepted' | 'duplicate' }
  | {
      index: number;
      id: string | null;
      source: string | null;
      status: 'rejected';
      errors: FieldError[];
      forbidden?: true;
    };

/** Who sent the events: the producer API key's tenant and allowed sources. */
export interface Producer {
  tenant: string;
  allowedSources: readonly string[];
}

/** All-or-nothing intake: invalid events make it a 400, else sources the key may not use a 403; either way nothing is stored. */
const refuseUnlessAllValid = (results: readonly EventResult[]): void => {
  const rejected = results.filter((r): r is Extract<EventResult, { status: 'rejected' }> => r.status === 'rejected');
  if (rejected.length === 0) return;
  const invalid = rejected.filter((r) => !r.forbidden);
  const listed = (invalid.length > 0 ? invalid : rejected).flatMap((r) =>
    r.errors.map((e) => ({ index: r.index, field: e.field, message: e.message })),
  );
  const detail = `${invalid.length > 0 ? invalid.length : rejected.length} of ${results.length} events are ${invalid.length > 0 ? 'invalid' : 'from sources this API key may not use'}; none was ingested`;
  throw invalid.length > 0 ? badRequest(detail, listed) : forbidden(detail, listed);
};

/** A (source, id) the status table can hold and a producer can ask for: within the contract's lengths, storable text. */
const canBeLookedUp = (source: string, id: string): boolean =>
  source.length <= usageLimits.sourceLength &&
  id.length <= usageLimits.idLength &&
  source.isWellFormed() &&
  id.isWellFormed() &&
  !`${source}${id}`.includes('\u0000');

const unavailable = (detail: string) =>
  new ProblemException({
    type: problemType('stream-unavailable'),
    title: 'Usage stream unavailable',
    status: 503,
    detail,
  });

/**
 * Intake: validate each event on its own, publish the valid ones to JetStream and answer only
 * after JetStream persisted them. If the bus cannot persist, the request fails as a whole (503,
 * retry): re-sent events are deduplicated in the ledger, so a retry never double counts.
 * An event is answered `duplicate` when Tally already has it: twice in the request, a message JetStream
 * had (its duplicate window), or an earlier request's copy the status table knows (EarlierCopiesLookup).
 * In-flight events are bounded: past the bound intake sheds load (503) instead of growing memory.
 */
@Injectable()
export class IntakeService implements OnApplicationBootstrap {
  private inFlight = 0;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(LOG) private readonly log: Log,
    private readonly metrics: Metrics,
    private readonly earlierCopies: EarlierCopiesLookup,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.ensureStream(ingestionStream);
  }

  /**
   * `allOrNothing` (the OpenMeter-compatible endpoint): if any event is invalid, nothing is published
   * and the request fails with every problem listed; otherwise each event stands on its own.
   * `lookUpEarlierCopies` (default true): answer `duplicate` for events Tally had from an earlier request
   * (EarlierCopiesLookup); off where nobody reads per-event answers (the OpenMeter endpoint answers 204).
   */
  async ingest(
    inputs: readonly unknown[],
    producer: Producer,
    options: { allOrNothing?: boolean; lookUpEarlierCopies?: boolean } = {},
  ): Promise<EventResult[]> {
    const limit = this.config.TALLY_INTAKE_MAX_IN_FLIGHT_EVENTS;
    if (this.inFlight + inputs.length > limit && this.inFlight > 0) {
      throw unavailable(`intake is at capacity (${limit} events in flight); retry shortly`);
    }
    this.inFlight += inputs.length;
    try {
      const results = await this.validateAndPublish(
        inputs,
        producer,
        options.allOrNothing ?? false,
        options.lookUpEarlierCopies ?? true,
      );
      for (const outcome of ['accepted', 'duplicate', 'rejected'] as const) {
        const count = results.filter((r) => r.status === outcome).length;
        if (count > 0) this.metrics.intakeEvents.inc({ tenant: producer.tenant, outcome }, count);
      }
      return results;
    } finally {
      this.inFlight -= inputs.length;
    }
  }

  private async validateAndPublish(
    inputs: readonly unknown[],
    producer: Producer,
    allOrNothing: boolean,
    lookUpEarlierCopies: boolean,
  ): Promise<EventResult[]> {
    const receivedAt = this.clock();
    const results: EventResult[] = [];
    const valid: { index: number; event: UsageEventV1 }[] = [];
    const keys = new Set<string>();
    inputs.forEach((input, index) => {
      const { id, source } = identity(input);
      const checked = validateUsageEvent(input, receivedAt, this.config.TALLY_LATENESS_HORIZON_DAYS);
      if (!checked.ok) return void (results[index] = { index, id, source, status: 'rejected', errors: checked.errors });
      if (!sourceAllowed(producer.allowedSources, checked.event.source)) {
        return void (results[index] = {
          index,
          id,
          source,
          status: 'rejected',
          errors: [{ field: 'source', message: `source ${checked.event.source} is not allowed for this API key` }],
          forbidden: true,
        });
      }
      const key = `${checked.event.source}\u0000${checked.event.id}`;
      // The same event twice in one request: publish it once.
      if (keys.has(key)) return void (results[index] = { index, id, source, status: 'duplicate' });
      keys.add(key);
      valid.push({ index, event: checked.event });
      results[index] = { index, id, source, status: 'accepted' };
    });
    if (allOrNothing) refuseUnlessAllValid(results);
    // Sent now, it travels while the events are encoded and stored. Every valid event is published all the same,
    // even one known from an earlier request: no event depends on the lookup, and the ledger counts it once.
    const earlier = lookUpEarlierCopies ? this.earlierCopies.start(producer.tenant, receivedAt, valid) : undefined;
    const batches = encodeUsageBatches(producer.tenant, receivedAt.toISOString(), valid);
    void this.recordRejections(producer.tenant, receivedAt, results);
    try {
      const acks = await Promise.all(
        batches.map((b) => this.bus.publish(usageReceivedSubject, b.payload, { msgId: b.msgId })),
      );
      // JetStream had this very message (the same events, a retry inside its duplicate window).
      acks.forEach((ack, i) => {
        if (ack.duplicate) for (const index of batches[i].indexes) markDuplicate(results, index);
      });
    } catch (error) {
      this.log.warn({ reason: messageOf(error) }, 'could not persist events: answering 503');
      throw unavailable(
        'events could not be persisted; nothing in this request is acknowledged — retry it (duplicates are counted once)',
      );
    }
    // Tally had the event from an earlier request, as far as the lookup can tell in time (else: accepted) — waiting
    // for it only while no other request is in this process (see lookupGraceMs).
    const graceMs = this.inFlight > inputs.length ? 0 : lookupGraceMs;
    if (earlier) for (const index of await earlier.found(graceMs)) markDuplicate(results, index);
    return results;
  }

  /**
   * Rejections are kept for the status endpoint, best effort: answering a producer with its
   * rejections must not depend on the bus. Only events with a usable source and id can be looked up.
   */
  private async recordRejections(tenant: string, receivedAt: Date, results: readonly EventResult[]): Promise<void> {
    const events = results.flatMap((r) =>
      r.status === 'rejected' && r.source && r.id && canBeLookedUp(r.source, r.id)
        ? [{ source: r.source, id: r.id, errors: r.errors }]
        : [],
    );
    if (events.length === 0) return;
    const message: UsageRejectedV1 = { tenant, receivedAt: receivedAt.toISOString(), events };
    await this.bus
      .publish(usageRejectedSubject, encodeJson(message), { msgId: randomUUID() })
      .catch((error) => this.log.warn({ reason: messageOf(error) }, 'rejections not recorded'));
  }

  /**
   * Corrections (void, amend) by (source, id): validated one by one like events, published together,
   * answered after JetStream stored them. Whether the original exists is not checked here — the ledger
   * records the correction either way, and the status endpoint shows the outcome.
   */
  async correct(inputs: readonly unknown[], producer: Producer): Promise<CorrectionResult[]> {
    const receivedAt = this.clock();
    const accepted: UsageCorrectionV1[] = [];
    const results = inputs.map((input, index): CorrectionResult => {
      const { id, source } = identity(input);
      const checked = validateCorrection(input, receivedAt);
      if (!checked.ok) return { index, id, source, status: 'rejected', errors: checked.errors };
      if (!sourceAllowed(producer.allowedSources, checked.correction.source)) {
        return {
          index,
          id,
          source,
          status: 'rejected',
          errors: [{ field: 'source', message: `source ${checked.correction.source} is not allowed for this API key` }],
        };
      }
      accepted.push(checked.correction);
      return { index, id, source, status: 'accepted' };
    });
    if (accepted.length === 0) return results;
    const message: UsageCorrectionBatchV1 = {
      tenant: producer.tenant,
      receivedAt: receivedAt.toISOString(),
      corrections: accepted,
    };
    const msgId = `corrections:${createHash('sha256')
      .update(JSON.stringify([producer.tenant, accepted]))
      .digest('base64url')}`;
    try {
      await this.bus.publish(usageCorrectedSubject, encodeJson(message), { msgId });
    } catch (error) {
      this.log.warn({ reason: messageOf(error) }, 'could not persist corrections: answering 503');
      throw unavailable('corrections could not be persisted; nothing in this request is acknowledged — retry it');
    }
    return results;
  }
}

export type CorrectionResult =
  | { index: number; id: string | null; source: string | null; status: 'accepted' }
  | { index: number; id: string | null; source: string | null; status: 'rejected'; errors: FieldError[] };

const markDuplicate = (results: EventResult[], index: number): void => {
  results[index] = { ...results[index], status: 'duplicate' } as EventResult;
};

const identity = (input: unknown) => {
  const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  return {
    id: typeof body.id === 'string' ? body.id : null,
    source: typeof body.source === 'string' ? body.source : null,
  };
};
