// Counts the tests in tap's TAP output: each t.test() inside a file is one test; a file that
// fails without a failing test of its own (a crash, a timeout) counts as one failure. Skipped
// or todo tests are counted apart, never as passed.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let childFailures = 0;
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (/^ {4}(not )?ok \d+.*# (SKIP|TODO)\b/i.test(line)) skipped++;
  else if (/^ {4}ok \d+/.test(line)) passed++;
  else if (/^ {4}not ok \d+/.test(line)) {
    failed++;
    childFailures++;
  } else if (/^(not )?ok \d+/.test(line)) {
    if (line.startsWith('not ok') && childFailures === 0) failed++;
    childFailures = 0;
  }
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
// No test run at all is a failure, not a pass.
if (passed + failed === 0) process.exit(1);
