/**
 * tally — operator CLI over the REST admin endpoints.
 *   npm run cli -- projections list [--url http://127.0.0.1:3000]
 *   npm run cli -- projections rebuild <name> [--url …]
 *   npm run cli -- billing run [--url …]            drafts, re-rates and finalizes invoices now
 *   npm run cli -- reconcile <YYYY-MM> [--url …]     waits for the report; exit 1 when it lists drifts
 *   npm run cli -- dead-letters list [<consumer>]    messages a consumer found could never succeed
 *   npm run cli -- dead-letters replay <id>|--all [<consumer>]   publish them again (idempotent)
 *   npm run cli -- consumers                         each consumer's state (running, stalled) and last error
 *   npm run cli -- tenants list | tenants create <id> [<name>]                  (the operator)
 *   npm run cli -- credentials list | credentials issue <admin|billing-viewer> <name> | credentials revoke <id>
 * The URL defaults to TALLY_URL or http://127.0.0.1:3000 (embedded mode serves every app there). The
 * credential is TALLY_TOKEN (a tenant's admin or billing-viewer credential) or else TALLY_ADMIN_TOKEN (the
 * operator's); `--tenant <id>` makes the operator act for that tenant.
 */
import { messageOf } from '@tally/shared/util-core';

const usage =
  'usage: tally projections list | projections rebuild <name> | billing run | reconcile <YYYY-MM> | dead-letters list [<consumer>] | dead-letters replay <id>|--all [<consumer>] | consumers | tenants list | tenants create <id> [<name>] | credentials list | credentials issue <role> <name> | credentials revoke <id>   [--url http://host:port] [--tenant <id>]';

type Call = (
  path: string,
  init?: { method?: string; body?: unknown },
) => Promise<{ ok: boolean; status: number; body: string }>;

const commands: Record<string, (call: Call, args: string[]) => Promise<number> | undefined> = {
  'projections list': (call) => print(call('/v1/admin/projections')),
  'projections rebuild': (call, [name]) =>
    name
      ? print(call(`/v1/admin/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST', body: {} }))
      : undefined,
  'billing run': (call) => print(call('/v1/admin/billing-runs', { method: 'POST' })),
  reconcile: (call, [period]) => (period ? reconcile(call, period) : undefined),
  'dead-letters list': (call, [consumer]) =>
    print(call(`/v1/admin/dead-letters${consumer ? `?consumer=${encodeURIComponent(consumer)}` : ''}`)),
  'dead-letters replay': (call, [id, consumer]) =>
    id === '--all'
      ? print(call('/v1/admin/dead-letters/replay', { method: 'POST', body: consumer ? { consumer } : {} }))
      : id
        ? print(call(`/v1/admin/dead-letters/${encodeURIComponent(id)}/replay`, { method: 'POST' }))
        : undefined,
  consumers: (call) => print(call('/v1/admin/consumers')),
  'tenants list': (call) => print(call('/v1/admin/tenants')),
  'tenants create': (call, [id, name]) =>
    id ? print(call('/v1/admin/tenants', { method: 'POST', body: { id, name } })) : undefined,
  'credentials list': (call) => print(call('/v1/admin/credentials')),
  'credentials issue': (call, [role, name]) =>
    role && name ? print(call('/v1/admin/credentials', { method: 'POST', body: { role, name } })) : undefined,
  'credentials revoke': (call, [id]) =>
    id ? print(call(`/v1/admin/credentials/${encodeURIComponent(id)}`, { method: 'DELETE' })) : undefined,
};

/** The value of `--name value`, and the arguments without the pair. */
const takeFlag = (argv: string[], name: string): [string | undefined, string[]] => {
  const at = argv.indexOf(name);
  return at < 0 ? [undefined, argv] : [argv[at + 1], argv.filter((_, i) => i !== at && i !== at + 1)];
};

const print = async (answer: ReturnType<Call>): Promise<number> => {
  const { ok, body } = await answer;
  (ok ? console.log : console.error)(body);
  return ok ? 0 : 1;
};

/** Starts a reconciliation and polls it: 0 when it completed without drift, 1 otherwise. */
const reconcile = async (call: Call, period: string): Promise<number> => {
  const started = await call('/v1/reconciliations', { method: 'POST', body: { period } });
  if (!started.ok) return print(Promise.resolve(started));
  const { id } = JSON.parse(started.body) as { id: string };
  for (;;) {
    const report = await call(`/v1/reconciliations/${id}`);
    const parsed = JSON.parse(report.body) as { status?: string; drifts?: unknown[] };
    if (!report.ok || parsed.status !== 'running') {
      console.log(JSON.stringify(parsed, null, 2));
      return report.ok && parsed.status === 'completed' && parsed.drifts?.length === 0 ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

const main = async (argv: string[]): Promise<number> => {
  const [url, rest] = takeFlag(argv, '--url');
  const [tenant, args] = takeFlag(rest, '--tenant');
  const base = url ?? process.env.TALLY_URL ?? 'http://127.0.0.1:3000';
  const authorization = `Bearer ${process.env.TALLY_TOKEN || process.env.TALLY_ADMIN_TOKEN || ''}`;
  const headers: Record<string, string> = { authorization, ...(tenant ? { 'tally-tenant': tenant } : {}) };
  const call: Call = async (path, init = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { ok: response.ok, status: response.status, body: await response.text() };
  };
  const two = `${args[0]} ${args[1]}`;
  const run = commands[two] ? commands[two](call, args.slice(2)) : commands[args[0]]?.(call, args.slice(1));
  if (!run) {
    console.error(usage);
    return 2;
  }
  return run;
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`tally: ${messageOf(error)}`);
    process.exit(1);
  },
);
