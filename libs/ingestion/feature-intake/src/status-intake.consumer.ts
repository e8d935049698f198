import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventStatusTables, StatusKey } from '@tally/ingestion/data-access-intake';
import {
  ingestionStream,
  isUsageBatchV1,
  isUsageRejectedV1,
  UsageBatchV1,
  usageReceivedSubject,
  UsageRejectedV1,
  usageRejectedSubject,
} from '@tally/contracts/usage';
import { Consumer, decodeJson, Delivery, MessageBus } from '@tally/shared/data-access-messaging';
import { CONFIG, MESSAGE_BUS } from '@tally/shared/feature-runtime';
import { ledgerIdOf } from './ledger-ids';
import { EVENT_STATUS_TABLES, INGESTION_DB } from './tokens';
import { TallyConfig } from '@tally/shared/util-config';

/**
 * Records "accepted" and "rejected" for the status endpoint from intake's own messages — off the
 * request path, so intake answers after one JetStream publish and nothing else.
 */
@Injectable()
export class StatusIntakeConsumer {
  private consumer?: Consumer;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(EVENT_STATUS_TABLES) private readonly tables: EventStatusTables,
  ) {}

  async start(): Promise<void> {
    this.consumer = await this.bus.consume(
      {
        stream: ingestionStream.name,
        durable: 'ingestion_status',
        filterSubject: 'ingestion.evt.>',
        batchSize: 20,
        ackWaitMs: this.config.TALLY_ACK_WAIT_MS,
      },
      (batch) => this.record(batch),
    );
  }

  async record(batch: readonly Delivery[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const message of batch) {
        if (message.subject === usageReceivedSubject) {
          const { tenant, receivedAt, events } = decodeJson<UsageBatchV1>(message.data, isUsageBatchV1, 'usage batch');
          await this.tables.accepted(
            tx,
            events.map((e) => ({
              ...key(tenant, e.source, e.id),
              content: { type: e.type, subject: e.subject, time: e.time, data: e.data },
            })),
            receivedAt,
          );
        } else if (message.subject === usageRejectedSubject) {
          const { tenant, receivedAt, events } = decodeJson<UsageRejectedV1>(
            message.data,
            isUsageRejectedV1,
            'rejection batch',
          );
          await this.tables.rejected(
            tx,
            events.map((e) => ({ ...key(tenant, e.source, e.id), errors: e.errors })),
            receivedAt,
          );
        }
      }
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}

// One per accepted event, on the thread that also parses intake's requests: the fast derivation (ledger-ids.ts).
const key = (tenant: string, source: string, eventId: string): StatusKey => ({
  usageId: ledgerIdOf(tenant, source, eventId),
  tenant,
  source,
  eventId,
});
