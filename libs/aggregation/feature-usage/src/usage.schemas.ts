import {
  defaultThresholds,
  meterAggregations,
  meterIdPattern,
  meterLimits,
  meterWindowSizes,
  parseJsonPath,
  parseValueExpression,
  valueExpressionLimits,
  windowSizes,
} from '@tally/aggregation/domain';
import { Decimal, Instant, Month, ResourceKey, queryInteger, queryText, z } from '@tally/shared/feature-runtime';

/**
 * Aggregation's request and answer schemas: they validate the requests (shape: types, required fields,
 * patterns, lengths) and write the OpenAPI document. The domain's validators (validateMeter, validateBudget,
 * parseUsageQuery, parseMeterQuery) add what a schema cannot say — a time zone that exists, aligned windows,
 * a group-by key the meter has, ascending thresholds — and build the commands and queries. The
 * /api/v1/meters routes are OpenMeter-compatible; these schemas describe Tally's answers as they are.
 */

/** A pattern that takes these words in any case (the handlers upper-case them), written so JSON Schema says so too. */
const anyCase = (words: readonly string[]) =>
  new RegExp(
    `^(${words
      .map((word) => [...word].map((c) => (/[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c)).join(''))
      .join('|')})$`,
  );

/** A query parameter that may be given several times (`?x=a&x=b`) or as a comma-separated list. */
const repeatable = () => z.union([queryText(), z.array(queryText())]);

// ---- path parameters (unknown or malformed ids are 404, as the handlers answer) ----

export const slugParam = z.object({ slug: z.string().meta({ description: 'the meter’s slug' }) });
export const accountIdParam = z.object({ id: z.string().meta({ description: 'the account’s id' }) });
export const budgetIdParam = z.object({ id: z.string().meta({ description: 'the budget’s id' }) });

// ---- GET /v1/usage ----

export const usageQuery = z.object({
  accountId: queryText()
    .min(1)
    .meta({ examples: ['acme-corp'] }),
  windowSize: queryText()
    .regex(anyCase(windowSizes), { error: `must be one of ${windowSizes.join(', ')}` })
    .optional()
    .meta({ description: `${windowSizes.join(', ')} (any case); HOUR by default`, examples: ['HOUR'] }),
  from: queryText()
    .optional()
    .meta({
      description: 'RFC 3339, inclusive, on a whole window (UTC); by default 24 hours before `to`',
      examples: ['2026-11-01T00:00:00Z'],
    }),
  to: queryText()
    .optional()
    .meta({
      description: 'RFC 3339, exclusive, on a whole window (UTC); by default the end of the current window',
      examples: ['2026-11-02T00:00:00Z'],
    }),
  type: queryText().optional().meta({ description: 'only events of this type' }),
});

export const UsageWindows = z
  .object({
    accountId: z.string(),
    from: Instant,
    to: Instant,
    windowSize: z.enum(windowSizes),
    totalEvents: Decimal,
    data: z
      .array(
        z.object({
          windowStart: Instant,
          windowEnd: Instant,
          eventType: z.string(),
          events: Decimal,
        }),
      )
      .meta({ description: 'windows with events, per event type; empty windows are left out' }),
  })
  .meta({ id: 'UsageWindows' });

// ---- meters (OpenMeter-compatible) ----

/** Text the meter validator takes: not blank, at most `max` characters. */
const text = (max: number) => z.string().max(max).regex(/\S/, { error: 'must not be blank' });

/** A JSONPath into the event's data, of the subset meters read (no filters, wildcards or recursion). */
const isJsonPath = (path: string, context: z.RefinementCtx) => {
  const parsed = parseJsonPath(path);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: `is not a supported JSONPath: ${parsed.error}` });
};

const isValueExpression = (expression: string, context: z.RefinementCtx) => {
  const parsed = parseValueExpression(expression);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: `is not a value expression: ${parsed.error}` });
};

const meterSlug = z.string().regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, {
  error: 'must be lower-case letters and digits, joined by - or _ (e.g. gb_seconds)',
});

export const MeterRequest = z
  .object({
    slug: meterSlug.max(meterLimits.slug),
    name: text(meterLimits.name).nullable().optional().meta({ description: 'the slug by default' }),
    description: text(meterLimits.description).nullable().optional(),
    eventType: text(meterLimits.eventType).meta({ description: 'the CloudEvents type the meter measures' }),
    aggregation: z.enum(meterAggregations),
    valueProperty: text(meterLimits.valueProperty).superRefine(isJsonPath).nullable().optional().meta({
      description:
        'JSONPath into the event’s data, such as $.gbSeconds: required unless COUNT (ignored for COUNT) or valueExpression is given',
    }),
    valueExpression: text(valueExpressionLimits.length)
      .superRefine(isValueExpression)
      .nullable()
      .optional()
      .meta({
        description:
          'Tally: a derived value instead of valueProperty — exact arithmetic (+ - * /, min, max, ceil, floor, parentheses) over data’s fields, e.g. `memoryMiB / 1024 * durationMs / 1000`; for SUM, MIN, MAX, AVG, LATEST and TIME_WEIGHTED_SUM (docs/aggregation.md)',
        examples: ['memoryMiB / 1024 * durationMs / 1000'],
      }),
    eventFrom: Instant.nullable().optional().meta({ description: 'only usage at or after this instant counts' }),
    metadata: z
      .record(z.string().max(256), z.string().max(1_024))
      .refine((pairs) => Object.keys(pairs).length <= 50, { error: 'must have at most 50 keys' })
      .nullable()
      .optional()
      .meta({ description: 'your key-value pairs, kept with the meter', examples: [{ owner: 'platform' }] }),
    groupBy: z
      .record(
        z.string().regex(/^(?!(?:__proto__|constructor|prototype)$)[A-Za-z_][A-Za-z0-9_]{0,62}$/),
        z.string().superRefine(isJsonPath),
        {
          error: (issue) =>
            issue.code === 'invalid_key'
              ? 'is not a group-by key: a name of letters, digits and _ (not starting with a digit)'
              : undefined,
        },
      )
      .refine((groups) => Object.keys(groups).length <= 20, { error: 'must have at most 20 group-by keys' })
      .nullable()
      .optional()
      .meta({ description: 'group-by key → JSONPath into the event’s data', maxProperties: 20 }),
  })
  .superRefine((meter, context) => {
    const reads = meter.valueProperty !== undefined && meter.valueProperty !== null;
    const derives = meter.valueExpression !== undefined && meter.valueExpression !== null;
    if (meter.aggregation !== 'COUNT' && !reads && !derives)
      context.addIssue({ code: 'custom', path: ['valueProperty'], message: `is required for ${meter.aggregation}` });
    if (reads && derives)
      context.addIssue({
        code: 'custom',
        path: ['valueProperty'],
        message: 'a meter reads valueProperty or valueExpression, not both',
      });
  })
  .meta({
    id: 'MeterRequest',
    examples: [
      {
        slug: 'gb_seconds',
        name: 'Function GB-seconds',
        eventType: 'fn.invocation',
        aggregation: 'SUM',
        valueProperty: '$.gbSeconds',
        groupBy: { region: '$.region' },
      },
    ],
  });

export const Meter = z
  .object({
    id: z.string().regex(meterIdPattern).meta({ description: 'a ULID; the slug addresses the meter too' }),
    slug: z.string(),
    name: z.string(),
    description: z.string().optional(),
    eventType: z.string(),
    aggregation: z.enum(meterAggregations),
    valueProperty: z.string().optional().meta({ description: 'absent for COUNT and derived values' }),
    valueExpression: z.string().optional().meta({ description: 'Tally: the derived value the meter reads' }),
    groupBy: z.record(z.string(), z.string()),
    eventFrom: Instant.optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    createdAt: Instant,
    updatedAt: Instant.meta({
      description: 'its last update (or its creation; its deletion once deleted)',
    }),
    deletedAt: Instant.optional(),
  })
  .meta({ id: 'Meter' });

export const MeterList = z.array(Meter);

/** OpenMeter's MeterUpdate: what may change once a meter exists. */
export const MeterUpdateRequest = z
  .object({
    name: text(meterLimits.name).optional(),
    description: text(meterLimits.description).nullable().optional().meta({ description: 'null clears it' }),
    metadata: z.record(z.string().max(256), z.string().max(1_024)).nullable().optional(),
    groupBy: z
      .record(z.string(), z.string().superRefine(isJsonPath))
      .optional()
      .meta({ description: 'the group-by keys after the update: the existing ones as they are, and new ones' }),
  })
  .meta({
    id: 'MeterUpdateRequest',
    examples: [
      { name: 'Function GB-seconds', description: 'GB-seconds of every invocation', groupBy: { region: '$.region' } },
    ],
  });

/** An inclusive range for OpenMeter's listings (subjects, group-by values). */
export const listingRange = (defaultFrom: string) =>
  z.object({
    from: Instant.optional().meta({ description: `inclusive; by default ${defaultFrom}` }),
    to: Instant.optional().meta({ description: 'inclusive; by default now' }),
  });

export const groupByValuesParams = z.object({
  slug: z.string().meta({ description: 'the meter’s id or slug' }),
  key: z.string().meta({ description: 'one of the meter’s group-by keys' }),
});

/** listMeters' paging and ordering, as OpenMeter's specification has them. */
export const meterListQuery = z.object({
  page: queryInteger(1, 1_000_000).optional().meta({ description: 'the page, from 1' }),
  pageSize: queryInteger(1, 1_000).optional().meta({ description: 'meters per page; 100 by default' }),
  order: z.enum(['ASC', 'DESC']).optional().meta({ description: 'ASC by default' }),
  orderBy: z
    .enum(['key', 'name', 'aggregation', 'createdAt', 'updatedAt'])
    .optional()
    .meta({ description: 'key (the slug) by default' }),
  includeDeleted: z.enum(['true', 'false']).optional().meta({ description: 'deleted meters too (false by default)' }),
});

/**
 * The meter query. windowSize is only documented here, not checked: parseMeterQuery names a bad windowSize
 * together with the errors only it can find (a time zone that does not exist, a group-by key the meter lacks)
 * in one answer, and a schema refusal would come first and alone.
 */
export const meterQuery = z
  .object({
    // Checked by parseMeterQuery (as windowSize, see above): it names a bad instant with every other bad field.
    from: queryText()
      .optional()
      .meta({ format: 'date-time', description: 'inclusive; by default the beginning of time' }),
    to: queryText()
      .optional()
      .meta({ format: 'date-time', description: 'inclusive (as OpenMeter’s specification says); by default now' }),
    windowSize: queryText()
      .optional()
      .meta({
        description: `${meterWindowSizes.join(', ')} (any case); absent: one value over the whole range`,
        examples: ['HOUR'],
      }),
    windowTimeZone: queryText()
      .optional()
      .meta({ description: 'the IANA time zone windows are cut in; UTC by default', examples: ['Europe/Berlin'] }),
    subject: repeatable().optional().meta({ description: 'only these subjects: repeat, or separate by commas' }),
    groupBy: repeatable()
      .optional()
      .meta({ description: 'group-by keys of the meter, or subject: repeat, or separate by commas' }),
    accountId: queryText().optional().meta({ description: 'only this account’s usage (Tally’s own)' }),
    filterCustomerId: repeatable()
      .optional()
      .meta({ description: 'only these accounts’ usage (OpenMeter’s customers are Tally’s accounts)' }),
    advancedMeterGroupByFilters: queryText()
      .optional()
      .meta({
        description: 'a JSON object: group-by key → filter ($eq, $ne, $in, $nin, $like, $ilike, $gt … $and, $or)',
        examples: ['{"region":{"$in":["eu","us"]}}'],
      }),
    clientId: queryText().max(36).optional().meta({ description: 'accepted and unused (OpenMeter tracks progress)' }),
  })
  // `filterGroupBy[key]=value`: one per group-by key, names made of the meter's keys.
  .catchall(repeatable());

/** OpenMeter's MeterQueryRequest: the meter query in a JSON body (POST …/query). */
export const MeterQueryRequest = z
  .object({
    clientId: z.string().min(1).max(36).optional(),
    from: Instant.optional().meta({ description: 'inclusive; by default the beginning of time' }),
    to: Instant.optional().meta({ description: 'inclusive; by default now' }),
    windowSize: z.enum(meterWindowSizes).optional(),
    windowTimeZone: z.string().optional(),
    subject: z.array(z.string()).max(100).optional(),
    filterCustomerId: z.array(z.string()).max(100).optional().meta({ description: 'accounts' }),
    filterGroupBy: z.record(z.string(), z.array(z.string()).min(1).max(100)).optional(),
    advancedMeterGroupByFilters: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    groupBy: z.array(z.string()).max(100).optional(),
    accountId: z.string().optional().meta({ description: 'only this account’s usage (Tally’s own)' }),
  })
  .meta({
    id: 'MeterQueryRequest',
    examples: [
      {
        from: '2026-11-01T00:00:00Z',
        to: '2026-11-30T23:59:59Z',
        windowSize: 'DAY',
        groupBy: ['region'],
        advancedMeterGroupByFilters: { region: { $in: ['eu', 'us'] } },
      },
    ],
  });
export type MeterQueryBody = z.infer<typeof MeterQueryRequest>;

/** A MeterQueryRequest as the GET query's parameters (so both are read by one parser). */
export const queryParamsOf = (body: MeterQueryBody): Record<string, string | string[] | undefined> => ({
  from: body.from,
  to: body.to,
  windowSize: body.windowSize,
  windowTimeZone: body.windowTimeZone,
  subject: body.subject,
  filterCustomerId: body.filterCustomerId,
  groupBy: body.groupBy,
  accountId: body.accountId,
  ...Object.fromEntries(
    Object.entries(body.filterGroupBy ?? {}).map(([key, values]) => [`filterGroupBy[${key}]`, values]),
  ),
  ...(body.advancedMeterGroupByFilters && {
    advancedMeterGroupByFilters: JSON.stringify(body.advancedMeterGroupByFilters),
  }),
});

export const MeterQueryResult = z
  .object({
    from: Instant.optional().meta({ description: 'as asked; absent when not asked (the beginning of time)' }),
    to: Instant,
    windowSize: z.enum(meterWindowSizes).optional().meta({ description: 'as asked; absent: one window' }),
    windowTimeZone: z.string(),
    data: z.array(
      z.object({
        value: z.number().meta({
          description:
            'the exact decimal, written as a JSON number with all its digits (read it with a decimal parser)',
        }),
        windowStart: Instant,
        windowEnd: Instant,
        subject: z.string().nullable().meta({ description: 'null unless grouped by subject' }),
        groupBy: z
          .record(z.string(), z.string().nullable())
          .meta({ description: 'the values of the group-by keys asked for (null: the event had none)' }),
      }),
    ),
  })
  .meta({ id: 'MeterQueryResult' });

export const UnmeteredEventTypes = z.object({
  items: z.array(
    z.object({
      eventType: z.string(),
      events: Decimal,
      firstTime: Instant,
      lastTime: Instant,
    }),
  ),
});

// ---- GET /v1/accounts/{id}/usage ----

/** A subject attribute's name as the breakdown and its filters take it. */
const attributeName = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
export const maxBreakdownAttributes = 5;

/** The keys a breakdown or window row has besides the attributes: no attribute may take their name. */
const answerKeys = ['value', 'windowStart', 'windowEnd'];
export const accountUsageWindowSizes = ['HOUR', 'DAY'] as const;
export type AccountUsageWindowSize = (typeof accountUsageWindowSizes)[number];
const accountUsageParameters = new Set(['period', 'breakdownBy', 'windowSize', 'meters']);

export const accountUsageQuery = z
  .object({
    period: Month.optional().meta({ description: 'the billing period; by default the current one' }),
    breakdownBy: queryText()
      .refine(
        (text) => {
          const names = text.split(',');
          return (
            names.length <= maxBreakdownAttributes &&
            names.every((n) => attributeName.test(n) && !answerKeys.includes(n)) &&
            new Set(names).size === names.length
          );
        },
        {
          error: `must be 1 to ${maxBreakdownAttributes} distinct subject attribute names, comma-separated (letters, digits, _ . : -; not ${answerKeys.join(', ')})`,
        },
      )
      .optional()
      .meta({
        description:
          'the subject attributes to break usage down by (Forge’s site breakdown); app,environment by default',
        examples: ['site,app'],
      }),
    windowSize: z.enum(accountUsageWindowSizes).optional().meta({
      description:
        'split each meter’s usage into hours or days of the account’s time zone (a DAY starts at local midnight: 23 or 25 hours on DST days); only windows with usage are listed',
    }),
    meters: queryText()
      .refine(
        (text) => {
          const slugs = text.split(',');
          return slugs.every((slug) => meterSlug.safeParse(slug).success) && new Set(slugs).size === slugs.length;
        },
        { error: 'must be distinct meter slugs, comma-separated (e.g. gb_seconds,api_calls)' },
      )
      .optional()
      .meta({ description: 'only these meters (every live meter by default)', examples: ['gb_seconds'] }),
  })
  // `filterAttribute[name]=value`: only usage of subjects whose attribute has that value (every filter must hold).
  .catchall(queryText())
  .superRefine((query, context) => {
    for (const key of Object.keys(query))
      if (!accountUsageParameters.has(key)) {
        const name = /^filterAttribute\[(.+)\]$/.exec(key)?.[1];
        if (name === undefined || !attributeName.test(name))
          context.addIssue({
            code: 'custom',
            path: [key],
            message:
              'is not a parameter here: period, breakdownBy, windowSize, meters and filterAttribute[name]=value are',
          });
      }
  });

export const AccountUsage = z
  .object({
    accountId: z.string(),
    period: Month,
    timezone: z.string(),
    billingAnchorDay: z.int().min(1).max(31),
    windowSize: z.enum(accountUsageWindowSizes).optional().meta({ description: 'only when asked' }),
    from: Instant,
    to: Instant,
    meters: z.array(
      z.object({
        slug: z.string(),
        name: z.string(),
        aggregation: z.enum(meterAggregations),
        total: Decimal.nullable().meta({ description: 'null when the period has no usage of the meter' }),
        breakdown: z.array(z.record(z.string(), z.string().nullable())).meta({
          description:
            'one row per combination of the breakdown’s attribute values (null: subjects without it), and `value`',
          examples: [[{ app: 'app-1', environment: 'production', value: '250000' }]],
        }),
        windows: z
          .array(z.record(z.string(), z.string().nullable()))
          .optional()
          .meta({
            description:
              'only with windowSize: one row per window with usage and combination of the breakdown’s attribute values — `windowStart`, `windowEnd`, the attributes and `value`, by windowStart',
            examples: [
              [
                {
                  windowStart: '2026-11-01T23:00:00.000Z',
                  windowEnd: '2026-11-02T23:00:00.000Z',
                  app: 'app-1',
                  environment: 'production',
                  value: '1200',
                },
              ],
            ],
          }),
      }),
    ),
    breakdownBy: z.array(z.string()).meta({ description: 'the attributes the breakdown is by' }),
    filters: z.record(z.string(), z.string()).meta({ description: 'the attribute filters applied (filterAttribute)' }),
  })
  .meta({ id: 'AccountUsage' });

// ---- budgets ----

export const BudgetRequest = z
  .object({
    id: ResourceKey,
    accountId: ResourceKey,
    meter: meterSlug,
    app: z.string().min(1).nullable().optional().meta({ description: 'only this app’s usage' }),
    limit: z
      .string()
      .regex(/^(?=.*[1-9])(?:\d+\.?\d*|\.\d+)$/, { error: 'must be a positive decimal string, e.g. "200000"' })
      .meta({ description: 'in the meter’s unit, per billing period', examples: ['200000'] }),
    thresholds: z
      .array(z.int().min(1).max(1_000))
      .min(1)
      .max(20)
      .optional()
      .meta({
        description: `ascending whole percentages of the limit; ${JSON.stringify(defaultThresholds)} by default`,
      }),
  })
  .meta({
    id: 'BudgetRequest',
    examples: [
      {
        id: 'acme-gb-seconds',
        accountId: 'acme-corp',
        meter: 'gb_seconds',
        app: 'forge-app',
        limit: '200000',
        thresholds: [50, 75, 90, 100],
      },
    ],
  });

export const Budget = z
  .object({
    budgetId: z.string(),
    accountId: z.string(),
    meter: z.string(),
    app: z.string().nullable(),
    limit: z.string().meta({ description: 'a positive decimal, as it was set (e.g. "200000", "0.5", ".5")' }),
    thresholds: z.array(z.int().min(1).max(1_000)),
  })
  .meta({ id: 'Budget' });

/** GET /v1/budgets: one account's, or the tenant's first ones by id. */
export const maxListedBudgets = 1_000;
export const budgetListQuery = z.object({
  accountId: queryText().min(1).optional().meta({ description: 'only this account’s budgets' }),
});
export const BudgetList = z.object({ items: z.array(Budget) });
