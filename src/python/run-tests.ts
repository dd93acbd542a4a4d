/**
 * Run a plugin's pytest suite with the bundled Python SDK: the operation
 * under `test` and `check`. pytest's output streams live to the given
 * sinks; the result comes from its JUnit XML report. The manifest is read
 * while pytest starts (python/pytest.ts); a caller that holds the parsed
 * manifest already (check's project value) passes it, so it is not read again.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { userProgram, type Ctx } from '../io/context.js';
import { CliError, ExitCode, WorkFailedError } from '../errors.js';
import { cliVersion } from '../io/cli-version.js';
import { choosePytestPython } from './interpreter.js';
import { HOOK_COVERAGE_REPORT, runPytest } from './pytest.js';

export interface TestOptions {
  pytestArgs?: string[];
  python?: string;
  coverage?: boolean;
  /** Seconds. */
  timeout?: number;
}

export interface TestResult {
  /** True when every test passed (exitCode 0). */
  ok: boolean;
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
  /** Which declared hooks and endpoints the tests exercised, from the SDK's pytest plugin (docs/sdk.md). */
  hookCoverage?: HookCoverage;
}

export interface CoverageSection {
  declared: string[];
  exercised: string[];
  never: string[];
  undeclared: string[];
}

export interface HookCoverage {
  hooks: CoverageSection;
  endpoints: CoverageSection;
  /** What is printed, e.g. "hooks 3/5 exercised; never: user_logout, channel_leave". */
  lines: string[];
}

/** The SDK's coverage report (format version 1), or undefined when there is none or it is not that. */
function hookCoverage(text: string | undefined): HookCoverage | undefined {
  if (text === undefined) return undefined;
  try {
    const doc = JSON.parse(text) as HookCoverage & { version?: number };
    if (doc.version !== 1 || !Array.isArray(doc.lines)) return undefined;
    return { hooks: doc.hooks, endpoints: doc.endpoints, lines: doc.lines };
  } catch {
    return undefined;
  }
}

const DEBIAN_COV = 'sudo apt-get install -y python3-pytest-cov';

/**
 * config/plugin.yaml as plain data for the SDK, through the shared manifest
 * reader and parser (size cap, encoding, YAML limits). Schema problems do
 * not stop the tests (`validate` reports them); a file that cannot be read
 * as a YAML mapping does. A parse that succeeded is remembered in the user
 * cache, keyed on the file's bytes and this CLI's version, so a warm run does
 * not load the YAML library (the same place and switch as the scan cache).
 */
async function readManifest(root: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const [{ readManifestFile }, cache] = await Promise.all([import('../core/manifest/read.js'), import('../io/cache.js')]);
  let bytes: Buffer;
  try {
    bytes = await readManifestFile(root);
  } catch (err) {
    if (err instanceof CliError && err.code === 'MANIFEST_NOT_FOUND') {
      throw new WorkFailedError(`no config/plugin.yaml in ${root}: this is not a plugin project`, {
        code: 'MANIFEST_NOT_FOUND',
        hint: 'run test in the plugin root (or pass -C <dir>); plexichat-plugin-cli init creates a plugin',
      });
    }
    throw err;
  }
  const dir = cache.cacheDir(env);
  const key = createHash('sha256').update(`manifest\0${cliVersion()}\0`).update(bytes).digest('hex');
  if (dir) {
    const hit = await cache.readCached<Record<string, unknown>>(dir, root, key, 'manifest');
    if (hit && typeof hit === 'object' && !Array.isArray(hit)) return hit;
  }
  const [{ parseManifest, MANIFEST_PATH }, { location }] = await Promise.all([import('../core/manifest/index.js'), import('../core/manifest/format.js')]);
  const parsed = parseManifest(bytes, MANIFEST_PATH);
  if (parsed.data && dir) await cache.writeCached(dir, root, key, parsed.data, 'manifest');
  return manifestData(parsed, location);
}

/**
 * The manifest as plain data for the SDK: schema problems do not stop the
 * tests (`validate` reports them); a file that is not a YAML mapping does.
 */
export function manifestData(
  parsed: { data?: Record<string, unknown>; diagnostics: { code: string; message: string; file: string; line: number; column: number }[] },
  location: (d: { file: string; line: number; column: number }) => string,
): Record<string, unknown> {
  if (parsed.data) return parsed.data;
  const d = parsed.diagnostics[0];
  const shape = d.code === 'MANIFEST_NOT_MAPPING' || d.code === 'MANIFEST_EMPTY';
  throw new WorkFailedError(`${location(d)}: ${d.message}`, {
    code: shape ? 'MANIFEST_INVALID' : 'MANIFEST_SYNTAX',
    hint: 'fix the manifest first; plexichat-plugin-cli validate lists every problem',
  });
}

/**
 * --coverage on an interpreter that cannot import pytest_cov: name what is
 * missing for it (pytest-cov itself, or the coverage package pytest-cov
 * needs), and another interpreter on PATH that has it, when there is one.
 */
async function coverageUnavailable(python: string, source: string, env: NodeJS.ProcessEnv): Promise<WorkFailedError> {
  const [{ hasModule, pathCandidates }, { runPython }] = await Promise.all([import('../python/discover.js'), import('../python/spawn.js')]);
  // pytest-cov installed (its distribution metadata is there) but not importable: what it needs (coverage) is the missing package.
  const present = (await runPython(python, ['-c', "import importlib.metadata as m; m.version('pytest-cov')"], { env, timeoutMs: 20_000 })).code === 0;
  const missing = present && !(await hasModule(python, 'coverage', env)) ? 'coverage' : 'pytest-cov';
  let other: string | undefined;
  for (const p of pathCandidates(env)) {
    if (p !== python && (await hasModule(p, 'pytest_cov', env).catch(() => false))) {
      other = p;
      break;
    }
  }
  const install = `${python} -m pip install ${missing}`;
  const pinned = source === 'flag' || source === 'env' || source === 'venv';
  const hint = other
    ? `pytest-cov is installed for ${other}: ${pinned ? `run with --python ${other}, or ` : ''}install it for this one: ${install}; or run without --coverage`
    : `install it: ${missing === 'pytest-cov' ? DEBIAN_COV : 'sudo apt-get install -y python3-coverage'}  (Debian/Ubuntu)  or  ${install}; or run without --coverage`;
  return new WorkFailedError(`--coverage needs ${missing}, which is not installed for ${python}`, { code: 'COVERAGE_UNAVAILABLE', hint });
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

export interface RunTestsInput {
  /** The manifest as plain data when the caller has parsed it already (check). */
  manifest?: () => Promise<Record<string, unknown>>;
  /** Where pytest's output goes (default: stdout, or stderr under --json). */
  sink?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Pass -q to pytest (default: --quiet). */
  quiet?: boolean;
}

export async function runTests(opts: TestOptions, ctx: Ctx, input: RunTestsInput = {}): Promise<TestResult> {
  const root = ctx.cwd;
  let reading: Promise<Record<string, unknown>> | undefined;
  const manifest = () => (reading ??= input.manifest ? input.manifest() : readManifest(root, ctx.env));
  // pytest starts before the manifest is read, and waits for it (python/pytest.ts);
  // a manifest error is still the one reported, before any other.
  const py = await choosePytestPython({
    env: ctx.env,
    explicit: userProgram(ctx, opts.python),
    cwd: ctx.cwd,
    alsoNeeds: opts.coverage ? ['pytest_cov'] : [],
  }).catch(async (err: unknown) => {
    await manifest();
    throw err;
  });
  if (py.source === 'venv') ctx.out.info(`python: ${py.path} (the plugin's virtual environment; Python ${py.version}, pytest ${py.pytest})`);
  ctx.out.debug(
    `python: ${py.path} (${py.version}, pytest ${py.pytest}, from ${py.source})${py.missing.length ? `; cannot import: ${py.missing.join(', ')}` : ''}`,
  );

  const userArgs = opts.pytestArgs ?? [];
  const extra: string[] = [];
  // pytest writes to a pipe, so it cannot see the terminal: pass colour on.
  const sink = input.sink ?? (ctx.flags.json ? ctx.out.stderr : ctx.out.stdout);
  const colour = ctx.out.c.red('x') !== 'x';
  if (!userArgs.some((a) => a.startsWith('--color'))) {
    if (colour && sink.isTTY) extra.push('--color=yes');
    else if (!colour) extra.push('--color=no');
  }
  if ((input.quiet ?? ctx.flags.quiet) && !userArgs.some((a) => /^-(q+|v+)$|^--(quiet|verbose)$/.test(a))) extra.push('-q');
  const env = { ...ctx.env };
  const columns = (sink as { columns?: number }).columns;
  if (sink.isTTY && columns && !env.COLUMNS) env.COLUMNS = String(columns);

  if (opts.coverage) {
    const [{ hasModule }] = await Promise.all([import('../python/discover.js'), manifest()]);
    if (!(await hasModule(py.path, 'pytest_cov', ctx.env))) throw await coverageUnavailable(py.path, py.source, ctx.env);
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

  const { PytestExit, pytestOutcome } = await import('../python/outcome.js');
  const s = pytestOutcome(r, { root, python: py.path, timeout: opts.timeout });
  const failed = r.exitCode === PytestExit.testsFailed;
  return {
    ok: !failed,
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
    hookCoverage: hookCoverage(r.reports[HOOK_COVERAGE_REPORT]),
  };
}
