import { Instant, Currency, ResourceKey, queryInteger, queryText, z } from '@tally/shared/feature-runtime';

/**
 * The registry's request and answer schemas: they validate the requests (shape: types, required fields,
 * patterns, lengths) and write the OpenAPI document. The validators in registry.validation.ts add what a
 * schema cannot say (a time zone that exists, an offset on every instant) and build the commands.
 */

/** Names of things people read (accounts), bounded like plans', tenants' and credentials'. */
export const maxNameLength = 200;

const reason = z.string().trim().min(1).max(1_024).meta({ description: 'why, for the audit trail' });
/** Bounded like every free text: they are stored with each registration and copied onto every usage event. */
export const attributeLimits = { count: 32, key: 64, value: 256 } as const;
const attributes = z
  .record(z.string().min(1).max(attributeLimits.key), z.string().max(attributeLimits.value))
  .refine((pairs) => Object.keys(pairs).length <= attributeLimits.count, {
    error: `must have at most ${attributeLimits.count} attributes`,
  })
  .meta({
    description: `free attributes of the subject (site, environment, app …): at most ${attributeLimits.count}, names of 1–${attributeLimits.key} characters, values of at most ${attributeLimits.value}`,
    examples: [{ site: 'eu-1' }],
  });

export const keyParam = z.object({ key: ResourceKey });
export const idParam = z.object({ id: ResourceKey });

export const AccountRequest = z
  .object({
    id: ResourceKey,
    name: z
      .string()
      .max(maxNameLength)
      .trim()
      .min(1)
      .meta({ description: `1 to ${maxNameLength} characters` }),
    currency: Currency,
    timezone: z
      .string()
      .min(1)
      .meta({ description: 'an IANA time zone', examples: ['Europe/Berlin'] }),
    billingAnchorDay: z.int().min(1).max(31).optional().meta({
      description:
        "the day billing periods start, 00:00 in the time zone (beyond a month's length: its last day); 1 by default",
    }),
    locale: z
      .string()
      .min(1)
      .max(35)
      .optional()
      .meta({
        description:
          'a BCP 47 language tag the account’s money is shown in (canonicalized: en-au → en-AU); en-US by default',
        examples: ['en-AU'],
      }),
  })
  .meta({
    id: 'AccountRequest',
    examples: [
      {
        id: 'acme-corp',
        name: 'Acme Corp',
        currency: 'USD',
        timezone: 'Europe/Berlin',
        billingAnchorDay: 1,
        locale: 'de-DE',
      },
    ],
  });

export const SubscriptionRequest = z
  .object({
    id: ResourceKey,
    accountId: ResourceKey,
    planId: z.string().min(1),
    startsAt: Instant,
    endsAt: Instant.nullable().optional(),
  })
  .meta({
    id: 'SubscriptionRequest',
    examples: [
      { id: 'acme-forge', accountId: 'acme-corp', planId: 'forge-standard', startsAt: '2026-11-01T00:00:00Z' },
    ],
  });

export const Subscription = z
  .object({
    id: ResourceKey,
    accountId: ResourceKey,
    planId: z.string().meta({ description: 'the latest plan' }),
    startsAt: Instant,
    endsAt: Instant.nullable(),
    plans: z.array(z.object({ planId: z.string(), from: Instant })),
  })
  .meta({ id: 'Subscription' });

const accountFields = {
  id: ResourceKey,
  name: z.string(),
  currency: Currency,
  timezone: z.string(),
  locale: z.string().meta({ description: 'canonical BCP 47; en-US for accounts opened before locales existed' }),
  billingAnchorDay: z.int(),
  openedAt: Instant,
};

export const Account = z.object({ ...accountFields, subscriptions: z.array(Subscription) }).meta({ id: 'Account' });

export const AccountSummary = z.object(accountFields).meta({ id: 'AccountSummary' });

export const accountSearchQuery = z.object({
  search: queryText()
    .min(1)
    .max(200)
    .optional()
    .meta({
      description: 'a case-insensitive part of the id or the name (`%` and `_` match themselves)',
      examples: ['acme'],
    }),
  limit: queryInteger(1, 200).optional().meta({ description: 'page size; 50 by default' }),
  after: queryText().max(128).optional().meta({ description: 'the `next` of the previous page' }),
});

export const AccountPage = z
  .object({
    accounts: z.array(AccountSummary).meta({ description: 'ordered by id' }),
    next: z.string().nullable().meta({ description: 'give as `after` for the next page; null on the last' }),
  })
  .meta({ id: 'AccountPage' });

export const Cancellation = z
  .object({ at: Instant, reason })
  .meta({ examples: [{ at: '2026-11-20T00:00:00Z', reason: 'customer left' }] });

export const PlanChange = z
  .object({ planId: z.string().min(1), effectiveFrom: Instant })
  .meta({ examples: [{ planId: 'forge-premium', effectiveFrom: '2026-12-01T00:00:00Z' }] });

export const Reschedule = z
  .object({ startsAt: Instant, reason })
  .meta({ examples: [{ startsAt: '2026-10-15T00:00:00Z', reason: 'cover usage sent before signing' }] });

export const Assignment = z
  .object({
    accountId: ResourceKey,
    effectiveFrom: Instant.optional().meta({ description: 'default: since always for a first assignment' }),
    attributes: attributes.optional(),
  })
  .meta({
    examples: [{ accountId: 'acme-corp', effectiveFrom: '2026-11-01T00:00:00Z', attributes: { site: 'eu-1' } }],
  });

export const SubjectCorrection = z
  .object({
    accountId: ResourceKey,
    effectiveFrom: Instant,
    effectiveTo: Instant.nullable().optional(),
    attributes: attributes.optional(),
    reason,
  })
  .meta({
    examples: [
      { accountId: 'acme-corp', effectiveFrom: '2026-11-03T00:00:00Z', reason: 'it was Acme’s since the 3rd' },
    ],
  });

export const Subject = z
  .object({
    key: ResourceKey,
    accountId: ResourceKey.optional(),
    attributes: z.record(z.string(), z.string()),
    timeline: z.array(
      z.object({ accountId: ResourceKey, from: Instant.nullable(), attributes: z.record(z.string(), z.string()) }),
    ),
    history: z.array(
      z
        .looseObject({ type: z.string() })
        .meta({ description: 'SubjectAssigned / SubjectAssignmentCorrected, as recorded' }),
    ),
  })
  .meta({ id: 'Subject' });

export const parkedQuery = z.object({
  limit: queryInteger(1, 1_000).optional().meta({ description: 'page size; 100 by default' }),
  after: queryText().uuid().optional().meta({ description: 'the `next` of the previous page' }),
});

export const ParkedUsagePage = z.object({
  items: z.array(
    z.object({
      usageId: z.uuid(),
      source: z.string(),
      eventId: z.string(),
      eventType: z.string(),
      subject: z.string(),
      time: Instant,
      reason: z.enum(['unknown_subject', 'no_owner_at_time', 'no_subscription']).nullable(),
      recordedAt: Instant,
    }),
  ),
  next: z.uuid().nullable().meta({ description: 'give as `after` for the next page; null on the last' }),
});
