/**
 * The meter query over NATS request/reply, for a platform's own services (a NestJS service's ClientProxy
 * asks it unchanged): the same question and the same answer body as `GET /api/v1/meters/{meter}/query` (no
 * ledger-position header: NATS answers carry none). Rate-limited per credential like HTTP. Needs
 * header `Authorization: Bearer <admin or billing-viewer credential>` (and `Tally-Tenant` for the operator's).
 * A failure answers a problem+json body with header `Tally-Status` (401, 403, 400, 404, 503).
 */
export const meterQuerySubject = 'aggregation.qry.meter-query.v1';

export interface MeterQueryRequestV1 {
  meter: string;
  /** RFC 3339; as the HTTP query's parameters of the same names. */
  from?: string;
  to?: string;
  windowSize?: 'MINUTE' | 'HOUR' | 'DAY' | 'MONTH';
  windowTimeZone?: string;
  subject?: string | string[];
  groupBy?: string | string[];
  filterGroupBy?: Record<string, string>;
  accountId?: string;
}
