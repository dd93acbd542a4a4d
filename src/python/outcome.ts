/**
 * What a pytest run means for the CLI: pytest's exit code (and a timeout or
 * cancel) mapped onto the CLI's errors and exit codes, or the summary of a
 * run that finished (every test passed, or some failed).
 */
import path from 'node:path';
import { CancelledError, UsageError, WorkFailedError } from '../errors.js';
import type { CollectionError, PytestSummary } from './junit.js';
import type { RunPytestResult } from './pytest.js';
import { describeStop } from './reap.js';

/** pytest's exit codes (pytest.ExitCode). */
export const PytestExit = {
  ok: 0,
  testsFailed: 1,
  interrupted: 2,
  internalError: 3,
  usageError: 4,
  noTestsCollected: 5,
} as const;

/** One line for a collection error: the file (relative to the plugin root) and the exception. */
export function describeCollection(e: CollectionError, root: string): string {
  const file = e.file ? (path.isAbsolute(e.file) ? path.relative(root, e.file) : e.file) : undefined;
  if (e.kind && /SyntaxError|IndentationError|TabError/.test(e.kind) && file) {
    return `${e.kind} in ${file}:${e.line}: ${e.message ?? ''}`.trim();
  }
  // pytest names an uncollectable module by its dotted name: show the file.
  const node = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(e.node) ? `${e.node.replace(/\./g, '/')}.py` : e.node;
  return `${node}: ${[e.kind, e.message].filter(Boolean).join(': ')}`;
}

export interface OutcomeContext {
  /** The plugin root, for relative file names. */
  root: string;
  /** The interpreter, for install hints. */
  python: string;
  /** The --timeout given, in seconds. */
  timeout?: number;
}

function collectionFailed(s: PytestSummary, at: OutcomeContext, details: Record<string, unknown>): WorkFailedError {
  const first = describeCollection(s.collectionErrors[0], at.root);
  const more = s.collectionErrors.length > 1 ? ` (and ${s.collectionErrors.length - 1} more)` : '';
  const missing = s.collectionErrors.map((e) => /^No module named '([^'.]+)/.exec(e.message ?? '')?.[1]).find((m) => m !== undefined);
  return new WorkFailedError(`pytest could not collect the tests: ${first}${more}`, {
    code: 'COLLECTION_ERROR',
    hint: missing
      ? `install the plugin's dependencies for ${at.python} (e.g. ${at.python} -m pip install ${missing}), then run test again`
      : 'fix the error above (pytest printed the details), then run test again',
    details: { ...details, collectionErrors: s.collectionErrors.map((e) => describeCollection(e, at.root)) },
  });
}

/** pytest exits that end the run without results, each as one error. */
const STOPPED: Partial<Record<number, { message: string; code: string; hint: string }>> = {
  [PytestExit.interrupted]: { message: 'pytest was interrupted before the tests finished', code: 'INTERRUPTED', hint: "see pytest's output above" },
  [PytestExit.noTestsCollected]: {
    message: 'no tests were collected',
    code: 'NO_TESTS',
    hint: 'add tests in tests/test_*.py with functions named test_* (the init templates have examples), or check the arguments after --',
  },
  [PytestExit.internalError]: {
    message: 'pytest stopped with an internal error (exit 3); see its output above',
    code: 'PYTEST_INTERNAL',
    hint: 'often a broken conftest.py or plugin; run with -- -p no:cacheprovider -v for more detail',
  },
};

/** The error for a run that did not finish with results; undefined when it did (pytest exit 0 or 1). */
function exitError(r: RunPytestResult, at: OutcomeContext): Error | undefined {
  const stopped = r.stopped ? describeStop(r.stopped) : 'the test run was stopped';
  const stopDetails = r.stopped ? { stopped: r.stopped } : undefined;
  if (r.cancelled) return new CancelledError(`Cancelled; ${stopped}`, { details: stopDetails });
  if (r.timedOut) {
    return new WorkFailedError(`the tests did not finish within ${at.timeout} s; ${stopped}`, {
      code: 'TIMEOUT',
      hint: r.stopped?.survivors.length
        ? 'stop the processes listed (kill <pid>), then raise --timeout or find the test that hangs'
        : 'raise --timeout, or find the test that hangs (pass -- -x -v to see where it stops)',
      details: stopDetails,
    });
  }
  const s = r.summary;
  const details = s ? { summary: { ...s, collectionErrors: undefined } } : undefined;
  if (r.exitCode === PytestExit.ok || r.exitCode === PytestExit.testsFailed) return undefined;
  if (r.exitCode === PytestExit.interrupted && s && s.collectionErrors.length > 0) return collectionFailed(s, at, details!);
  if (r.exitCode === PytestExit.usageError) {
    return new UsageError('pytest rejected its arguments (see its message above)', {
      code: 'PYTEST_USAGE',
      hint: `check the arguments after --; ${at.python} -m pytest --help lists them`,
    });
  }
  const known = r.exitCode === undefined ? undefined : STOPPED[r.exitCode];
  if (known) return new WorkFailedError(known.message, { code: known.code, hint: known.hint, details });
  return new WorkFailedError(r.exitCode === undefined ? `pytest was killed by ${r.signal ?? 'a signal'}` : `pytest exited with code ${r.exitCode}`, {
    code: 'PYTEST_FAILED',
    hint: "see pytest's output above",
    details,
  });
}

/** The summary of a run that finished, or the error (thrown) that says why it did not. */
export function pytestOutcome(r: RunPytestResult, at: OutcomeContext): PytestSummary {
  const err = exitError(r, at);
  if (err) throw err;
  if (!r.summary) {
    throw new WorkFailedError(r.reportError ? `pytest's JUnit report could not be read: ${r.reportError}` : 'pytest wrote no JUnit report', {
      code: 'NO_REPORT',
      hint: 'a plugin or option of pytest may have changed the report (e.g. junit_family in pytest.ini); run with --verbose to see the command',
    });
  }
  return r.summary;
}
