/**
 * Tests that need a tool the machine may lack (a browser, promtool, a shell,
 * a Python package, the runbook's plugin from ../shared). The one rule, for
 * every such test:
 *
 * - the tool is there: the test runs;
 * - it is missing and `CI` is unset: the test is skipped, its note naming the
 *   tool and how to install it (test/helpers/requires-reporter.ts sums them up
 *   after the run);
 * - it is missing and `CI` is set: the test fails with the same words
 *   (`.ci/run` installs everything, so nothing may be skipped there).
 *
 * Call `requires(ctx, ...tools)` at the top of a test (ctx: the test's
 * context), or `requiresEach(...tools)` in a describe or file for all its
 * tests; a beforeAll that uses the tool returns early when `missing(...)` is
 * non-empty.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, type TestContext } from 'vitest';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * The shared reference folder: ../shared beside the repository (where the
 * project's checkout sits next to it), or RUNBOOK_SHARED_DIR for a checkout
 * elsewhere.
 */
export const SHARED_DIR = path.resolve(ROOT, process.env.RUNBOOK_SHARED_DIR ?? '../shared');
/** The runbook's example plugin, read (never copied into the project) by the tests that use it. */
export const RUNBOOK_PLUGIN = path.join(SHARED_DIR, 'reference', 'runbook-plugin');
/** The runbook itself. */
export const RUNBOOK_TEXT = path.join(SHARED_DIR, 'reference', 'plugin-runbook.md');

/** A python3 on PATH that can import these modules, or undefined. Probed once per module set. */
const pythons = new Map<string, string | undefined>();
export function pythonWith(...modules: string[]): string | undefined {
  const key = modules.join(',');
  if (!pythons.has(key)) {
    const found = pathCandidates().find(
      (py) => spawnSync(py, ['-c', modules.map((m) => `import ${m}`).join('; ') || 'pass'], { stdio: 'ignore', timeout: 20_000 }).status === 0,
    );
    pythons.set(key, found);
  }
  return pythons.get(key);
}

function pathCandidates(): string[] {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return ['python3', 'python'].flatMap((name) => dirs.map((d) => path.join(d, name))).filter(executable);
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An executable of this name on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.map((d) => path.join(d, name)).find(executable);
}

/** The Python that the `tox` on PATH runs on (its #! line), when that Python has pytest. */
export function toxPython(): string | undefined {
  const tox = onPath('tox');
  if (!tox) return undefined;
  const py = /^#!\s*(\S+)/.exec(readFileSync(tox, 'utf8').slice(0, 200))?.[1];
  if (!py || !executable(py)) return undefined;
  return spawnSync(py, ['-c', 'import pytest, tox'], { stdio: 'ignore', timeout: 20_000 }).status === 0 ? py : undefined;
}

interface Tool {
  present(): boolean;
  /** How to get it (Debian; .ci/run does the same). */
  install: string;
}

const apt = (pkg: string) => `sudo apt-get install -y ${pkg}`;

const TOOLS = {
  chromium: { present: () => !!onPath('chromium'), install: apt('chromium') },
  promtool: { present: () => !!onPath('promtool'), install: apt('prometheus') },
  zsh: { present: () => !!onPath('zsh'), install: apt('zsh') },
  fish: { present: () => !!onPath('fish'), install: apt('fish') },
  bandit: { present: () => !!onPath('bandit'), install: apt('bandit') },
  // tox runs an environment of its own Python version on that Python: it needs pytest there.
  tox: { present: () => !!toxPython(), install: apt('tox python3-pytest') },
  'pytest-cov': { present: () => !!pythonWith('pytest', 'pytest_cov'), install: apt('python3-pytest-cov') },
  pyyaml: { present: () => !!pythonWith('pytest', 'yaml'), install: apt('python3-yaml') },
  venv: { present: () => !!pythonWith('pytest', 'yaml', 'venv', 'ensurepip'), install: apt('python3-venv python3-yaml') },
  // pip resolves and installs for `deps`; pytest and PyYAML are repacked from it as wheels, as there is no index here.
  pip: { present: () => !!pythonWith('pip', 'venv', 'ensurepip', 'pytest', 'yaml'), install: apt('python3-pip python3-venv python3-pytest python3-yaml') },
  'psutil+cryptography': {
    present: () => !!pythonWith('pytest', 'psutil', 'cryptography'),
    install: apt('python3-psutil python3-cryptography'),
  },
  // Debian's own python3 with pytest and psutil (tests that place it on PATH by that path).
  'debian-psutil': {
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import pytest, psutil'], { stdio: 'ignore', timeout: 20_000 }).status === 0,
    install: apt('python3-pytest python3-psutil'),
  },
  runbook: {
    present: () => existsSync(path.join(RUNBOOK_PLUGIN, 'config', 'plugin.yaml')),
    install: 'check out the project beside the shared reference folder (../shared), or set RUNBOOK_SHARED_DIR',
  },
} satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

const seen = new Map<ToolName, boolean>();
function present(tool: ToolName): boolean {
  if (!seen.has(tool)) seen.set(tool, TOOLS[tool].present());
  return seen.get(tool)!;
}

/** Of these tools, the ones this machine lacks. */
export function missing(...tools: ToolName[]): ToolName[] {
  return tools.filter((t) => !present(t));
}

/** The note of a skip: `needs chromium (sudo apt-get install -y chromium)`; the reporter reads it. */
export function needsNote(tools: ToolName[]): string {
  return `needs ${tools.map((t) => `${t} (${TOOLS[t].install})`).join(', ')}`;
}

/** Skip the running test when a tool is missing; fail it instead when CI is set. */
export function requires(ctx: Pick<TestContext, 'skip'>, ...tools: ToolName[]): void {
  const gone = missing(...tools);
  if (gone.length > 0) skipOrFail(ctx, needsNote(gone));
}

/**
 * The same rule for a need found only while the test runs (e.g. packages the
 * npm cache lacks): skipped with this note (`needs ...`), or failed when CI is set.
 */
export function skipOrFail(ctx: Pick<TestContext, 'skip'>, note: string): never {
  if (process.env.CI) throw new Error(`CI is set and this test ${note}; .ci/run provides it`);
  return ctx.skip(note);
}

/** requires(...) before every test of the enclosing describe (or file). */
export function requiresEach(...tools: ToolName[]): void {
  beforeEach((ctx) => requires(ctx, ...tools));
}
