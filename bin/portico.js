#!/usr/bin/env node
// The `portico` binary: the compiled CLI in dist/ (built by `npm install` / `npm run build`).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
