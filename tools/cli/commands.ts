/** What a command may ask of the API: a JSON (or text) answer, its status, whether it succeeded. */
export interface Answer {
  ok: boolean;
  status: number;
  body: unknown;
}
export type Call = (
  path: string,
  init?: { method?: string; body?: unknown; accept?: string },
) => Promise<Answer & { text: string }>;

export interface Command {
  /** `projections rebuild <name>`: the words, then the arguments as shown in help. */
  usage: string;
  summary: string;
  /** Options the command reads (besides the global ones), as parseArgs takes them. */
  options?: Record<string, { type: 'string' | 'boolean'; description: string }>;
  /** Runs it: the answer to print, or the exit code when the command printed what it had to say. */
  run: (call: Call, args: string[], options: Record<string, string | boolean | undefined>) => Promise<Answer | number>;
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');
const query = (params: Record<string, string | boolean | undefined>) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (typeof value === 'string') search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** Starts a reconciliation and polls it: 0 when it completed without drift, 1 otherwise. */
const reconcile = async (call: Call, period: string): Promise<Answer> => {
  const started = await call('/v1/reconciliations', { method: 'POST', body: { period } });
  if (!started.ok) return started;
  const { id } = started.body as { id: string };
  for (;;) {
    const report = await call(`/v1/reconciliations/${path(id)}`);
    const status = (report.body as { status?: string }).status;
    if (!report.ok || status !== 'running') {
      const drifts = (report.body as { drifts?: unknown[] }).drifts;
      return { ...report, ok: report.ok && status === 'completed' && drifts?.length === 0 };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** Every command, by its words. Each says what it does in `--help`. */
export const commands: Record<string, Command> = {
  'projections list': {
    usage: 'projections list',
    summary: 'each projection: status, position, behind, accepted→visible, leadership epoch',
    run: (call) => call('/v1/admin/projections'),
  },
  'projections rebuild': {
    usage: 'projections rebuild <name>',
    summary: 'replays the ledger into copies of the projection’s tables and swaps them in',
    run: (call, [name]) => call(`/v1/admin/projections/${path(name)}/rebuild`, { method: 'POST', body: {} }),
  },
  'billing run': {
    usage: 'billing run',
    summary: 'drafts, re-rates and finalizes the tenant’s invoices now',
    run: (call) => call('/v1/admin/billing-runs', { method: 'POST', body: {} }),
  },
  reconcile: {
    usage: 'reconcile <YYYY-MM>',
    summary: 'compares ledger, rollups and invoices for a period; exit 1 while it finds drift',
    run: (call, [period]) => reconcile(call, period),
  },
  'dead-letters list': {
    usage: 'dead-letters list [<consumer>]',
    summary: 'messages a consumer found could never succeed, with why',
    run: (call, [consumer]) => call(`/v1/admin/dead-letters${query({ consumer })}`),
  },
  'dead-letters replay': {
    usage: 'dead-letters replay <id>|--all [<consumer>]',
    summary: 'publishes dead letters again on their subjects (idempotent)',
    options: { all: { type: 'boolean', description: 'every dead letter (of <consumer>, if given)' } },
    run: (call, [id], options) =>
      options.all
        ? call('/v1/admin/dead-letters/replay', { method: 'POST', body: id ? { consumer: id } : {} })
        : call(`/v1/admin/dead-letters/${path(id)}/replay`, { method: 'POST', body: {} }),
  },
  consumers: {
    usage: 'consumers',
    summary: 'each consumer’s state (running, stalled) and last error',
    run: (call) => call('/v1/admin/consumers'),
  },
  'tenants list': {
    usage: 'tenants list',
    summary: 'the tenants (operator)',
    run: (call) => call('/v1/admin/tenants'),
  },
  'tenants create': {
    usage: 'tenants create <id> [<name>]',
    summary: 'creates a tenant (operator); then issue its first admin with --tenant <id>',
    run: (call, [id, name]) => call('/v1/admin/tenants', { method: 'POST', body: { id, name } }),
  },
  'credentials list': {
    usage: 'credentials list',
    summary: 'the tenant’s admin and billing-viewer credentials (no secrets), with last use',
    run: (call) => call('/v1/admin/credentials'),
  },
  'credentials issue': {
    usage: 'credentials issue <admin|billing-viewer> <name> [--expires-at <RFC 3339>]',
    summary: 'issues a credential; its token is shown once',
    options: { 'expires-at': { type: 'string', description: 'when it stops working' } },
    run: (call, [role, name], options) =>
      call('/v1/admin/credentials', { method: 'POST', body: { role, name, expiresAt: options['expires-at'] } }),
  },
  'credentials revoke': {
    usage: 'credentials revoke <id>',
    summary: 'revokes a credential in every app at once',
    run: (call, [id]) => call(`/v1/admin/credentials/${path(id)}`, { method: 'DELETE' }),
  },
  'api-keys create': {
    usage: 'api-keys create <name> [--sources <pattern,…>]',
    summary: 'creates a producer API key (default: any source); the key is shown once',
    options: { sources: { type: 'string', description: 'comma-separated source patterns, e.g. //fn-runtime/*' } },
    run: (call, [name], options) =>
      call('/v1/api-keys', {
        method: 'POST',
        body: { name, allowedSources: typeof options.sources === 'string' ? options.sources.split(',') : ['*'] },
      }),
  },
  'api-keys list': {
    usage: 'api-keys list',
    summary: 'the tenant’s producer keys',
    run: (call) => call('/v1/api-keys'),
  },
  'api-keys revoke': {
    usage: 'api-keys revoke <id>',
    summary: 'revokes a producer key at once',
    run: (call, [id]) => call(`/v1/api-keys/${path(id)}`, { method: 'DELETE' }),
  },
  'events status': {
    usage: 'events status <source> <id>',
    summary: 'what became of an event: accepted → recorded → attributed or parked → voided / amended',
    run: (call, [source, id]) => call(`/v1/events/status${query({ source, id })}`),
  },
  'parked list': {
    usage: 'parked list [--limit <n>] [--after <usageId>]',
    summary: 'usage waiting for its subject, with the reason',
    options: {
      limit: { type: 'string', description: 'page size (1–1000, default 100)' },
      after: { type: 'string', description: 'the last usageId of the previous page' },
    },
    run: (call, _args, options) => call(`/v1/parked-usage${query({ limit: options.limit, after: options.after })}`),
  },
  'usage export': {
    usage: 'usage export <meter> [--from <t>] [--to <t>] [--window-size MINUTE|HOUR|DAY] [--subject <s>]',
    summary: 'a meter’s values as CSV (exact decimals), for a spreadsheet or a finance system',
    options: {
      from: { type: 'string', description: 'RFC 3339, inclusive' },
      to: { type: 'string', description: 'RFC 3339, exclusive' },
      'window-size': { type: 'string', description: 'MINUTE, HOUR or DAY' },
      subject: { type: 'string', description: 'one subject only' },
    },
    run: async (call, [meter], options) => {
      const params = {
        from: options.from,
        to: options.to,
        windowSize: options['window-size'],
        subject: options.subject,
      };
      const answer = await call(`/api/v1/meters/${path(meter)}/query${query(params)}`, { accept: 'text/csv' });
      return answer.ok ? { ...answer, body: answer.text.trimEnd() } : answer;
    },
  },
  'invoices list': {
    usage: 'invoices list <accountId>',
    summary: 'an account’s invoices, drafts and finalized',
    run: async (call, [accountId]) => {
      const answer = await call(`/v1/invoices${query({ accountId })}`);
      const invoices = (answer.body as { invoices?: Record<string, unknown>[] }).invoices;
      if (!answer.ok || !invoices) return answer;
      const rows = invoices.map((i) => ({
        invoiceId: i.invoiceId,
        period: (i.period as { label?: string } | undefined)?.label,
        status: i.status,
        currency: i.currency,
        total: i.total,
        finalizedAt: i.finalizedAt,
      }));
      return { ...answer, body: rows };
    },
  },
  'invoices show': {
    usage: 'invoices show <invoiceId>',
    summary: 'one invoice with its lines',
    run: (call, [id]) => call(`/v1/invoices/${path(id)}`),
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
