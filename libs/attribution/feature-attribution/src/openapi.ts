import { problemSchema } from '@tally/shared/feature-runtime';
/**
 * OpenAPI 3.1 description of attribution's admin API, served at GET /v1/attribution/openapi.json.
 * Kept beside the controllers; e2e/openapi.e2e.spec.ts checks that every route the app serves is here.
 */
const problem = { $ref: '#/components/responses/Problem' };
const instant = { type: 'string', format: 'date-time', description: 'RFC 3339 with an offset' };
const key = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$' };
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, schema: unknown) => ({ description, ...json(schema) });
/** Problem answers by status; every authenticated operation may also be refused 403 (the credential's role or tenant). */
const refusals = (...codes: number[]) =>
  Object.fromEntries([...codes, ...(codes.includes(401) ? [403] : [])].map((code) => [String(code), problem]));

export const attributionOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'Tally attribution',
    version: '1',
    description:
      'The registry (accounts, subscriptions, subjects) and parked usage. Every route needs the admin token.',
  },
  security: [{ admin: [] }],
  paths: {
    '/v1/accounts': {
      post: {
        summary: 'Open an account',
        requestBody: json({ $ref: '#/components/schemas/AccountRequest' }),
        responses: {
          '201': ok('opened', { $ref: '#/components/schemas/Account' }),
          '200': ok('already open with the same details', { $ref: '#/components/schemas/Account' }),
          ...refusals(400, 401, 409),
        },
      },
    },
    '/v1/accounts/{id}': {
      get: {
        summary: 'An account and its subscriptions',
        parameters: [{ name: 'id', in: 'path', required: true, schema: key }],
        responses: { '200': ok('the account', { $ref: '#/components/schemas/Account' }), ...refusals(401, 404) },
      },
    },
    '/v1/subscriptions': {
      post: {
        summary: 'Start a subscription of an account to a plan',
        requestBody: json({ $ref: '#/components/schemas/SubscriptionRequest' }),
        responses: {
          '201': ok('started', { $ref: '#/components/schemas/Subscription' }),
          '200': ok('already started with the same details', { $ref: '#/components/schemas/Subscription' }),
          ...refusals(400, 401, 409, 422),
        },
      },
    },
    '/v1/subscriptions/{id}': {
      get: {
        summary: 'A subscription',
        parameters: [{ name: 'id', in: 'path', required: true, schema: key }],
        responses: {
          '200': ok('the subscription', { $ref: '#/components/schemas/Subscription' }),
          ...refusals(401, 404),
        },
      },
    },
    '/v1/subscriptions/{id}/cancel': {
      post: {
        summary: 'End the subscription at an instant (never later than planned)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: key }],
        requestBody: json({
          type: 'object',
          required: ['at', 'reason'],
          properties: { at: instant, reason: { type: 'string', maxLength: 1024 } },
        }),
        responses: {
          '201': ok('cancelled', { $ref: '#/components/schemas/Subscription' }),
          ...refusals(400, 401, 404, 409),
        },
      },
    },
    '/v1/subscriptions/{id}/plan-changes': {
      post: {
        summary: 'Change the plan from an instant on',
        parameters: [{ name: 'id', in: 'path', required: true, schema: key }],
        requestBody: json({
          type: 'object',
          required: ['planId', 'effectiveFrom'],
          properties: { planId: key, effectiveFrom: instant },
        }),
        responses: {
          '201': ok('changed', { $ref: '#/components/schemas/Subscription' }),
          ...refusals(400, 401, 404, 409, 422),
        },
      },
    },
    '/v1/subscriptions/{id}/reschedule': {
      post: {
        summary: 'Move the start of a subscription (e.g. earlier, to cover parked usage)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: key }],
        requestBody: json({
          type: 'object',
          required: ['startsAt', 'reason'],
          properties: { startsAt: instant, reason: { type: 'string', maxLength: 1024 } },
        }),
        responses: {
          '201': ok('moved', { $ref: '#/components/schemas/Subscription' }),
          ...refusals(400, 401, 404, 409),
        },
      },
    },
    '/v1/subjects/{key}': {
      put: {
        summary: 'Assign a subject to an account from an instant on (a later assignment is a transfer)',
        parameters: [{ name: 'key', in: 'path', required: true, schema: key }],
        requestBody: json({
          type: 'object',
          required: ['accountId'],
          properties: {
            accountId: key,
            effectiveFrom: { ...instant, description: 'default: since always for a first assignment' },
            attributes: { type: 'object', additionalProperties: { type: 'string' } },
          },
        }),
        responses: {
          '201': ok('assigned', { $ref: '#/components/schemas/Subject' }),
          '200': ok('no change', { $ref: '#/components/schemas/Subject' }),
          ...refusals(400, 401, 409, 422),
        },
      },
      get: {
        summary: 'A subject, its ownership timeline and its history',
        parameters: [{ name: 'key', in: 'path', required: true, schema: key }],
        responses: { '200': ok('the subject', { $ref: '#/components/schemas/Subject' }), ...refusals(401, 404) },
      },
    },
    '/v1/subjects/{key}/corrections': {
      post: {
        summary:
          'Correct who owned the subject in a past interval; attributed usage moves with compensating ledger events',
        parameters: [{ name: 'key', in: 'path', required: true, schema: key }],
        requestBody: json({
          type: 'object',
          required: ['accountId', 'effectiveFrom', 'reason'],
          properties: {
            accountId: key,
            effectiveFrom: instant,
            effectiveTo: instant,
            attributes: { type: 'object', additionalProperties: { type: 'string' } },
            reason: { type: 'string', maxLength: 1024 },
          },
        }),
        responses: {
          '201': ok('corrected', { $ref: '#/components/schemas/Subject' }),
          '200': ok('no change', { $ref: '#/components/schemas/Subject' }),
          ...refusals(400, 401, 404, 422),
        },
      },
    },
    '/v1/parked-usage': {
      get: {
        summary: 'Usage that could not be attributed yet, with the reason',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          {
            name: 'after',
            in: 'query',
            schema: { type: 'string', format: 'uuid' },
            description: 'the `next` of the previous page',
          },
        ],
        responses: {
          '200': ok('a page', {
            type: 'object',
            properties: {
              items: { type: 'array', items: { $ref: '#/components/schemas/ParkedUsage' } },
              next: { type: ['string', 'null'] },
            },
          }),
          ...refusals(400, 401),
        },
      },
    },
  },
  components: {
    securitySchemes: {
      admin: {
        type: 'http',
        scheme: 'bearer',
        description:
          "a tenant's admin credential (billing viewers: GET operations), or the operator's TALLY_ADMIN_TOKEN with an optional Tally-Tenant header",
      },
    },
    responses: {
      Problem: {
        description: 'RFC 9457 problem details (docs/errors.md)',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    },
    schemas: {
      Problem: problemSchema,
      AccountRequest: {
        type: 'object',
        required: ['id', 'name', 'currency', 'timezone'],
        properties: {
          id: key,
          name: { type: 'string' },
          currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217' },
          timezone: { type: 'string', description: 'IANA time zone' },
          billingAnchorDay: {
            type: 'integer',
            minimum: 1,
            maximum: 31,
            default: 1,
            description: "Day billing periods start on, 00:00 in the time zone (beyond a month's length: its last day)",
          },
        },
      },
      Account: {
        type: 'object',
        properties: {
          id: key,
          name: { type: 'string' },
          currency: { type: 'string' },
          timezone: { type: 'string' },
          billingAnchorDay: { type: 'integer' },
          openedAt: instant,
          subscriptions: { type: 'array', items: { $ref: '#/components/schemas/Subscription' } },
        },
      },
      SubscriptionRequest: {
        type: 'object',
        required: ['id', 'accountId', 'planId', 'startsAt'],
        properties: { id: key, accountId: key, planId: key, startsAt: instant, endsAt: instant },
      },
      Subscription: {
        type: 'object',
        properties: {
          id: key,
          accountId: key,
          planId: { ...key, description: 'the latest plan' },
          startsAt: instant,
          endsAt: { type: ['string', 'null'], format: 'date-time' },
          plans: { type: 'array', items: { type: 'object', properties: { planId: key, from: instant } } },
        },
      },
      Subject: {
        type: 'object',
        properties: {
          key,
          accountId: key,
          attributes: { type: 'object', additionalProperties: { type: 'string' } },
          timeline: {
            type: 'array',
            items: { type: 'object', properties: { accountId: key, from: instant, attributes: { type: 'object' } } },
          },
          history: {
            type: 'array',
            items: { type: 'object', description: 'SubjectAssigned / SubjectAssignmentCorrected, as recorded' },
          },
        },
      },
      ParkedUsage: {
        type: 'object',
        properties: {
          usageId: { type: 'string', format: 'uuid' },
          source: { type: 'string' },
          eventId: { type: 'string' },
          eventType: { type: 'string' },
          subject: { type: 'string' },
          time: instant,
          reason: { type: 'string', enum: ['unknown_subject', 'no_owner_at_time', 'no_subscription'] },
          recordedAt: instant,
        },
      },
    },
  },
} as const;
