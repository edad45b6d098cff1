// CI gate on the test reports: no skipped, pending or todo test, no empty run, every project ran tests.
// Usage: node .ci/check-tests.mjs <vitest json report> <per-project counts json> <project>...
// Prints each problem to stderr and, last, `tests: N passed, M failed` to stdout; exits 1 on a problem.
/* global console -- plain .mjs: the lint config declares no Node globals */
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';

const [reportFile, countsFile, ...projects] = process.argv.slice(2);
if (!reportFile || !countsFile || projects.length === 0) {
  console.error('usage: check-tests.mjs <test-results.json> <project-counts.json> <project>...');
  process.exit(2);
}

const problems = [];
const readJson = (file, what) => {
  if (!existsSync(file)) {
    problems.push(`${what} ${file} was not written: the test runner did not finish`);
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`${what} ${file} is not JSON: ${error.message}`);
    return undefined;
  }
};

const report = readJson(reportFile, 'vitest json report');
const counts = readJson(countsFile, 'per-project counts');

let passed = 0;
let failed = 0;
if (report) {
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  if (report.numTotalTests === 0) problems.push('no test ran');
  if (report.numPendingTests > 0) problems.push(`${report.numPendingTests} test(s) skipped or pending`);
  if (report.numTodoTests > 0) problems.push(`${report.numTodoTests} test(s) marked todo`);
  if (report.numFailedTestSuites > 0) problems.push(`${report.numFailedTestSuites} suite(s) failed`);
  // Name the tests that did not pass, so the log says which without scrolling up.
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status !== 'passed') problems.push(`  ${t.status}: ${file.name} > ${t.fullName}`);
    }
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) {
      problems.push(`  failed to run: ${file.name}: ${(file.message ?? '').split('\n')[0]}`);
    }
  }
}

if (counts) {
  for (const project of projects) {
    const c = counts[project];
    if (!c) problems.push(`project ${project} did not run`);
    else if (c.passed + c.failed === 0) problems.push(`project ${project} ran no test`);
  }
  const byProject = Object.entries(counts)
    .map(([name, c]) => `${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped in ${c.files} files`)
    .join('; ');
  console.error(`per project: ${byProject || 'none'}`);
  const sum = Object.values(counts).reduce((n, c) => n + c.passed, 0);
  if (report && sum !== passed) problems.push(`per-project counts (${sum} passed) disagree with the json report (${passed})`);
}

for (const p of problems) console.error(p);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(problems.length > 0 ? 1 : 0);
