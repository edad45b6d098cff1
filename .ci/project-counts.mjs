// Vitest reporter for CI: writes test counts per project, which test-results.json does not record.
// .ci/run adds it beside the usual reporters and fails when a project (embedded, postgres-redis) ran no test.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

export default class ProjectCountsReporter {
  onTestRunEnd(testModules) {
    const out = process.env.HUB_CI_PROJECT_COUNTS;
    if (!out) throw new Error('HUB_CI_PROJECT_COUNTS must name the file to write the per-project counts to');
    const counts = {};
    for (const testModule of testModules) {
      const name = testModule.project.name || '(unnamed)';
      const c = (counts[name] ??= { files: 0, passed: 0, failed: 0, skipped: 0, pending: 0 });
      c.files += 1;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state in c) c[state] += 1;
        else c.pending += 1;
      }
    }
    writeFileSync(out, `${JSON.stringify(counts, null, 2)}\n`);
  }
}
