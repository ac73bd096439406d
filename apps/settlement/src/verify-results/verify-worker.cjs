// The entry of a verification worker thread (piscina loads it with a plain `require`, outside any
// test runner's transform): it installs the repo's TypeScript hook, the one the services run under
// (`node -r ./tools/stack/register.cjs`, also in the container image), then loads the task. So the
// same file runs under the stack, under jest and in Kubernetes.
'use strict';
require('../../../../tools/stack/register.cjs');
module.exports = require('./verify-task.ts');
