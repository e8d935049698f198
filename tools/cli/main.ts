/**
 * tally — the operator's CLI over Tally's REST API (`npm run cli -- <command>`, or the `tally` bin).
 * `tally --help` lists the commands; `tally <command> --help` explains one.
 */
import { parseArgs } from 'node:util';
import { messageOf } from '@tally/shared/util-core';
import { createTallyClient } from '@tally/client';
import { Answer, Command, commands, requiredArgs } from './commands';
import { findCredential } from './credential';
import { render } from './output';

const globalOptions = {
  url: { type: 'string', description: 'Tally’s base URL (default TALLY_URL, or http://127.0.0.1:3000)' },
  tenant: { type: 'string', description: 'act for this tenant (the operator credential only)' },
  json: { type: 'boolean', description: 'print the API’s JSON instead of a table' },
  'data-dir': {
    type: 'string',
    description: 'where `npm start` keeps its admin token (default TALLY_DATA_DIR or ./data)',
  },
  help: { type: 'boolean', short: 'h', description: 'this help' },
} as const;

const text = (value: string | boolean | undefined) => (typeof value === 'string' ? value : undefined);

const optionLines = (options: Record<string, { description: string }>) =>
  Object.entries(options).map(([name, o]) => `  --${name.padEnd(12)} ${o.description}`);

const overview = () =>
  [
    'usage: tally <command> [arguments] [options]',
    '',
    'commands:',
    ...Object.values(commands).map((c) => `  ${c.usage.padEnd(48)} ${c.summary}`),
    '',
    'options:',
    ...optionLines(globalOptions),
    '',
    'The credential is TALLY_TOKEN (a tenant’s admin or billing-viewer credential), else TALLY_ADMIN_TOKEN (the',
    'operator’s), else the token `npm start` keeps in its data directory.',
  ].join('\n');

const helpOf = (command: Command) =>
  [
    `usage: tally ${command.usage}`,
    '',
    command.summary,
    '',
    'options:',
    ...optionLines({ ...command.options, ...globalOptions }),
  ].join('\n');

/** The command named by the first one or two words, and the arguments after them. */
const commandOf = (words: string[]): [Command, string[]] | undefined => {
  const two = commands[`${words[0]} ${words[1]}`];
  if (two) return [two, words.slice(2)];
  const one = commands[words[0]];
  return one ? [one, words.slice(1)] : undefined;
};

const main = async (argv: string[]): Promise<number> => {
  const commandOptions = Object.assign({}, ...Object.values(commands).map((c) => c.options ?? {}));
  const parsed = parseArgs({
    args: argv,
    options: { ...globalOptions, ...commandOptions },
    allowPositionals: true,
    strict: true,
  });
  const { positionals } = parsed;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const found = commandOf(positionals);
  if (!found) {
    (values.help ? console.log : console.error)(overview());
    return values.help ? 0 : 2;
  }
  const [command, args] = found;
  if (values.help) {
    console.log(helpOf(command));
    return 0;
  }
  const needed = values.all ? 0 : requiredArgs(command);
  if (args.length < needed) {
    console.error(`tally: missing arguments\n\n${helpOf(command)}`);
    return 2;
  }
  const credential = findCredential(
    process.env,
    typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined,
  );
  if (!credential) {
    console.error(
      'tally: no credential: export TALLY_TOKEN (a tenant credential) or TALLY_ADMIN_TOKEN (the operator’s), or run it beside the data directory of `npm start` (--data-dir)',
    );
    return 2;
  }
  const base = (
    (typeof values.url === 'string' ? values.url : undefined) ??
    process.env.TALLY_URL ??
    'http://127.0.0.1:3000'
  ).replace(/\/$/, '');
  const api = createTallyClient({ baseUrl: base, token: credential.token, tenant: text(values.tenant) });
  const outcome = await command.run(api, args, values);
  if (typeof outcome === 'number') return outcome;
  const answer: Answer = outcome;
  const printed = render(answer.body, values.json === true);
  // An answer the API gave is printed on stdout even when the command fails by it (a reconciliation with
  // drifts exits 1 with its report); a refusal (4xx/5xx) goes to stderr with its status.
  if (answer.status >= 200 && answer.status < 300) console.log(printed);
  else console.error(values.json ? printed : `tally: HTTP ${answer.status}\n${printed}`);
  return answer.ok ? 0 : 1;
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`tally: ${messageOf(error)}`);
    process.exit(2);
  },
);
