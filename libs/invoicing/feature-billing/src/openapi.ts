import { problemSchema } from '@tally/shared/feature-runtime';
/**
 * OpenAPI 3.1 description of invoicing's admin API, served at GET /v1/invoicing/openapi.json.
 * Kept beside the controllers; openapi.spec.ts checks that every route the app serves is here.
 */
const problem = { $ref: '#/components/responses/Problem' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const decimal = (description: string) => ({
  type: 'string',
  pattern: '^(?:\\d+\\.?\\d*|\\.\\d+)$',
  maxLength: 40,
  description: `${description} — a decimal string, never a JSON number`,
});
const amount = { type: 'string', description: 'exact decimal text (may be negative on adjustments)' };
const instant = { type: 'string', format: 'date-time' };
const key = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$' };
const uuid = { type: 'string', format: 'uuid' };
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, schema: unknown) => ({ description, ...json(schema) });
/** Problem answers by status; every authenticated operation may also be refused 403 (the credential's role or tenant). */
const refusals = (...codes: number[]) =>
  Object.fromEntries([...codes, ...(codes.includes(401) ? [403] : [])].map((code) => [String(code), problem]));
const path = (name: string, schema: unknown = key) => ({ name, in: 'path', required: true, schema });
const query = (name: string, schema: unknown = key) => ({ name, in: 'query', required: true, schema });

export const invoicingOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'Tally invoicing',
    version: '1',
    description:
      "Price plans, invoices, credit notes and reconciliation (docs/invoicing.md). Every route needs the admin token. Money: lines keep precise amounts; an invoice total is the sum of its lines rounded once, half-even, to the currency's ISO 4217 minor unit.",
  },
  security: [{ admin: [] }],
  paths: {
    '/v1/plans': {
      post: {
        summary: 'Create a price plan (version 1, in force from the beginning)',
        requestBody: json(ref('PlanRequest')),
        responses: {
          '201': ok('created', ref('Plan')),
          '200': ok('the same plan already existed', ref('Plan')),
          ...refusals(400, 401, 409, 422),
        },
      },
    },
    '/v1/plans/{id}': {
      get: {
        summary: 'A plan with all its versions',
        parameters: [path('id')],
        responses: { '200': ok('the plan', ref('Plan')), ...refusals(401, 404) },
      },
    },
    '/v1/plans/{id}/versions': {
      post: {
        summary: 'New prices from an instant on (not in the past, after the latest version)',
        parameters: [path('id')],
        requestBody: json({
          type: 'object',
          required: ['effectiveFrom', 'charges'],
          properties: { effectiveFrom: instant, charges: { type: 'array', items: ref('Charge') } },
        }),
        responses: {
          '201': ok('revised', ref('Plan')),
          '200': ok('the same version already existed', ref('Plan')),
          ...refusals(400, 401, 409, 422),
        },
      },
    },
    '/v1/accounts/{id}/upcoming-invoice': {
      get: {
        summary: "The running subscription's current period, rated live from current usage",
        parameters: [path('id')],
        responses: { '200': ok('the upcoming invoice', ref('UpcomingInvoice')), ...refusals(401, 404, 503) },
      },
    },
    '/v1/invoices': {
      get: {
        summary: "An account's invoices",
        parameters: [query('accountId')],
        responses: {
          '200': ok('the invoices, oldest period first', {
            type: 'object',
            properties: { accountId: key, invoices: { type: 'array', items: ref('Invoice') } },
          }),
          ...refusals(400, 401),
        },
      },
    },
    '/v1/invoices/{id}': {
      get: {
        summary: 'An invoice, folded from its ledger stream',
        parameters: [path('id', uuid)],
        responses: { '200': ok('the invoice', ref('Invoice')), ...refusals(401, 404) },
      },
    },
    '/v1/invoices/{id}/finalize': {
      post: {
        summary: 'Finalize a draft before its grace period ends (re-rated one last time; earlier periods first)',
        parameters: [path('id', uuid)],
        responses: { '201': ok('finalized', ref('Invoice')), ...refusals(401, 404, 409, 503) },
      },
    },
    '/v1/invoices/{id}/void': {
      post: {
        summary: "Void a draft or a final invoice (it stays the period's invoice)",
        parameters: [path('id', uuid)],
        requestBody: json({
          type: 'object',
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
        }),
        responses: { '201': ok('voided', ref('Invoice')), ...refusals(400, 401, 404, 409) },
      },
    },
    '/v1/credit-notes': {
      get: {
        summary: "An account's credit notes",
        parameters: [query('accountId')],
        responses: {
          '200': ok('the credit notes', {
            type: 'object',
            properties: { accountId: key, creditNotes: { type: 'array', items: ref('CreditNote') } },
          }),
          ...refusals(400, 401),
        },
      },
    },
    '/v1/credit-notes/{id}': {
      get: {
        summary: 'A credit note',
        parameters: [path('id', uuid)],
        responses: { '200': ok('the credit note', ref('CreditNote')), ...refusals(401, 404) },
      },
    },
    '/v1/reconciliations': {
      post: {
        summary: 'Compare ledger, rollups and invoices for a period (runs in the background)',
        requestBody: json({
          type: 'object',
          required: ['period'],
          properties: { period: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
        }),
        responses: {
          '202': ok('started; poll the Location', {
            type: 'object',
            properties: { id: uuid, period: { type: 'string' }, status: { const: 'running' } },
          }),
          ...refusals(400, 401),
        },
      },
    },
    '/v1/reconciliations/{id}': {
      get: {
        summary: 'A reconciliation report',
        parameters: [path('id', uuid)],
        responses: { '200': ok('the report', ref('Reconciliation')), ...refusals(401, 404) },
      },
    },
    '/v1/admin/billing-runs': {
      post: {
        summary: 'Run billing now: draft ended periods, re-rate drafts, finalize past their grace period',
        responses: { '201': ok('what the run did', ref('BillingRun')), ...refusals(401, 409) },
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
        content: { 'application/problem+json': { schema: ref('Problem') } },
      },
    },
    schemas: {
      Problem: problemSchema,
      Tier: {
        type: 'object',
        required: ['upTo', 'unitPrice'],
        properties: {
          upTo: { oneOf: [decimal('inclusive upper bound'), { type: 'null' }] },
          unitPrice: decimal('price per unit in the tier'),
          flatPrice: decimal('once when any unit falls in the tier'),
        },
      },
      Charge: {
        type: 'object',
        required: ['meter', 'model'],
        properties: {
          meter: { type: 'string', description: 'meter slug' },
          model: { enum: ['unit', 'graduated', 'volume', 'package'] },
          per: { type: ['string', 'null'], description: 'subject attribute (e.g. app): allowance and tiers per value' },
          allowance: decimal('free quantity per period (per group)'),
          unitPrice: decimal('unit model'),
          tiers: {
            type: 'array',
            items: ref('Tier'),
            description: 'graduated and volume models; the last upTo is null',
          },
          packageSize: decimal('package model'),
          packagePrice: decimal('package model'),
          description: { type: ['string', 'null'], maxLength: 200 },
        },
      },
      PlanRequest: {
        type: 'object',
        required: ['id', 'name', 'currency'],
        properties: {
          id: key,
          name: { type: 'string' },
          currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          charges: { type: 'array', items: ref('Charge') },
        },
      },
      Plan: {
        type: 'object',
        properties: {
          id: key,
          name: { type: 'string' },
          currency: { type: 'string' },
          createdAt: instant,
          latestVersion: { type: 'integer' },
          versions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                version: { type: 'integer' },
                effectiveFrom: { type: ['string', 'null'], format: 'date-time' },
                charges: { type: 'array', items: ref('Charge') },
                at: instant,
              },
            },
          },
        },
      },
      Period: {
        type: 'object',
        properties: {
          label: { type: 'string', description: 'YYYY-MM: the month the period starts in' },
          start: instant,
          end: { ...instant, description: 'exclusive' },
        },
      },
      Line: {
        type: 'object',
        description:
          'One priced line: usage of a meter (for a group) in a plan segment; adjustments also carry adjusts, billedQuantity, billedAmount, currentAmount',
        properties: {
          kind: { enum: ['usage', 'adjustment'] },
          segment: {
            type: 'object',
            properties: { from: instant, to: instant, planId: key, planVersion: { type: 'integer' } },
          },
          meter: { type: 'string' },
          model: { enum: ['unit', 'graduated', 'volume', 'package'] },
          per: { type: ['string', 'null'] },
          perValue: { type: ['string', 'null'] },
          quantity: amount,
          allowanceApplied: amount,
          tier: { type: ['integer', 'null'] },
          units: amount,
          unitPrice: amount,
          flatPrice: amount,
          amount,
          adjusts: { type: 'object', properties: { invoiceId: uuid, period: { type: 'string' } } },
          billedQuantity: amount,
          billedAmount: amount,
          currentAmount: amount,
        },
      },
      Invoice: {
        type: 'object',
        properties: {
          invoiceId: uuid,
          status: { enum: ['draft', 'finalized', 'voided'] },
          accountId: key,
          subscriptionId: key,
          currency: { type: 'string' },
          period: ref('Period'),
          lines: { type: 'array', items: ref('Line') },
          subtotal: { ...amount, description: 'exact sum of the lines' },
          total: { type: 'string', description: 'subtotal rounded half-even to the minor unit' },
          finalizesAt: instant,
          draftedAt: instant,
          finalizedAt: instant,
          trigger: { enum: ['grace_period_ended', 'requested'] },
          creditNotes: { type: 'array', items: uuid },
          voidReason: { type: 'string' },
        },
      },
      UpcomingInvoice: {
        allOf: [
          ref('Invoice'),
          {
            type: 'object',
            properties: {
              status: { const: 'upcoming' },
              ratedAt: instant,
              pendingCreditNotes: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    invoiceId: uuid,
                    period: { type: 'string' },
                    lines: { type: 'array', items: ref('Line') },
                  },
                },
              },
            },
          },
        ],
      },
      CreditNote: {
        type: 'object',
        properties: {
          creditNoteId: uuid,
          invoiceId: { ...uuid, description: 'the finalized invoice credited' },
          issuedWith: { ...uuid, description: 'the invoice whose finalization found the change' },
          accountId: key,
          subscriptionId: key,
          currency: { type: 'string' },
          period: { type: 'string' },
          lines: { type: 'array', items: ref('Line') },
          subtotal: amount,
          total: { type: 'string', description: 'owed back: −subtotal rounded half-even' },
          issuedAt: instant,
        },
      },
      Reconciliation: {
        type: 'object',
        properties: {
          id: uuid,
          period: { type: 'string' },
          status: { enum: ['running', 'completed', 'failed'] },
          requestedAt: instant,
          completedAt: { type: ['string', 'null'], format: 'date-time' },
          ledgerPosition: { type: 'string' },
          accounts: { type: 'integer' },
          subscriptions: { type: 'integer' },
          groupsCompared: { type: 'integer' },
          invoicesCompared: { type: 'integer' },
          drifts: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                accountId: key,
                subscriptionId: key,
                invoiceId: { type: ['string', 'null'] },
                meter: { type: 'string' },
                perValue: { type: ['string', 'null'] },
                ledger: amount,
                rollups: { type: ['string', 'null'] },
                invoiced: { type: ['string', 'null'] },
                cause: { enum: ['rollups_behind', 'rollups_differ', 'changed_after_finalization', 'invoice_differs'] },
                detail: { type: 'string' },
              },
            },
          },
        },
      },
      BillingRun: {
        type: 'object',
        properties: Object.fromEntries(
          [
            'drafted',
            'redrafted',
            'finalized',
            'unchanged',
            'waiting',
            'behind',
            'voided',
            'failed',
            'subscriptions',
            'durationMs',
          ].map((name) => [name, { type: 'integer' }]),
        ),
      },
    },
  },
} as const;
