#!/usr/bin/env node
// `cdk8s` in this repository's node_modules/.bin: the cdk8s-cli of tools/, with the arguments as given.
'use strict';
require('../../scripts/tools').runCdk8sCli('cdk8s', process.argv.slice(2));
