#!/usr/bin/env node
'use strict';
// The command is compiled TypeScript; `npm run build` writes dist/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'runtime', 'cli.js');
if (!existsSync(cli)) {
    console.error(`upstream-live: ${cli} is missing; run \`npm run build\` in ${join(__dirname, '..')} first (\`npm start\` builds and starts).`);
    process.exit(2);
}
require(cli).main(process.argv.slice(2)).then(
    (code) => { if (typeof code === 'number') process.exitCode = code; },
    (err) => { console.error(err && err.stack ? err.stack : err); process.exitCode = 1; },
);
