/**
 * `test [-- pytest args]`: run the plugin's pytest suite with the bundled
 * Python SDK. pytest's output streams live (to stderr under --json); the exit
 * code follows pytest's outcome; the summary comes from its JUnit XML report.
 */
import path from 'node:path';
import type { Ctx } from '../context.js';
import { findPython, hasModule, type PythonInfo } from '../core/python.js';
import { PytestExit, runPytest, type CollectionError, type PytestSummary } from '../core/pytest.js';
import { CancelledError, CliError, ExitCode, UsageError, WorkFailedError } from '../errors.js';
import { location } from '../core/manifest/format.js';

export interface TestOptions {
  pytestArgs?: string[];
  python?: string;
  coverage?: boolean;
  /** Seconds. */
  timeout?: number;
}

export interface TestResult {
  passed: number;
  failed: number;
  skipped: number;
  xfailed: number;
  errors: number;
  total: number;
  /** Seconds, as pytest measured them. */
  duration: number;
  /** 0 when every test passed, 1 when some failed. */
  exitCode: number;
  /** pytest's own exit code. */
  pytestExitCode: number;
  python: { path: string; version: string; pytest?: string };
  /** Total line coverage in percent, with --coverage. */
  coverage?: number;
}

const MIN_PYTHON = [3, 8];
const DEBIAN_PYTEST = 'sudo apt-get install -y python3-pytest';
const DEBIAN_COV = 'sudo apt-get install -y python3-pytest-cov';

function tooOld(version: string): boolean {
  const [maj = 0, min = 0] = version.split('.').map(Number);
  return maj < MIN_PYTHON[0]! || (maj === MIN_PYTHON[0] && min < MIN_PYTHON[1]!);
}

async function choosePython(opts: TestOptions, ctx: Ctx): Promise<PythonInfo> {
  const found = await findPython({ env: ctx.env, explicit: opts.python, wantPytest: true, cwd: ctx.cwd });
  if (!found.ok) {
    if (found.reason === 'not-runnable' && opts.python !== undefined) {
      throw new UsageError(`--python ${opts.python} is not a runnable Python interpreter`, {
        code: 'PYTHON_NOT_FOUND',
        hint: 'pass the path of a python3 executable, e.g. --python /usr/bin/python3',
      });
    }
    if (found.reason === 'not-runnable') {
      throw new WorkFailedError(`PLEXICHAT_PYTHON=${found.path} is not a runnable Python interpreter`, {
        code: 'PYTHON_NOT_FOUND',
        hint: 'point PLEXICHAT_PYTHON at a python3 executable, or unset it to search PATH',
      });
    }
    throw new WorkFailedError('no Python interpreter found (looked for python3 and python on PATH)', {
      code: 'PYTHON_NOT_FOUND',
      hint: `install Python 3.8+ and pytest: sudo apt-get install -y python3 python3-pytest (or set PLEXICHAT_PYTHON / --python)`,
    });
  }
  const py = found.python;
  if (tooOld(py.version)) {
    throw new WorkFailedError(`${py.path} is Python ${py.version}; the plugin SDK needs Python 3.8 or newer`, {
      code: 'PYTHON_TOO_OLD',
      hint: 'install a newer python3, or point --python / PLEXICHAT_PYTHON at one',
    });
  }
  if (!py.pytest) {
    throw new WorkFailedError(`pytest is not installed for ${py.path} (Python ${py.version})`, {
      code: 'PYTEST_NOT_FOUND',
      hint: `install it: ${DEBIAN_PYTEST}  (Debian/Ubuntu)  or  ${py.path} -m pip install pytest`,
      details: { python: py.path, tried: found.tried },
    });
  }
  return py;
}

/**
 * config/plugin.yaml as plain data for the SDK, through the shared manifest
 * loader (size cap, encoding, YAML limits). Schema problems do not stop the
 * tests (`validate` reports them); a file that cannot be read as a YAML
 * mapping does.
 */
async function readManifest(root: string): Promise<Record<string, unknown>> {
  const { loadManifest } = await import('../core/manifest/index.js');
  let parsed: Awaited<ReturnType<typeof loadManifest>>;
  try {
    parsed = await loadManifest(root);
  } catch (err) {
    if (err instanceof CliError && err.code === 'MANIFEST_NOT_FOUND') {
      throw new WorkFailedError(`no config/plugin.yaml in ${root}: this is not a plugin project`, {
        code: 'MANIFEST_NOT_FOUND',
        hint: 'run test in the plugin root (or pass -C <dir>); plexichat-plugin-cli init creates a plugin',
      });
    }
    throw err;
  }
  if (parsed.data) return parsed.data;
  const d = parsed.diagnostics[0]!;
  const shape = d.code === 'MANIFEST_NOT_MAPPING' || d.code === 'MANIFEST_EMPTY';
  throw new WorkFailedError(`${location(d)}: ${d.message}`, {
    code: shape ? 'MANIFEST_INVALID' : 'MANIFEST_SYNTAX',
    hint: 'fix the manifest first; plexichat-plugin-cli validate lists every problem',
  });
}

function describe(e: CollectionError, root: string): string {
  const file = e.file ? (path.isAbsolute(e.file) ? path.relative(root, e.file) : e.file) : undefined;
  if (e.kind && /SyntaxError|IndentationError|TabError/.test(e.kind) && file) {
    return `${e.kind} in ${file}:${e.line}: ${e.message ?? ''}`.trim();
  }
  // pytest names an uncollectable module by its dotted name: show the file.
  const node = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(e.node) ? `${e.node.replace(/\./g, '/')}.py` : e.node;
  return `${node}: ${[e.kind, e.message].filter(Boolean).join(': ')}`;
}

function counts(s: PytestSummary): string {
  const parts = [`${s.passed} passed`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.errors) parts.push(`${s.errors} error${s.errors === 1 ? '' : 's'}`);
  if (s.skipped - s.xfailed) parts.push(`${s.skipped - s.xfailed} skipped`);
  if (s.xfailed) parts.push(`${s.xfailed} xfailed`);
  return parts.join(', ');
}

/** Total line coverage from a Cobertura XML report (pytest-cov --cov-report=xml:...). */
async function coveragePercent(report: string | undefined): Promise<number | undefined> {
  if (!report) return undefined;
  const { XMLParser } = await import('fast-xml-parser');
  try {
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(report) as {
      coverage?: { '@line-rate'?: string };
    };
    const rate = Number(doc.coverage?.['@line-rate']);
    return Number.isFinite(rate) ? Math.round(rate * 10000) / 100 : undefined;
  } catch {
    return undefined;
  }
}

export async function run(opts: TestOptions, ctx: Ctx): Promise<TestResult> {
  const root = ctx.cwd;
  const manifest = await readManifest(root);
  const py = await choosePython(opts, ctx);
  ctx.out.debug(`python: ${py.path} (${py.version}, pytest ${py.pytest}, from ${py.source})`);

  const userArgs = opts.pytestArgs ?? [];
  const extra: string[] = [];
  // pytest writes to a pipe, so it cannot see the terminal: pass colour on.
  const sink = ctx.flags.json ? ctx.out.stderr : ctx.out.stdout;
  const colour = ctx.out.c.red('x') !== 'x';
  if (!userArgs.some((a) => a.startsWith('--color'))) {
    if (colour && sink.isTTY) extra.push('--color=yes');
    else if (!colour) extra.push('--color=no');
  }
  if (ctx.flags.quiet && !userArgs.some((a) => /^-(q+|v+)$|^--(quiet|verbose)$/.test(a))) extra.push('-q');
  const env = { ...ctx.env };
  const columns = (sink as { columns?: number }).columns;
  if (sink.isTTY && columns && !env.COLUMNS) env.COLUMNS = String(columns);

  if (opts.coverage) {
    if (!(await hasModule(py.path, 'pytest_cov', ctx.env))) {
      throw new WorkFailedError(`--coverage needs pytest-cov, which is not installed for ${py.path}`, {
        code: 'COVERAGE_UNAVAILABLE',
        hint: `install it: ${DEBIAN_COV}  (Debian/Ubuntu)  or  ${py.path} -m pip install pytest-cov; or run without --coverage`,
      });
    }
    extra.push('--cov=src', '--cov-report=term-missing');
  }

  const r = await runPytest({
    python: py.path,
    cwd: root,
    manifest,
    args: userArgs,
    extraArgs: extra,
    env,
    stdout: sink,
    stderr: ctx.out.stderr,
    timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined,
    signal: ctx.signal,
    reports: (dir) => {
      if (!opts.coverage) return { args: [], files: [] };
      const file = path.join(dir, 'coverage.xml');
      return { args: [`--cov-report=xml:${file}`], files: [file] };
    },
  });
  ctx.out.debug(`ran: ${r.command.join(' ')}`);

  if (r.cancelled) throw new CancelledError('Cancelled; the test run was stopped');
  if (r.timedOut) {
    throw new WorkFailedError(`the tests did not finish within ${opts.timeout} s; pytest and every process it started were stopped`, {
      code: 'TIMEOUT',
      hint: 'raise --timeout, or find the test that hangs (pass -- -x -v to see where it stops)',
    });
  }
  const s = r.summary;
  const details = s ? { summary: { ...s, collectionErrors: undefined } } : undefined;
  switch (r.exitCode) {
    case PytestExit.ok:
    case PytestExit.testsFailed:
      break;
    case PytestExit.interrupted: {
      if (s && s.collectionErrors.length > 0) {
        const first = describe(s.collectionErrors[0]!, root);
        const more = s.collectionErrors.length > 1 ? ` (and ${s.collectionErrors.length - 1} more)` : '';
        const missing = s.collectionErrors
          .map((e) => /^No module named '([^'.]+)/.exec(e.message ?? '')?.[1])
          .find((m) => m !== undefined);
        throw new WorkFailedError(`pytest could not collect the tests: ${first}${more}`, {
          code: 'COLLECTION_ERROR',
          hint: missing
            ? `install the plugin's dependencies for ${py.path} (e.g. ${py.path} -m pip install ${missing}), then run test again`
            : 'fix the error above (pytest printed the details), then run test again',
          details: { ...details, collectionErrors: s.collectionErrors.map((e) => describe(e, root)) },
        });
      }
      throw new WorkFailedError('pytest was interrupted before the tests finished', {
        code: 'INTERRUPTED',
        hint: "see pytest's output above",
        details,
      });
    }
    case PytestExit.usageError:
      throw new UsageError('pytest rejected its arguments (see its message above)', {
        code: 'PYTEST_USAGE',
        hint: `check the arguments after --; ${py.path} -m pytest --help lists them`,
      });
    case PytestExit.noTestsCollected:
      throw new WorkFailedError('no tests were collected', {
        code: 'NO_TESTS',
        hint: 'add tests in tests/test_*.py with functions named test_* (the init templates have examples), or check the arguments after --',
        details,
      });
    case PytestExit.internalError:
      throw new WorkFailedError('pytest stopped with an internal error (exit 3); see its output above', {
        code: 'PYTEST_INTERNAL',
        hint: 'often a broken conftest.py or plugin; run with -- -p no:cacheprovider -v for more detail',
        details,
      });
    default:
      throw new WorkFailedError(
        r.exitCode === undefined
          ? `pytest was killed by ${r.signal ?? 'a signal'}`
          : `pytest exited with code ${r.exitCode}`,
        { code: 'PYTEST_FAILED', hint: "see pytest's output above", details },
      );
  }
  if (!s) {
    throw new WorkFailedError(
      r.reportError ? `pytest's JUnit report could not be read: ${r.reportError}` : 'pytest wrote no JUnit report',
      {
        code: 'NO_REPORT',
        hint: 'a plugin or option of pytest may have changed the report (e.g. junit_family in pytest.ini); run with --verbose to see the command',
      },
    );
  }
  const failed = r.exitCode === PytestExit.testsFailed;
  return {
    passed: s.passed,
    failed: s.failed,
    skipped: s.skipped,
    xfailed: s.xfailed,
    errors: s.errors,
    total: s.total,
    duration: s.duration,
    exitCode: failed ? ExitCode.failed : ExitCode.ok,
    pytestExitCode: r.exitCode!,
    python: { path: py.path, version: py.version, pytest: py.pytest },
    coverage: opts.coverage ? await coveragePercent(r.reports['coverage.xml']) : undefined,
  };
}

export function render(result: TestResult, ctx: Ctx): void {
  const s = { ...result, collectionErrors: [] };
  const cov = result.coverage === undefined ? '' : ` (${result.coverage}% line coverage)`;
  if (result.exitCode === 0) ctx.out.success(`tests passed: ${counts(s)}${cov}`);
  else ctx.out.error(`tests failed: ${counts(s)}${cov}`);
}

export function exitCode(result: TestResult): number {
  return result.exitCode;
}
