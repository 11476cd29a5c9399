// Reads vitest's JSON report and prints the run's one plain closing line, "N passed, N failed".
// A skipped or todo test counts as failed (a missing server must never pass quietly), and so
// does a test file that failed before running any test. Exits 1 when anything failed.
import { readFileSync } from 'node:fs';

let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (error) {
  // vitest died before writing its report (a crash, a config error): nothing passed.
  console.error(`no vitest report at ${process.argv[2]}: ${error.message}`);
  report = {};
}
let passed = 0;
let failed = 0;
for (const file of report.testResults ?? []) {
  const tests = file.assertionResults ?? [];
  if (tests.length === 0 && file.status === 'failed') failed += 1;
  for (const test of tests) {
    if (test.status === 'passed') passed += 1;
    else failed += 1;
  }
}
if (passed + failed === 0) failed = 1; // a run that ran nothing has not passed
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
