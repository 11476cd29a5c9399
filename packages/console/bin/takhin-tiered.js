#!/usr/bin/env node
// The takhin-tiered CLI: the built code does the work; this file only hands it the command line.

// node:sqlite (the metadata store) came in Node 22.5; on an older Node the import below would
// fail with a bare ERR_UNKNOWN_BUILTIN_MODULE, so say what is needed instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
  process.stderr.write(
    `takhin-tiered needs Node 22.5 or later (it uses node:sqlite); this is Node ${process.versions.node}.\n` +
      `scripts/bootstrap installs Node 24 into .tools/, and "npm run takhin-tiered -- <command>" runs the CLI with it.\n`,
  );
  process.exit(3);
}

const { main } = await import('../dist/cli/main.js');

// A reader that went away (`takhin-tiered plan | head`) must not kill an archive half-way:
// output is dropped, the work finishes.
process.stdout.on('error', () => {});

process.exitCode = await main(process.argv.slice(2));
