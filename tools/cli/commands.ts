import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { TallyHttpClient } from '@tally/client';
import { messageOf } from '@tally/shared/util-core';

/** What a command got from the API: its status, whether it succeeded, and the body (data or problem). */
export interface Answer {
  ok: boolean;
  status: number;
  body: unknown;
}

/** The typed client's answer as the CLI prints it. */
const answer = (result: { data?: unknown; error?: unknown; response: Response }): Answer => ({
  ok: result.response.ok,
  status: result.response.status,
  body: result.response.ok ? result.data : result.error,
});

export interface Command {
  /** `projections rebuild <name>`: the words, then the arguments as shown in help. */
  usage: string;
  summary: string;
  /** Options the command reads (besides the global ones), as parseArgs takes them. */
  options?: Record<string, { type: 'string' | 'boolean'; description: string }>;
  /** Runs it: the answer to print, or the exit code when the command printed what it had to say. */
  run: (
    api: TallyHttpClient,
    args: string[],
    options: Record<string, string | boolean | undefined>,
  ) => Promise<Answer | number>;
}

const text = (value: string | boolean | undefined) => (typeof value === 'string' ? value : undefined);

/**
 * The OpenMeter route reads `to` inclusively (as OpenMeter's specification says); the CLI's `--to` is exclusive, so
 * that one month's export ends where the next begins. Event times are kept to the millisecond: everything before
 * `to` is everything up to and including the millisecond before it. Text Tally cannot read goes as it is (refused).
 */
const exclusiveEnd = (to: string | undefined): string | undefined => {
  const time = to === undefined ? Number.NaN : Date.parse(to);
  return Number.isFinite(time) ? new Date(time - 1).toISOString() : to;
};

/**
 * Streams an answer's body into a file beside the target and renames it into place once the body ended as
 * it should: an export that breaks off (the server aborts it) leaves no file that looks complete.
 */
const saveWhole = async (body: ReadableStream<Uint8Array>, output: string): Promise<boolean> => {
  const partial = `${output}.partial`;
  try {
    await pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), createWriteStream(partial));
    await rename(partial, output);
    return true;
  } catch (error) {
    await rm(partial, { force: true });
    console.error(`tally: the export broke off (${messageOf(error)}); nothing was written to ${output}`);
    return false;
  }
};

/** Starts a reconciliation and polls it: 0 when it completed without drift, 1 otherwise. */
const reconcile = async (api: TallyHttpClient, period: string): Promise<Answer> => {
  const started = await api.POST('/v1/reconciliations', { body: { period } });
  if (!started.data) return answer(started);
  for (;;) {
    const report = await api.GET('/v1/reconciliations/{id}', { params: { path: { id: started.data.id } } });
    if (!report.data || report.data.status !== 'running') {
      const done = answer(report);
      return { ...done, ok: done.ok && report.data?.status === 'completed' && report.data.drifts?.length === 0 };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** Every command, by its words. Each says what it does in `--help`. */
export const commands: Record<string, Command> = {
  'projections list': {
    usage: 'projections list',
    summary: 'each projection: status, position, behind, accepted→visible, leadership epoch',
    run: async (api) => answer(await api.GET('/v1/admin/projections')),
  },
  'projections rebuild': {
    usage: 'projections rebuild <name>',
    summary: 'replays the ledger into copies of the projection’s tables and swaps them in',
    run: async (api, [name]) =>
      answer(await api.POST('/v1/admin/projections/{name}/rebuild', { params: { path: { name } } })),
  },
  'billing run': {
    usage: 'billing run',
    summary: 'drafts, re-rates and finalizes the tenant’s invoices now',
    run: async (api) => answer(await api.POST('/v1/admin/billing-runs')),
  },
  reconcile: {
    usage: 'reconcile <YYYY-MM>',
    summary: 'compares ledger, rollups and invoices for a period; exit 1 while it finds drift',
    run: (api, [period]) => reconcile(api, period),
  },
  'dead-letters list': {
    usage: 'dead-letters list [<consumer>]',
    summary: 'messages a consumer found could never succeed, with why',
    run: async (api, [consumer]) =>
      answer(await api.GET('/v1/admin/dead-letters', { params: { query: { consumer } } })),
  },
  'dead-letters replay': {
    usage: 'dead-letters replay <id>|--all [<consumer>]',
    summary: 'publishes dead letters again on their subjects (idempotent)',
    options: { all: { type: 'boolean', description: 'every dead letter (of <consumer>, if given)' } },
    run: async (api, [id], options) =>
      answer(
        options.all
          ? await api.POST('/v1/admin/dead-letters/replay', { body: id ? { consumer: id } : {} })
          : await api.POST('/v1/admin/dead-letters/{id}/replay', { params: { path: { id } } }),
      ),
  },
  consumers: {
    usage: 'consumers',
    summary: 'each consumer’s state (running, stalled) and last error',
    run: async (api) => answer(await api.GET('/v1/admin/consumers')),
  },
  'tenants list': {
    usage: 'tenants list',
    summary: 'the tenants (operator)',
    run: async (api) => answer(await api.GET('/v1/admin/tenants')),
  },
  'tenants create': {
    usage: 'tenants create <id> [<name>]',
    summary: 'creates a tenant (operator); then issue its first admin with --tenant <id>',
    run: async (api, [id, name]) => answer(await api.POST('/v1/admin/tenants', { body: { id, name: name ?? id } })),
  },
  'credentials list': {
    usage: 'credentials list',
    summary: 'the tenant’s admin and billing-viewer credentials (no secrets), with last use',
    run: async (api) => answer(await api.GET('/v1/admin/credentials')),
  },
  'credentials issue': {
    usage: 'credentials issue <admin|billing-viewer> <name> [--expires-at <RFC 3339>]',
    summary: 'issues a credential; its token is shown once',
    options: { 'expires-at': { type: 'string', description: 'when it stops working' } },
    run: async (api, [role, name], options) =>
      answer(
        await api.POST('/v1/admin/credentials', {
          // The role is Tally's to judge: a wrong one is its 400, with the roles it takes.
          body: { role: role as 'admin', name, expiresAt: text(options['expires-at']) },
        }),
      ),
  },
  'credentials revoke': {
    usage: 'credentials revoke <id>',
    summary: 'revokes a credential in every app at once',
    run: async (api, [id]) => answer(await api.DELETE('/v1/admin/credentials/{id}', { params: { path: { id } } })),
  },
  'api-keys create': {
    usage: 'api-keys create <name> [--sources <pattern,…>]',
    summary: 'creates a producer API key (default: any source); the key is shown once',
    options: { sources: { type: 'string', description: 'comma-separated source patterns, e.g. //fn-runtime/*' } },
    run: async (api, [name], options) =>
      answer(
        await api.POST('/v1/api-keys', {
          body: { name, allowedSources: text(options.sources)?.split(',') ?? ['*'] },
        }),
      ),
  },
  'api-keys list': {
    usage: 'api-keys list',
    summary: 'the tenant’s producer keys',
    run: async (api) => answer(await api.GET('/v1/api-keys')),
  },
  'api-keys revoke': {
    usage: 'api-keys revoke <id>',
    summary: 'revokes a producer key at once',
    run: async (api, [id]) => answer(await api.DELETE('/v1/api-keys/{id}', { params: { path: { id } } })),
  },
  'events status': {
    usage: 'events status <source> <id>',
    summary: 'what became of an event: accepted → recorded → attributed or parked → voided / amended',
    run: async (api, [source, id]) => answer(await api.GET('/v1/events/status', { params: { query: { source, id } } })),
  },
  'parked list': {
    usage: 'parked list [--limit <n>] [--after <usageId>]',
    summary: 'usage waiting for its subject, with the reason',
    options: {
      limit: { type: 'string', description: 'page size (1–1000, default 100)' },
      after: { type: 'string', description: 'the last usageId of the previous page' },
    },
    run: async (api, _args, options) =>
      answer(
        await api.GET('/v1/parked-usage', {
          params: { query: { limit: text(options.limit), after: text(options.after) } },
        }),
      ),
  },
  'usage export': {
    usage: 'usage export <meter> [--from <t>] [--to <t>] [--window-size MINUTE|HOUR|DAY] [--subject <s>]',
    summary: 'a meter’s values as CSV (exact decimals), for a spreadsheet or a finance system',
    options: {
      from: { type: 'string', description: 'RFC 3339, inclusive (default: the beginning of time)' },
      to: { type: 'string', description: 'RFC 3339, exclusive: consecutive exports never count an event twice' },
      'window-size': { type: 'string', description: 'MINUTE, HOUR or DAY' },
      subject: { type: 'string', description: 'one subject only' },
    },
    run: async (api, [meter], options) => {
      const query = {
        from: text(options.from),
        to: exclusiveEnd(text(options.to)),
        // Tally refuses a window size it does not know, with the ones it takes.
        windowSize: text(options['window-size']) as 'HOUR' | undefined,
        subject: text(options.subject),
      };
      const csv = await api.GET('/api/v1/meters/{slug}/query', {
        params: { path: { slug: meter }, query },
        headers: { accept: 'text/csv' },
        parseAs: 'text',
      });
      const printed = answer(csv);
      return printed.ok ? { ...printed, body: String(csv.data).trimEnd() } : printed;
    },
  },
  'usage export-events': {
    // Options first in the usage line: requiredArgs counts the <…> before the first `[` as positional arguments.
    usage: 'usage export-events [--account <id>] [--format csv|parquet] --from <t> --to <t> --output <file>',
    summary: 'every usage event in a range (exact decimals, corrections applied) as CSV or Parquet, into a file',
    options: {
      account: { type: 'string', description: 'one account only (default: every account of the tenant)' },
      format: { type: 'string', description: 'csv (the default) or parquet' },
      output: { type: 'string', description: 'the file to write (written whole or not at all)' },
    },
    run: async (api, _args, options) => {
      const [from, to, output] = [text(options.from), text(options.to), text(options.output)];
      if (!from || !to || !output) {
        console.error('tally: usage export-events needs --from, --to and --output');
        return 2;
      }
      const exported = await api.GET('/v1/exports/usage', {
        params: { query: { from, to, accountId: text(options.account), format: text(options.format) } },
        parseAs: 'stream',
      });
      if (!exported.response.ok || !exported.data) return answer(exported);
      return (await saveWhole(exported.data, output)) ? 0 : 1;
    },
  },
  'invoices list': {
    usage: 'invoices list <accountId>',
    summary: 'an account’s invoices, drafts and finalized',
    run: async (api, [accountId]) => {
      const listed = await api.GET('/v1/invoices', { params: { query: { accountId } } });
      if (!listed.data) return answer(listed);
      const rows = listed.data.invoices.map((i) => ({
        invoiceId: i.invoiceId,
        period: i.period.label,
        status: i.status,
        currency: i.currency,
        total: i.total,
        finalizedAt: i.finalizedAt,
      }));
      return { ...answer(listed), body: rows };
    },
  },
  'invoices show': {
    usage: 'invoices show <invoiceId>',
    summary: 'one invoice with its lines',
    run: async (api, [id]) => answer(await api.GET('/v1/invoices/{id}', { params: { path: { id } } })),
  },
};

/** How many positional arguments each command needs (from its usage: the `<…>` before any option). */
export const requiredArgs = (command: Command): number =>
  (
    command.usage
      .split('|')[0]
      .split(' [')[0]
      .match(/<[^>]+>/g) ?? []
  ).length;
