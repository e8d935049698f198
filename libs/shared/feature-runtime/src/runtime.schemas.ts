import { credentialRoles, CredentialRole } from '@tally/shared/data-access-access';
import { Instant, queryInteger, queryText, z } from './api-schemas';

/**
 * The request and answer schemas of the routes every app serves (health, metrics, projections, dead letters,
 * consumers, tenants and credentials, the OpenAPI document): they validate the requests and write the
 * OpenAPI document. What a schema cannot say stays in the handlers (a credential's expiry in the future, by
 * the service's clock).
 */

// ---- health ----

const upOrDown = z.enum(['up', 'down']);

const healthShape = {
  status: z.enum(['ok', 'degraded']).meta({
    description: 'degraded when Postgres or the bus is down, a consumer is stalled or a projection is failing',
  }),
  apps: z.array(z.string()).meta({ description: 'the apps this process runs' }),
  ledger: z.enum(['kurrentdb', 'postgres']),
  bus: z.enum(['jetstream', 'postgres']),
  checks: z.object({ postgres: upOrDown, bus: upOrDown }),
  stalledConsumers: z.array(z.string()).meta({ description: 'durable names of the consumers retrying a failure' }),
  failingProjections: z.array(z.string()).meta({ description: 'projections whose last batch or read failed' }),
};

export const Health = z.object(healthShape).meta({ id: 'Health' });

export const Readiness = z
  .object({
    ...healthShape,
    status: z.enum(['ok', 'degraded']).meta({
      description: 'ok (200) when healthy and no projection answering queries lags; degraded (503) otherwise',
    }),
    laggingProjections: z
      .array(z.string())
      .meta({ description: 'projections more than TALLY_READY_MAX_BEHIND_EVENTS events behind the ledger' }),
  })
  .meta({ id: 'Readiness' });

export const Liveness = z.object({ status: z.literal('live'), apps: z.array(z.string()) });

// ---- projections ----

export const ProjectionStatus = z
  .object({
    name: z.string(),
    status: z.enum(['running', 'standby', 'failing', 'stopped']).meta({
      description:
        'running: this process applies it; standby: another process holds it; failing: the last batch or read failed (retrying)',
    }),
    position: z.string().nullable().meta({ description: 'the ledger position of its checkpoint, as digits' }),
    behind: z.int().min(0).meta({ description: 'events of interest after the checkpoint (counted up to 10,000)' }),
    lastAppliedAt: Instant.nullable(),
    acceptedToVisibleMs: z
      .number()
      .nullable()
      .meta({ description: 'for the newest usage of the last batch: accepted at intake → visible to queries, in ms' }),
    lastError: z.string().nullable(),
    epoch: z.string().nullable().meta({ description: 'leadership term of the process that runs it' }),
    rebuildRequested: z.boolean(),
    rebuilding: z
      .object({ since: Instant, position: z.string().nullable() })
      .nullable()
      .meta({ description: 'a rebuild under way in this process: how far the copies have got' }),
  })
  .meta({ id: 'ProjectionStatus' });

export const ProjectionList = z.object({ projections: z.array(ProjectionStatus) });

/** Unknown names answer 404, so any text is taken here. */
export const projectionNameParam = z.object({ name: z.string() });

export const RebuildRequested = z.object({
  name: z.string(),
  status: z.literal('rebuild requested'),
  requestedAt: Instant,
});

// ---- dead letters and consumers ----

export const deadLettersQuery = z.object({
  consumer: queryText().optional().meta({ description: "only this durable consumer's dead letters" }),
  after: queryText()
    .regex(/^\d{1,16}$/, { error: 'must be the id of a dead letter (digits)' })
    .optional()
    .meta({ description: 'the `next` of the previous page' }),
  limit: queryInteger(1, 1_000).optional().meta({ description: 'page size; 100 by default' }),
});

export const DeadLetter = z
  .object({
    id: z.string().meta({ description: 'its place in the dead-letter store (digits): what replay takes' }),
    consumer: z.string().meta({ description: 'the durable consumer that could not handle it' }),
    subject: z.string().meta({ description: 'the logical subject it was published on, where replay publishes it' }),
    originalSequence: z.int().meta({ description: 'its sequence in its original stream' }),
    deliveries: z.int(),
    reason: z.string(),
    deadLetteredAt: Instant,
    body: z.string().meta({ description: 'the message body as text' }),
    headers: z.record(z.string(), z.string()),
  })
  .meta({ id: 'DeadLetter' });

export const DeadLetterPage = z.object({
  deadLetters: z.array(DeadLetter).meta({ description: 'oldest first' }),
  next: z.string().nullable().meta({ description: 'give as `after` for the next page; null on the last' }),
});

/** A malformed id is no dead letter: 404, so any text is taken here. */
export const deadLetterIdParam = z.object({ id: z.string() });

export const DeadLetterReplayed = z.object({ id: z.string(), status: z.literal('replayed') });

/** The body is optional: none replays every dead letter. */
export const ReplayAllRequest = z
  .object({
    consumer: z.string().optional().meta({ description: "only this durable consumer's dead letters; all by default" }),
  })
  .meta({ examples: [{ consumer: 'attribution_ledger' }] })
  .optional();
export type ReplayAllRequestBody = z.infer<typeof ReplayAllRequest>;

export const ReplayedCount = z.object({
  replayed: z.int().min(0).meta({ description: 'dead letters published again' }),
});

export const ConsumerStatus = z
  .object({
    durable: z.string(),
    state: z.enum(['running', 'stalled', 'stopped']).meta({
      description: 'stalled: a message failed recently and has not succeeded since (retrying with backoff)',
    }),
    stalledSince: Instant.nullable(),
    failingMessages: z.int().min(0),
    lastError: z.string().nullable(),
    deadLettered: z.int().min(0).meta({ description: 'since this process started the consumer' }),
    acked: z.int().min(0),
    failed: z.int().min(0),
    redelivered: z.int().min(0),
  })
  .meta({ id: 'ConsumerStatus' });

export const ConsumerList = z.object({ consumers: z.array(ConsumerStatus) });

// ---- tenants and credentials ----

/** As `tenantId` (util-config) reads it: `_` separates tenant and id in stream names. */
const tenantIdSchema = z.string().regex(/^[a-z][a-z0-9]{0,30}$/, {
  error: 'must be a tenant id: a lower-case letter, then lower-case letters and digits, at most 31 characters',
});

const nameSchema = z
  .string()
  .max(200)
  .regex(/\S/, { error: 'must not be blank' })
  .meta({ description: '1 to 200 characters, not blank' });

export const TenantRequest = z
  .object({
    id: tenantIdSchema,
    name: nameSchema.optional().meta({ description: '1 to 200 characters, not blank; the id by default' }),
  })
  .meta({ id: 'TenantRequest', examples: [{ id: 'acme', name: 'Acme Corp' }] });
export type TenantRequestBody = z.infer<typeof TenantRequest>;

export const Tenant = z.object({ id: z.string(), name: z.string(), createdAt: Instant }).meta({ id: 'Tenant' });

export const TenantList = z.object({ tenants: z.array(Tenant) });

const role = z.enum(credentialRoles as readonly [CredentialRole, ...CredentialRole[]]);

export const CredentialRequest = z
  .object({
    name: nameSchema.meta({ description: 'who or what holds the credential, 1 to 200 characters' }),
    role: role.meta({ description: 'producers get API keys instead (POST /v1/api-keys)' }),
    expiresAt: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:\d{2})$/, {
        error: 'must be an RFC 3339 timestamp with an offset',
      })
      .optional()
      .meta({ format: 'date-time', description: 'RFC 3339 with an offset, in the future; never by default' }),
  })
  .meta({
    id: 'CredentialRequest',
    examples: [{ name: 'finance dashboard', role: 'billing-viewer', expiresAt: '2099-01-01T00:00:00Z' }],
  });

const credentialShape = {
  id: z.uuid(),
  tenant: z.string(),
  role,
  name: z.string(),
  prefix: z.string().meta({ description: 'the first characters of the token, to recognise it in a list' }),
  createdAt: Instant,
  createdBy: z.string(),
  expiresAt: Instant.nullable(),
  revokedAt: Instant.nullable(),
  lastUsedAt: Instant.nullable().meta({ description: 'recorded at most once a minute' }),
};

export const Credential = z.object(credentialShape).meta({ id: 'Credential' });

export const IssuedCredential = z
  .object({
    ...credentialShape,
    token: z.string().meta({ description: 'the bearer token itself: shown in this answer only, never again' }),
  })
  .meta({ id: 'IssuedCredential' });

export const CredentialList = z.object({ credentials: z.array(Credential) });

/** Anything but a credential of the caller's tenant answers 404, so any text is taken here. */
export const credentialIdParam = z.object({ id: z.string() });

// ---- the OpenAPI document ----

export const OpenApiDocumentAnswer = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.looseObject({})),
  components: z.looseObject({}),
});
