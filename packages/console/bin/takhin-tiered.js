#!/usr/bin/env node
// The takhin-tiered CLI: the built code does the work; this file only hands it the command line.
import { main } from '../dist/cli/main.js';

// A reader that went away (`takhin-tiered plan | head`) must not kill an archive half-way:
// output is dropped, the work finishes.
process.stdout.on('error', () => {});

process.exitCode = await main(process.argv.slice(2));
