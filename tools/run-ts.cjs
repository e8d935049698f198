#!/usr/bin/env node
// Runs a TypeScript entry point straight from source: SWC transpiles (with decorator metadata,
// which Nest's dependency injection needs) and tsconfig-paths resolves the @tally/* aliases.
// Usage: node tools/run-ts.cjs <entry.ts> [args...]
const path = require('node:path');
const root = path.resolve(__dirname, '..');
process.env.TS_NODE_PROJECT = path.join(root, 'tsconfig.base.json');
process.env.TS_NODE_SWC = 'true';
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
require('ts-node/register');
require('tsconfig-paths').register({
  baseUrl: root,
  paths: require(path.join(root, 'tsconfig.base.json')).compilerOptions.paths,
});
const entry = process.argv[2];
if (!entry) {
  console.error('usage: node tools/run-ts.cjs <entry.ts> [args...]');
  process.exit(2);
}
process.argv.splice(1, 2, path.resolve(entry));
require(path.resolve(entry));
