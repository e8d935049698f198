import {
  Currency,
  Decimal,
  Instant,
  Month,
  queryInteger,
  queryText,
  ResourceKey,
  z,
} from '@tally/shared/feature-runtime';

/**
 * Invoicing's request and answer schemas: they validate the requests' shape (types, required fields,
 * patterns, lengths) and write the OpenAPI document. What a schema cannot say stays in the validators:
 * a currency this runtime knows (isCurrency), an instant that exists (parseRfc3339), and the charges' rules
 * (libs/invoicing/domain charge.validation.ts: contiguous tiers with only the last unbounded, a field of
 * another model refused, one charge per meter, sizes above zero, decimals made canonical).
 */

// ---------------------------------------------------------------- path and query parameters

/** Plans and accounts: keys, as they were created with. */
export const planIdParam = z.object({ id: ResourceKey });
export const accountIdParam = z.object({ id: ResourceKey });
/** Invoices, credit notes and reconciliations: a uuid, but anything else is a 404 (no such resource), not a 400. */
export const uuidIdParam = z.object({
  id: z.string().meta({ description: 'a uuid', examples: ['5b1e7a2c-3d4f-5a6b-8c7d-9e0f1a2b3c4d'] }),
});

export const accountQuery = z.object({
  accountId: queryText()
    .min(1)
    .meta({ description: 'the account whose documents to list', examples: ['acme-corp'] }),
});

// ---------------------------------------------------------------- plans

/** A price or quantity in a charge: non-negative decimal text, never a JSON number (it would be a float). */
export const PriceDecimal = z
  .string()
  .regex(/^(?:\d+\.?\d*|\.\d+)$/, {
    error: 'must be a non-negative decimal string such as "0.25" (no sign, no exponent)',
  })
  .max(40)
  .meta({
    id: 'PriceDecimal',
    description: 'A non-negative exact decimal as a string (no sign, no exponent), at most 40 characters',
    examples: ['0.25'],
  });

export const ChargeTierRequest = z
  .object({
    upTo: PriceDecimal.nullable()
      .optional()
      .meta({ description: 'inclusive upper bound in billable units; null (or absent) on the last tier only' }),
    unitPrice: PriceDecimal.meta({ description: 'price per unit in the tier' }),
    flatPrice: PriceDecimal.nullable()
      .optional()
      .meta({ description: 'charged once when any unit falls in the tier; 0 by default' }),
  })
  .meta({ id: 'ChargeTierRequest' });

/** What every charge has, whatever its model. */
const chargeCommon = {
  meter: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, {
      error: 'must be a meter slug: 1 to 63 letters, digits, - or _, starting with a letter or digit',
    })
    .meta({ description: 'the slug of a meter that exists', examples: ['fn-gbs'] }),
  per: z
    .string()
    .max(64)
    .regex(/\S/, { error: 'must be a non-empty string of at most 64 characters, or null' })
    .nullable()
    .optional()
    .meta({
      description:
        'a subject attribute (e.g. app): usage is grouped by its value, each group gets the allowance and tiers on its own; null: the subscription as a whole',
    }),
  allowance: PriceDecimal.nullable()
    .optional()
    .meta({ description: 'free quantity per billing period (per group), taken off first; 0 by default' }),
  description: z.string().max(200).nullable().optional(),
};

const unitPricePer = z
  .string()
  .regex(/^10{0,18}$/, { error: 'must be a power of ten as a string ("1", "1000", "1000000")' })
  .optional()
  .meta({
    description:
      'how many units the unit price (each tier’s too) is for: "1000000" prices per million; a power of ten, so amounts stay exact; 1 by default',
    examples: ['1000000'],
  });

const tiers = z
  .array(ChargeTierRequest)
  .min(1)
  .meta({ description: 'ordered by upTo, each above the one before; only the last is unbounded' });

/**
 * One meter's price, by model. A field of another model is refused (null counts as absent, so a charge as
 * the plan answers it is accepted again).
 */
export const ChargeRequest = z
  .discriminatedUnion('model', [
    z
      .object({
        ...chargeCommon,
        model: z.literal('unit'),
        unitPrice: PriceDecimal.meta({ description: 'billable × unitPrice (÷ unitPricePer)' }),
        unitPricePer,
      })
      .meta({ title: 'unit' }),
    z
      .object({ ...chargeCommon, model: z.literal('graduated'), tiers, unitPricePer })
      .meta({ title: 'graduated', description: 'billable split over the tiers, each part at its own tier’s price' }),
    z.object({ ...chargeCommon, model: z.literal('volume'), tiers, unitPricePer }).meta({
      title: 'volume',
      description: 'all billable units at the price of the tier the billable quantity falls in',
    }),
    z
      .object({
        ...chargeCommon,
        model: z.literal('package'),
        packageSize: PriceDecimal.meta({ description: 'units per package; above 0' }),
        packagePrice: PriceDecimal.meta({ description: 'price of a started package' }),
      })
      .meta({ title: 'package', description: 'ceil(billable / packageSize) × packagePrice' }),
  ])
  .meta({ id: 'ChargeRequest' });

const chargesExample = [
  {
    meter: 'fn-gbs',
    model: 'graduated',
    per: 'app',
    allowance: '200000',
    tiers: [
      { upTo: '1000000', unitPrice: '0.000025' },
      { upTo: null, unitPrice: '0.00002' },
    ],
    description: 'Function compute, per app',
  },
  { meter: 'kvs-reads', model: 'unit', allowance: '0.1', unitPrice: '0.055' },
  { meter: 'sql-requests', model: 'unit', allowance: '100000', unitPrice: '1.929', unitPricePer: '1000000' },
];

export const PlanRequest = z
  .strictObject({
    id: ResourceKey,
    name: z.string().max(200).trim().min(1),
    currency: Currency,
    charges: z.array(ChargeRequest).nullable().optional().meta({ description: 'none by default' }),
  })
  .meta({
    id: 'PlanRequest',
    examples: [{ id: 'forge-standard', name: 'Forge standard', currency: 'USD', charges: chargesExample }],
  });

export const PlanVersionRequest = z
  .strictObject({
    effectiveFrom: Instant.meta({ description: 'not in the past, after the latest version’s' }),
    charges: z.array(ChargeRequest).meta({ description: 'the whole price list of the new version' }),
  })
  .meta({
    id: 'PlanVersionRequest',
    examples: [{ effectiveFrom: '2027-01-01T00:00:00Z', charges: chargesExample }],
  });

export const ChargeTier = z
  .object({ upTo: Decimal.nullable(), unitPrice: Decimal, flatPrice: Decimal })
  .meta({ id: 'ChargeTier' });

/** A charge as validated and stored: decimals canonical, every field spelled out (null when not its model's). */
export const Charge = z
  .object({
    meter: z.string(),
    model: z.enum(['unit', 'graduated', 'volume', 'package']),
    per: z.string().nullable(),
    allowance: Decimal,
    unitPrice: Decimal.nullable().meta({ description: 'unit model' }),
    unitPricePer: Decimal.optional().meta({
      description: 'the number of units unitPrice (and each tier’s) is for; absent: 1',
    }),
    tiers: z.array(ChargeTier).nullable().meta({ description: 'graduated and volume models' }),
    packageSize: Decimal.nullable().meta({ description: 'package model' }),
    packagePrice: Decimal.nullable().meta({ description: 'package model' }),
    description: z.string().nullable(),
  })
  .meta({ id: 'Charge' });

export const Plan = z
  .object({
    id: ResourceKey,
    name: z.string(),
    currency: Currency,
    createdAt: Instant,
    latestVersion: z.int(),
    versions: z.array(
      z.object({
        version: z.int(),
        effectiveFrom: Instant.nullable().meta({ description: 'null: version 1, in force from the beginning' }),
        charges: z.array(Charge),
        at: Instant.meta({ description: 'when it was published' }),
      }),
    ),
  })
  .meta({ id: 'Plan' });

export const planListQuery = z.object({
  limit: queryInteger(1, 200).optional().meta({ description: 'page size; 50 by default' }),
  after: ResourceKey.optional().meta({ description: 'the `next` of the previous page' }),
});

export const PlanList = z.object({
  plans: z.array(Plan).meta({ description: 'by id (byte order), each as GET /v1/plans/{id} answers it' }),
  next: z.string().nullable().meta({ description: 'give as `after` for the next page; null on the last' }),
});

// ---------------------------------------------------------------- invoices and credit notes

export const InvoicePeriod = z
  .object({
    label: Month.meta({ description: 'the month (in the account’s time zone) the period starts in' }),
    start: Instant,
    end: Instant.meta({ description: 'exclusive' }),
  })
  .meta({ id: 'InvoicePeriod' });

export const PlanSegment = z
  .object({ from: Instant, to: Instant, planId: z.string(), planVersion: z.int() })
  .meta({ id: 'PlanSegment', description: 'a part of the period with one plan version: usage in [from, to)' });

const lineCommon = {
  segment: PlanSegment,
  meter: z.string(),
  model: z.enum(['unit', 'graduated', 'volume', 'package']),
  per: z.string().nullable(),
  perValue: z.string().nullable().meta({ description: 'the group’s value of `per`' }),
  quantity: Decimal.meta({ description: 'measured quantity of the group in the segment' }),
  allowanceApplied: Decimal,
  tier: z.int().nullable().meta({ description: '1-based tier of graduated and volume lines' }),
  units: Decimal.meta({ description: 'units priced on the line (package: packages)' }),
  unitPrice: Decimal,
  quotedPrice: z
    .object({ price: Decimal, per: Decimal })
    .optional()
    .meta({ description: 'a charge priced per N units: its price as quoted (unitPrice is price ÷ per)' }),
  flatPrice: Decimal,
  amount: Decimal.meta({ description: 'precise, never rounded: units × unitPrice + flatPrice' }),
};

export const UsageLine = z.object({ kind: z.literal('usage'), ...lineCommon }).meta({ id: 'UsageLine' });

export const AdjustmentLine = z
  .object({
    kind: z.literal('adjustment'),
    ...lineCommon,
    adjusts: z.object({ invoiceId: z.uuid(), period: Month }),
    billedQuantity: Decimal,
    billedAmount: Decimal,
    currentAmount: Decimal,
  })
  .meta({
    id: 'AdjustmentLine',
    description: 'a finalized period’s line as re-rated now, minus what was billed for it (may be negative)',
  });

export const InvoiceLine = z.discriminatedUnion('kind', [UsageLine, AdjustmentLine]).meta({ id: 'InvoiceLine' });

const invoiceContent = {
  lines: z.array(InvoiceLine),
  subtotal: Decimal.meta({ description: 'exact sum of the lines' }),
  total: Decimal.meta({ description: 'subtotal rounded once, half-even, to the currency’s minor unit' }),
};

export const Invoice = z
  .object({
    tenant: z.string(),
    invoiceId: z.uuid(),
    status: z.enum(['draft', 'finalized', 'voided']),
    accountId: ResourceKey,
    subscriptionId: ResourceKey,
    currency: Currency,
    period: InvoicePeriod,
    ...invoiceContent,
    finalizesAt: Instant.meta({ description: 'when the grace period ends and the draft finalizes on its own' }),
    draftedAt: Instant,
    redraftedAt: Instant.optional(),
    finalizedAt: Instant.optional(),
    trigger: z.enum(['grace_period_ended', 'requested']).optional(),
    creditNotes: z.array(z.uuid()).optional().meta({ description: 'credit notes issued with its finalization' }),
    voidReason: z.string().optional(),
    voidedAt: Instant.optional(),
    finalizedPosition: z
      .string()
      .optional()
      .meta({ description: 'ledger position of its finalization (read from its stream only)' }),
  })
  .meta({ id: 'Invoice' });

export const invoiceListQuery = accountQuery.extend({
  order: z.enum(['asc', 'desc']).optional().meta({ description: 'by period: asc (oldest first, the default) or desc' }),
});

export const InvoiceList = z.object({ accountId: z.string(), invoices: z.array(Invoice) });

export const UpcomingInvoice = z
  .object({
    status: z.literal('upcoming'),
    invoiceId: z.uuid().meta({ description: 'the id the period’s invoice will have' }),
    accountId: ResourceKey,
    subscriptionId: ResourceKey,
    currency: Currency,
    period: InvoicePeriod,
    ...invoiceContent,
    pendingCreditNotes: z
      .array(z.object({ invoiceId: z.uuid(), period: Month, lines: z.array(AdjustmentLine) }))
      .meta({ description: 'finalized periods that now come to less: credited when this invoice finalizes' }),
    ratedAt: Instant,
    projection: z
      .object({
        to: Instant.meta({ description: 'the period’s end, projected to' }),
        lines: z.array(UsageLine).meta({ description: 'each charge and group rated from its projected quantity' }),
        subtotal: Decimal.meta({
          description: 'projected usage lines and the adjustment lines already on the invoice',
        }),
        total: Decimal.meta({ description: 'subtotal rounded half-even to the currency’s minor unit' }),
      })
      .meta({
        description:
          'the period’s cost projected to its end: sums and counts at their rate so far, time-weighted levels held to the end, other aggregations as measured (docs/invoicing.md)',
      }),
  })
  .meta({ id: 'UpcomingInvoice' });

export const VoidRequest = z
  .object({ reason: z.string().max(500).trim().min(1) })
  .meta({ examples: [{ reason: 'billed outside Tally' }] });

export const CreditNote = z
  .object({
    tenant: z.string(),
    creditNoteId: z.uuid(),
    invoiceId: z.uuid().meta({ description: 'the finalized invoice credited' }),
    issuedWith: z.uuid().meta({ description: 'the invoice whose finalization found the change' }),
    accountId: ResourceKey,
    subscriptionId: ResourceKey,
    currency: Currency,
    period: Month,
    lines: z.array(AdjustmentLine),
    subtotal: Decimal.meta({ description: 'the lines’ sum (negative)' }),
    total: Decimal.meta({ description: 'owed back: −subtotal rounded half-even to the minor unit' }),
    issuedAt: Instant,
  })
  .meta({ id: 'CreditNote' });

export const CreditNoteList = z.object({ accountId: z.string(), creditNotes: z.array(CreditNote) });

const count = z.int().min(0);

export const BillingRun = z
  .object({
    drafted: count,
    redrafted: count,
    finalized: count,
    unchanged: count,
    waiting: count.meta({ description: 'an earlier invoice of the subscription is still a draft' }),
    behind: count.meta({ description: 'usage or the registry has not caught up with the ledger' }),
    voided: count,
    failed: count,
    subscriptions: count,
    costAlerts: count.meta({ description: 'cost budget thresholds crossed for the first time in this run' }),
    startedAt: Instant,
    durationMs: count,
  })
  .meta({ id: 'BillingRun' });

export const billingRunListQuery = z.object({
  limit: queryInteger(1, 100).optional().meta({ description: 'at most this many; 20 by default' }),
});

export const BillingRunRecord = BillingRun.extend({
  tenant: z.string(),
  trigger: z.enum(['scheduled', 'manual']).meta({ description: 'the billing clock, or POST /v1/admin/billing-runs' }),
  error: z.string().nullable().meta({
    description:
      'why the tenant’s run failed as a whole, as an API problem’s detail would say it (the raw cause is in the log; its counts are then zero); null when it ran — single subscriptions that failed are counted in `failed`',
  }),
}).meta({ id: 'BillingRunRecord' });

export const BillingRunList = z.object({
  runs: z
    .array(BillingRunRecord)
    .meta({ description: 'the tenant’s runs, newest first (the newest 1,000 are kept; docs/invoicing.md)' }),
});

// ---------------------------------------------------------------- reconciliations

export const ReconciliationRequest = z
  .object({
    period: Month.meta({ description: 'a billing period: the month each account’s period starts in' }),
  })
  .meta({ examples: [{ period: '2026-11' }] });

export const ReconciliationStarted = z.object({
  id: z.uuid(),
  period: Month,
  status: z.literal('running'),
});

export const ReconciliationDrift = z
  .object({
    accountId: ResourceKey,
    subscriptionId: ResourceKey,
    invoiceId: z.uuid().nullable(),
    segment: PlanSegment,
    meter: z.string(),
    perValue: z.string().nullable(),
    ledger: Decimal.meta({ description: 'the quantity the ledger holds' }),
    rollups: Decimal.nullable(),
    invoiced: Decimal.nullable(),
    cause: z.enum(['rollups_behind', 'rollups_differ', 'changed_after_finalization', 'invoice_differs']),
    detail: z.string(),
  })
  .meta({ id: 'ReconciliationDrift' });

export const Reconciliation = z
  .object({
    id: z.uuid(),
    period: Month,
    status: z.enum(['running', 'completed', 'failed']),
    requestedAt: Instant,
    completedAt: Instant.nullable(),
    ledgerPosition: z.string().optional().meta({ description: 'completed: the ledger was read up to it' }),
    accounts: count.optional(),
    subscriptions: count.optional(),
    groupsCompared: count.optional(),
    invoicesCompared: count.optional(),
    drifts: z.array(ReconciliationDrift).optional().meta({ description: 'completed: empty on a healthy system' }),
    error: z.string().optional().meta({ description: 'failed: why' }),
  })
  .meta({ id: 'Reconciliation' });

export const reconciliationListQuery = z.object({
  limit: queryInteger(1, 100).optional().meta({ description: 'page size; 20 by default' }),
  before: queryText().uuid().optional().meta({ description: 'the `next` of the previous page' }),
});

export const ReconciliationSummary = Reconciliation.omit({ drifts: true })
  .extend({
    driftCount: count.nullable().meta({ description: 'the drifts found; null unless completed' }),
  })
  .meta({ id: 'ReconciliationSummary', description: 'a reconciliation report without its drifts' });

export const ReconciliationList = z.object({
  reconciliations: z.array(ReconciliationSummary).meta({ description: 'newest request first' }),
  next: z.uuid().nullable().meta({ description: 'give as `before` for the next (older) page; null on the last' }),
});
