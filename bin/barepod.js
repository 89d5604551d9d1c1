#!/usr/bin/env node
// The barepod CLI entry: runs the compiled TypeScript (npm run build).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
