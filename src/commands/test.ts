/**
 * `test [-- pytest args]`: run the plugin's pytest suite with the bundled
 * Python SDK. pytest's output streams live (to stderr under --json); the exit
 * code follows pytest's outcome; the summary comes from its JUnit XML report.
 * The work is src/python/run-tests.ts.
 */
import type { Ctx } from '../io/context.js';
import type { PytestSummary } from '../python/junit.js';
import { runTests, type TestOptions, type TestResult } from '../python/run-tests.js';
import { inline } from '../io/terminal.js';

export type { CoverageSection, HookCoverage, TestOptions, TestResult } from '../python/run-tests.js';

export async function run(opts: TestOptions, ctx: Ctx): Promise<TestResult> {
  // In a workspace, its shared libraries go on PYTHONPATH (docs/workspace.md).
  const { workspaceEnv } = await import('../workspace/env.js');
  return runTests(opts, { ...ctx, env: await workspaceEnv(ctx.cwd, ctx.env) });
}

function counts(s: PytestSummary): string {
  const parts = [`${s.passed} passed`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.errors) parts.push(`${s.errors} error${s.errors === 1 ? '' : 's'}`);
  if (s.skipped - s.xfailed) parts.push(`${s.skipped - s.xfailed} skipped`);
  if (s.xfailed) parts.push(`${s.xfailed} xfailed`);
  return parts.join(', ');
}

export function render(result: TestResult, ctx: Ctx): void {
  const s = { ...result, collectionErrors: [] };
  const cov = result.coverage === undefined ? '' : ` (${result.coverage}% line coverage)`;
  if (result.exitCode === 0) ctx.out.success(`tests passed: ${counts(s)}${cov}`);
  else ctx.out.error(`tests failed: ${counts(s)}${cov}`);
  for (const line of result.hookCoverage?.lines ?? []) ctx.out.info(`  ${inline(line)}`);
}

export function exitCode(result: TestResult): number {
  return result.exitCode;
}
