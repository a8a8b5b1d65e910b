#!/usr/bin/env node
'use strict';
// The command is compiled TypeScript; `npm run build` writes dist/.
require('../dist/runtime/cli.js').main(process.argv.slice(2)).then(
    (code) => { if (typeof code === 'number') process.exitCode = code; },
    (err) => { console.error(err && err.stack ? err.stack : err); process.exitCode = 1; },
);
