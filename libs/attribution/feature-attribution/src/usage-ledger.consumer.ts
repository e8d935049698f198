import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { attribute } from '@tally/attribution/domain';
import { RegistryTables } from '@tally/attribution/data-access-registry';
import {
  accountUsageStream,
  ingestionStream,
  isUsageBatchV1,
  parkedUsageStream,
  UsageBatchV1,
  usageReceivedSubject,
  UsageRecordedV1,
  usageLedgerId,
  usageRecordedType,
} from '@tally/contracts/usage';
import { EventStore, NewEvent, StreamAppend } from '@tally/shared/data-access-event-store';
import { Consumer, decodeJson, Delivery, MessageBus } from '@tally/shared/data-access-messaging';
import { CONFIG, EVENT_STORE, MESSAGE_BUS } from '@tally/shared/feature-runtime';
import { ATTRIBUTION_DB, REGISTRY_TABLES } from './tokens';
import { TallyConfig } from '@tally/shared/util-config';
import { messageSpans, metadataFor, otelContext, telemetryOfHeaders } from '@tally/shared/util-telemetry';
import type { Context } from '@opentelemetry/api';

/**
 * The usage ledger's writer: accepted usage from JetStream → attributed (or parked) UsageRecorded
 * in the event store. The ledger event id is derived from (tenant, source, id), so a redelivered or
 * re-sent event is a no-op append: exact dedup. Acked only after the append returned.
 */
@Injectable()
export class UsageLedgerConsumer {
  private consumer?: Consumer;

  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(ATTRIBUTION_DB) private readonly db: DataSource,
    @Inject(REGISTRY_TABLES) private readonly tables: RegistryTables,
  ) {}

  async start(): Promise<void> {
    await this.bus.ensureStream(ingestionStream);
    this.consumer = await this.bus.consume(
      {
        stream: ingestionStream.name,
        durable: 'attribution_ledger',
        filterSubject: usageReceivedSubject,
        batchSize: 20,
        ackWaitMs: this.config.TALLY_ACK_WAIT_MS,
      },
      (batch) => this.record(batch),
    );
  }

  async record(batch: readonly Delivery[]): Promise<void> {
    // Each message keeps its own trace and correlation id: its events' metadata carry them into the ledger.
    const spans = messageSpans(
      'attribution consume',
      batch.map((d) => d.headers),
      { 'messaging.destination.name': usageReceivedSubject },
    );
    try {
      await this.recordTraced(batch, spans.contexts);
      spans.end();
    } catch (error) {
      spans.end(error);
      throw error;
    }
  }

  private async recordTraced(batch: readonly Delivery[], contexts: readonly Context[]): Promise<void> {
    const received = batch.flatMap((d, i) => {
      const { tenant, receivedAt, events } = decodeJson<UsageBatchV1>(d.data, isUsageBatchV1, 'usage batch');
      const metadata = metadataFor(telemetryOfHeaders(d.headers, d.msgId ?? `seq:${d.streamSequence}`), contexts[i]);
      return events.map((event) => ({ tenant, receivedAt, event, metadata }));
    });
    const appends = new Map<string, NewEvent[]>();
    for (const tenant of new Set(received.map((r) => r.tenant))) {
      const ofTenant = received.filter((r) => r.tenant === tenant);
      const timelines = await this.tables.timelines(this.db, tenant, [
        ...new Set(ofTenant.map((r) => r.event.subject)),
      ]);
      const subscriptions = await this.tables.subscriptions(this.db, tenant, [
        ...new Set([...timelines.values()].flatMap((t) => t.map((s) => s.accountId))),
      ]);
      for (const { event, receivedAt, metadata } of ofTenant) {
        const time = new Date(event.time);
        // A fast first answer from the registry as this process sees it; the registry projection confirms or corrects it.
        const attribution = attribute(
          time,
          timelines.get(event.subject) ?? [],
          (account) => subscriptions.get(account) ?? [],
        );
        const recorded: UsageRecordedV1 = {
          tenant,
          usageId: usageLedgerId(tenant, event.source, event.id),
          source: event.source,
          eventId: event.id,
          eventType: event.type,
          subject: event.subject,
          time: event.time,
          receivedAt,
          data: event.data,
          attribution,
        };
        const stream =
          attribution.status === 'attributed'
            ? accountUsageStream(tenant, attribution.accountId, time)
            : parkedUsageStream(tenant, event.subject);
        // Pushed, not spread into a new array: a batch of 20,000 events into ten account streams copied ≈20M
        // elements that way.
        const events = appends.get(stream) ?? [];
        if (events.length === 0) appends.set(stream, events);
        events.push({
          id: recorded.usageId,
          type: usageRecordedType,
          data: { ...recorded },
          metadata: { ...metadata },
        });
      }
    }
    const streamAppends: StreamAppend[] = [...appends].map(([stream, events]) => ({
      stream,
      events,
      expectedRevision: 'any',
    }));
    // One append for the batch, in the first message's trace (each event's metadata names its own).
    await otelContext.with(contexts[0], () => this.ledger.appendToStreams(streamAppends));
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}
