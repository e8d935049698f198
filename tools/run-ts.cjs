#!/usr/bin/env node
// Runs a TypeScript entry point straight from source, for `npm start`, the CLI and the tools (production
// runs the compiled build instead: `nx run-many -t build`, then `node dist/apps/<app>/main.js`).
// @swc-node/register transpiles with SWC as tsconfig.base.json says — decorator metadata, which Nest's
// dependency injection needs, and the @tally/* path aliases rewritten to the sources.
// Usage: node tools/run-ts.cjs <entry.ts> [args...]
const path = require('node:path');
const root = path.resolve(__dirname, '..');
process.env.SWC_NODE_PROJECT = path.join(root, 'tsconfig.base.json');
require('@swc-node/register');
const entry = process.argv[2];
if (!entry) {
  console.error('usage: node tools/run-ts.cjs <entry.ts> [args...]');
  process.exit(2);
}
process.argv.splice(1, 2, path.resolve(entry));
require(path.resolve(entry));
