import { Inject, Injectable } from '@nestjs/common';
import {
  ingestionStream,
  isUsageCorrectionBatchV1,
  UsageAmendedV1,
  usageAmendedType,
  UsageCorrectionBatchV1,
  usageCorrectedSubject,
  usageCorrectionId,
  usageCorrectionStream,
  usageLedgerId,
  UsageVoidedV1,
  usageVoidedType,
} from '@tally/contracts/usage';
import { EventStore, StreamAppend } from '@tally/shared/data-access-event-store';
import { Consumer, decodeJson, Delivery, MessageBus } from '@tally/shared/data-access-messaging';
import { CONFIG, EVENT_STORE, MESSAGE_BUS } from '@tally/shared/feature-runtime';
import { TallyConfig } from '@tally/shared/util-config';

/**
 * Corrections into the ledger: UsageVoided / UsageAmended, new events beside the original (never an
 * edit), ids derived from their content so a redelivered correction is appended once.
 */
@Injectable()
export class UsageCorrectionsConsumer {
  private consumer?: Consumer;

  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(CONFIG) private readonly config: TallyConfig,
  ) {}

  async start(): Promise<void> {
    this.consumer = await this.bus.consume(
      {
        stream: ingestionStream.name,
        durable: 'attribution_corrections',
        filterSubject: usageCorrectedSubject,
        batchSize: 20,
        ackWaitMs: this.config.TALLY_ACK_WAIT_MS,
      },
      (batch) => this.record(batch),
    );
  }

  async record(batch: readonly Delivery[]): Promise<void> {
    const appends: StreamAppend[] = [];
    for (const message of batch) {
      const { tenant, receivedAt, corrections } = decodeJson<UsageCorrectionBatchV1>(
        message.data,
        isUsageCorrectionBatchV1,
        'usage correction batch',
      );
      for (const correction of corrections) {
        const usageId = usageLedgerId(tenant, correction.source, correction.id);
        const voided: UsageVoidedV1 = {
          tenant,
          usageId,
          source: correction.source,
          eventId: correction.id,
          reason: correction.reason,
          correctedAt: receivedAt,
        };
        const event =
          correction.action === 'void'
            ? { id: usageCorrectionId(usageId, 'void', correction.reason), type: usageVoidedType, data: { ...voided } }
            : {
                id: usageCorrectionId(usageId, 'amend', correction.reason, correction.data),
                type: usageAmendedType,
                data: { ...voided, data: correction.data } satisfies UsageAmendedV1,
              };
        appends.push({ stream: usageCorrectionStream(tenant, usageId), events: [event], expectedRevision: 'any' });
      }
    }
    await this.ledger.appendToStreams(appends);
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}
