// The entry point of a compiled app: `node dist/apps/<app>/main.js`. The build keeps the sources'
// layout under dist/apps/<app> (apps/…, libs/…, with every @tally/* import rewritten to a relative path),
// so the app's own main is wherever the generated package.json says.
'use strict';
require(require('node:path').join(__dirname, require('./package.json').main));
