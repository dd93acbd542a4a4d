/**
 * After the run, one block naming every test skipped for a missing tool
 * (test/helpers/requires.ts) and what to install, so a skip is never silent.
 * Registered next to the default reporter in vitest.config.ts.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class RequiresReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const byNote = new Map<string, string[]>();
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped' || !result.note?.startsWith('needs ')) continue;
        byNote.set(result.note, [...(byNote.get(result.note) ?? []), `${mod.moduleId.replace(/^.*\/test\//, 'test/')} > ${test.name}`]);
      }
    }
    if (byNote.size === 0) return;
    const count = [...byNote.values()].reduce((n, l) => n + l.length, 0);
    const lines = [`\n${count} test(s) skipped for a tool this machine lacks (with CI set they fail; bash .ci/run installs them all):`];
    for (const [note, tests] of byNote) {
      lines.push(`  ${note}: ${tests.length} test(s)`);
      for (const t of tests) lines.push(`    - ${t}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
