#!/usr/bin/env node
// The `tally` bin: the CLI from source (tools/cli/main.ts), through the same loader as `npm run cli`.
const path = require('node:path');
process.argv.splice(2, 0, path.join(__dirname, 'main.ts'));
require('../run-ts.cjs');
