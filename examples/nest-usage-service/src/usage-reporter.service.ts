import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { TALLY_INTAKE, TALLY_NAMESPACE, TALLY_QUERIES } from './tokens';

/** A usage event as Tally takes it (CloudEvents 1.0; `data` holds the measured quantities). */
export interface UsageEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time?: string;
  data: Record<string, unknown>;
}

export interface IntakeAnswer {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: {
    index: number;
    id: string;
    status: 'accepted' | 'duplicate' | 'rejected';
    errors?: { field: string; message: string }[];
  }[];
}

export interface MeterQuery {
  meter: string;
  from?: string;
  to?: string;
  windowSize?: 'MINUTE' | 'HOUR' | 'DAY' | 'MONTH';
  groupBy?: string[];
  subject?: string[];
}

export interface MeterQueryAnswer {
  from: string;
  to: string;
  windowSize: string | null;
  data: {
    value: string;
    windowStart: string;
    windowEnd: string;
    subject: string | null;
    groupBy: Record<string, string | null>;
  }[];
}

/**
 * What a platform's own service does with Tally over NATS, with Nest's ClientProxy as it comes:
 * `send` = request/reply, so `report` resolves only once Tally stored the events durably (each event's
 * outcome in the answer; retrying with the same ids is safe — duplicates count once). A refusal (bad key,
 * invalid batch, unknown meter) errors the observable with Tally's problem+json body.
 */
@Injectable()
export class UsageReporter implements OnApplicationShutdown {
  constructor(
    @Inject(TALLY_INTAKE) private readonly intake: ClientProxy,
    @Inject(TALLY_QUERIES) private readonly queries: ClientProxy,
    @Inject(TALLY_NAMESPACE) private readonly namespace: string,
  ) {}

  report(events: readonly UsageEvent[]): Promise<IntakeAnswer> {
    return firstValueFrom(
      this.intake.send<IntakeAnswer>(`${this.namespace}.ingestion.cmd.ingest.v1`, events).pipe(timeout(10_000)),
    );
  }

  meterQuery(query: MeterQuery): Promise<MeterQueryAnswer> {
    return firstValueFrom(
      this.queries
        .send<MeterQueryAnswer>(`${this.namespace}.aggregation.qry.meter-query.v1`, query)
        .pipe(timeout(10_000)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.intake.close(), this.queries.close()]);
  }
}
