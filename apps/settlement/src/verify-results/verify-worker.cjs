// The entry of a verification worker thread when settlement runs from source (piscina loads it with
// a plain `require`, outside any test runner's transform): it installs the repo's TypeScript hook,
// the one the services run under from source (`node -r ./tools/stack/register.cjs`), then loads the
// task. So the same file runs under the stack and under jest. Built (`npm run build`, the image),
// the pool loads the compiled verify-task.js instead (verification-pool.ts).
'use strict';
require('../../../../tools/stack/register.cjs');
module.exports = require('./verify-task.ts');
