/**
 * tally — operator CLI over the REST admin endpoints.
 *   npm run cli -- projections list [--url http://127.0.0.1:3000]
 *   npm run cli -- projections rebuild <name> [--url …]
 * The URL defaults to TALLY_URL or http://127.0.0.1:3000 (embedded mode serves every app there);
 * the admin token is read from TALLY_ADMIN_TOKEN.
 */
const usage = 'usage: tally projections list | tally projections rebuild <name>   [--url http://host:port]';

const main = async (argv: string[]): Promise<number> => {
  const urlFlag = argv.indexOf('--url');
  const base = (urlFlag >= 0 ? argv[urlFlag + 1] : undefined) ?? process.env.TALLY_URL ?? 'http://127.0.0.1:3000';
  const args = urlFlag >= 0 ? argv.filter((_, i) => i !== urlFlag && i !== urlFlag + 1) : argv;
  const [noun, verb, name] = args;
  if (noun !== 'projections' || !['list', 'rebuild'].includes(verb) || (verb === 'rebuild' && !name)) {
    console.error(usage);
    return 2;
  }
  const authorization = `Bearer ${process.env.TALLY_ADMIN_TOKEN ?? ''}`;
  const response =
    verb === 'list'
      ? await fetch(`${base}/v1/admin/projections`, { headers: { authorization } })
      : await fetch(`${base}/v1/admin/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: '{}' });
  const body = await response.text();
  (response.ok ? console.log : console.error)(body);
  return response.ok ? 0 : 1;
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`tally: ${(error as Error).message}`);
    process.exit(1);
  },
);
