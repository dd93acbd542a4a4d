/**
 * `test` against real pytest. These tests need a Python with pytest; where
 * there is none they fail loudly (.ci/run installs python3-pytest).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPython, hasModule } from '../../src/python/discover.js';
import { BIN, hasStackTrace, runCli } from '../helpers/run-cli.js';
import { requires, RUNBOOK_PLUGIN } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { runTty } from '../helpers/run-tty.js';
import { tempDir } from '../helpers/temp-project.js';
import { listTemplates } from '../../src/core/scaffold.js';

const TEMPLATES = (await listTemplates()).map((t) => t.name);

const FIXTURES = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));
let python = '';
let realPython = '';

beforeAll(async () => {
  const found = await findPython({ env: process.env, wantPytest: true });
  if (!found.ok || !found.python.pytest) {
    throw new Error(
      'these tests need Python 3 with pytest and none was found: install it with ' +
        '`sudo apt-get install -y python3-pytest` (or `python3 -m pip install pytest`); .ci/run does this',
    );
  }
  python = found.python.path;
  // the interpreter itself, not a launcher such as a pyenv shim (which needs bash on PATH)
  realPython = (await execa(python, ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
});

async function initProject(template: string, name = `my_${template}`): Promise<string> {
  const root = await tempDir();
  const dir = path.join(root, name);
  const r = await runMain(['init', dir, '--name', name, '--category', 'utility', '--template', template]);
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

async function copyFixture(name: string): Promise<string> {
  const root = await tempDir();
  const dir = path.join(root, name);
  await fs.cp(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** A test that starts a child process (writing its pid to a file) and hangs. */
async function addHangingTest(dir: string): Promise<string> {
  const pidFile = path.join(dir, 'child.pid');
  await fs.writeFile(
    path.join(dir, 'tests/test_hang.py'),
    [
      'import subprocess, sys, time',
      'def test_hang():',
      '    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])',
      `    open(${JSON.stringify(pidFile)}, "w").write(str(child.pid))`,
      '    time.sleep(60)',
      '',
    ].join('\n'),
  );
  return pidFile;
}

/**
 * A test that starts processes that leave pytest's process group and hangs:
 * a setsid child, a double-forked daemon (reparented, environment kept), a
 * daemon exec'd with a fresh environment after leaving the tree. Returns a
 * reader of their pids.
 */
async function addEscapingTests(dir: string, kinds: { setsid?: boolean; daemon?: boolean; hidden?: boolean }): Promise<() => Promise<number[]>> {
  const files = { setsid: path.join(dir, 'setsid.pid'), daemon: path.join(dir, 'daemon.pid'), hidden: path.join(dir, 'hidden.pid') };
  const daemon = 'import os, sys, time\nif os.fork(): sys.exit(0)\nos.setsid()\nopen(sys.argv[1], "w").write(str(os.getpid()))\ntime.sleep(60)';
  const lines = ['import os, subprocess, sys, time', `DAEMON = ${JSON.stringify(daemon)}`, 'def test_escape():'];
  if (kinds.setsid) {
    lines.push('    c = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)');
    lines.push(`    open(${JSON.stringify(files.setsid)}, "w").write(str(c.pid))`);
  }
  if (kinds.daemon) lines.push(`    subprocess.Popen([sys.executable, "-c", DAEMON, ${JSON.stringify(files.daemon)}]).wait()`);
  if (kinds.hidden) lines.push(`    subprocess.Popen([sys.executable, "-c", DAEMON, ${JSON.stringify(files.hidden)}], env={}).wait()`);
  lines.push('    time.sleep(60)', '');
  await fs.writeFile(path.join(dir, 'tests/test_escape.py'), lines.join('\n'));
  return async () => {
    const out: number[] = [];
    for (const f of Object.values(files)) {
      const pid = Number(await fs.readFile(f, 'utf8').catch(() => '0'));
      if (pid) out.push(pid);
    }
    return out;
  };
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** True once the process no longer exists or is a zombie waiting for its parent (waits up to 5 s). */
async function isGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/\) Z /.test(stat)) return true;
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}

describe('test', () => {
  for (const template of TEMPLATES) {
    it(`init --template ${template} -> test passes as generated`, async () => {
      const dir = await initProject(template);
      const r = await runMain(['test'], { cwd: dir });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\d+ passed/);
      expect(r.stdout).toContain('tests/test_integration.py');
      expect(r.stderr).toMatch(/tests passed: \d+ passed/);
    });
  }

  it('--json prints one summary document from the JUnit report; pytest output goes to stderr', async () => {
    const dir = await initProject('analytics');
    const r = await runMain(['--json', 'test'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ passed: 17, failed: 0, skipped: 0, errors: 0, exitCode: 0 });
    expect(typeof doc.duration).toBe('number');
    expect(r.stderr).toContain('test session starts');
  });

  it("the runbook's advanced_analytics plugin: its unit and integration tests pass", async () => {
    const dir = await copyFixture('runbook-analytics');
    const r = await runMain(['--json', 'test'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    // one xfail: the runbook's sentiment check does not strip punctuation
    expect(JSON.parse(r.stdout)).toMatchObject({ passed: 14, failed: 0, xfailed: 1, skipped: 1, errors: 0 });
  });

  it('arguments after -- go to pytest', async () => {
    const dir = await copyFixture('runbook-analytics');
    const r = await runMain(['--json', 'test', '--', '-k', 'permission', '--junitxml=reports/junit.xml'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ passed: 2, failed: 0 });
    // the user's own report is written, and the summary is read from it
    expect(await fs.readFile(path.join(dir, 'reports/junit.xml'), 'utf8')).toContain('<testsuite');
  });

  it("on a terminal pytest's colours are kept; NO_COLOR turns them off", async () => {
    const dir = await initProject('minimal');
    const coloured = await runTty(['test'], { cwd: dir, env: { NO_COLOR: undefined } }).done();
    expect(coloured.exitCode, coloured.output).toBe(0);
    // eslint-disable-next-line no-control-regex -- the colour escapes under test
    expect(coloured.output).toMatch(/\u001b\[32m.*passed/);
    const plain = await runTty(['test'], { cwd: dir, env: { NO_COLOR: '1' } }).done();
    expect(plain.exitCode, plain.output).toBe(0);
    expect(plain.output).toMatch(/9 passed/);
    // eslint-disable-next-line no-control-regex -- the colour escapes under test
    expect(plain.output).not.toMatch(/\u001b\[3\dm/);
  });

  it('--quiet makes pytest quiet too', async () => {
    const dir = await initProject('minimal');
    const r = await runMain(['--quiet', 'test'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('test session starts');
    expect(r.stdout).toMatch(/9 passed/);
  });

  it('a failing test gives exit 1 with pytest failure output', async () => {
    const dir = await initProject('minimal');
    await fs.writeFile(path.join(dir, 'tests/test_broken.py'), 'def test_answer():\n    assert 6 * 7 == 41, "arithmetic is off"\n');
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/FAILED tests\/test_broken\.py::test_answer/);
    expect(r.stdout).toContain('arithmetic is off');
    expect(r.stderr).toMatch(/tests failed: 9 passed, 1 failed/);
    const j = await runMain(['--json', 'test'], { cwd: dir });
    expect(j.exitCode).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ passed: 9, failed: 1, exitCode: 1 });
  });

  it('a syntax error in plugin code is reported clearly (exit 1)', async () => {
    const dir = await initProject('minimal');
    const file = path.join(dir, 'src/plugin.py');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('def status(self, request):', 'def status(self, request)'));
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pytest could not collect the tests: SyntaxError in src\/plugin\.py:\d+/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const j = await runMain(['--json', 'test'], { cwd: dir });
    expect(j.exitCode).toBe(1);
    expect(JSON.parse(j.stdout).error.code).toBe('COLLECTION_ERROR');
  });

  it('a missing Python dependency names the module and how to install it (exit 1)', async () => {
    const dir = await initProject('minimal');
    const file = path.join(dir, 'src/plugin.py');
    await fs.writeFile(file, `import no_such_dependency_xyz\n${await fs.readFile(file, 'utf8')}`);
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/could not collect the tests: tests\/test_\w+\.py: ModuleNotFoundError: No module named 'no_such_dependency_xyz'/);
    expect(r.stderr).toMatch(/-m pip install no_such_dependency_xyz/);
  });

  it('a plugin without tests is an error, not exit 0', async () => {
    const dir = await initProject('minimal');
    await fs.rm(path.join(dir, 'tests'), { recursive: true });
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no tests were collected/);
    expect(r.stderr).toMatch(/tests\/test_\*\.py/);
  });

  it('PLEXICHAT_PYTHON pointing nowhere is a clear error', async () => {
    const dir = await initProject('minimal');
    const r = await runMain(['test'], { cwd: dir, env: { PLEXICHAT_PYTHON: '/nonexistent/python3' } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/PLEXICHAT_PYTHON=\/nonexistent\/python3 is not a runnable Python interpreter/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const bad = await runMain(['test', '--python', '/nonexistent/python3'], { cwd: dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--python \/nonexistent\/python3 is not a runnable/);
  });

  it('no Python on PATH at all is a clear error with the install command', async () => {
    const dir = await initProject('minimal');
    const empty = await tempDir();
    const r = await runMain(['test'], { cwd: dir, env: { PATH: empty, PLEXICHAT_PYTHON: undefined } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no Python interpreter found/);
    expect(r.stderr).toContain('sudo apt-get install -y python3 python3-pytest');
  });

  it('an interpreter without pytest gets the install commands', async () => {
    const dir = await initProject('minimal');
    // python -S: no site-packages, so no pytest (a stand-in for a bare venv)
    const bin = await tempDir();
    const wrapper = path.join(bin, 'python3');
    await fs.writeFile(wrapper, `#!/bin/sh\nexec "${python}" -S "$@"\n`, { mode: 0o755 });
    const r = await runMain(['test'], { cwd: dir, env: { PLEXICHAT_PYTHON: wrapper } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`pytest is not installed for ${wrapper}`);
    expect(r.stderr).toContain('sudo apt-get install -y python3-pytest');
    expect(r.stderr).toContain(`${wrapper} -m pip install pytest`);
  });

  it('on PATH, an interpreter with pytest is preferred over an earlier one without', async () => {
    const dir = await initProject('minimal');
    const bin = await tempDir();
    await fs.writeFile(path.join(bin, 'python3'), `#!/bin/sh\nexec "${realPython}" -S "$@"\n`, { mode: 0o755 });
    const r = await runMain(['--verbose', 'test'], {
      cwd: dir,
      env: { PLEXICHAT_PYTHON: undefined, PATH: [bin, path.dirname(realPython)].join(path.delimiter) },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`python: ${path.dirname(realPython).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/python3? `));
  });

  describe('on PATH, an interpreter that can run the project is chosen', () => {
    /** A python3 in its own folder that finds the modules in `extra` (empty: none beyond the real one's) and logs each start. */
    async function interpreter(extra: Record<string, string>): Promise<{ dir: string; starts: () => Promise<string[]> }> {
      const dir = await tempDir();
      const lib = path.join(dir, 'lib');
      await fs.mkdir(lib);
      for (const [name, text] of Object.entries(extra)) await fs.writeFile(path.join(lib, `${name}.py`), text);
      const log = path.join(dir, 'starts.log');
      await fs.writeFile(
        path.join(dir, 'python3'),
        `#!/bin/sh\necho "$1" >> "${log}"\nPYTHONPATH="${lib}\${PYTHONPATH:+:$PYTHONPATH}" exec "${realPython}" "$@"\n`,
        { mode: 0o755 },
      );
      return { dir, starts: async () => (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
    }

    async function projectImporting(modules: string[]): Promise<string> {
      const dir = await initProject('minimal');
      await fs.writeFile(path.join(dir, 'tests/test_deps.py'), `${modules.map((m) => `import ${m}`).join('\n')}\n\ndef test_deps():\n    pass\n`);
      return dir;
    }

    it('the first with pytest that can import every module the tests import, not merely the first with pytest', async () => {
      const bare = await interpreter({});
      const full = await interpreter({ needed_mod: 'X = 1\n' });
      const dir = await projectImporting(['needed_mod']);
      const r = await runMain(['--json', 'test'], {
        cwd: dir,
        env: { PLEXICHAT_PYTHON: undefined, PATH: [bare.dir, full.dir, process.env.PATH].join(path.delimiter) },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).python.path).toBe(path.join(full.dir, 'python3'));
    });

    it('when none can import them all, the one missing the fewest; PLEXICHAT_PYTHON still overrides', async () => {
      const one = await interpreter({ mod_a: '' });
      const two = await interpreter({ mod_a: '', mod_b: '' });
      const dir = await projectImporting(['mod_a', 'mod_b', 'mod_c']);
      const PATH = [one.dir, two.dir, process.env.PATH].join(path.delimiter);
      const r = await runMain(['--json', 'test'], { cwd: dir, env: { PLEXICHAT_PYTHON: undefined, PATH } });
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stdout).error.code).toBe('COLLECTION_ERROR');
      const v = await runMain(['--verbose', 'test'], { cwd: dir, env: { PLEXICHAT_PYTHON: undefined, PATH } });
      expect(v.stderr).toContain(`python: ${path.join(two.dir, 'python3')} `);
      expect(v.stderr).toContain('cannot import: mod_c');
      const pinned = await runMain(['--verbose', 'test'], { cwd: dir, env: { PLEXICHAT_PYTHON: path.join(one.dir, 'python3'), PATH } });
      expect(pinned.stderr).toContain(`python: ${path.join(one.dir, 'python3')} `);
    });

    it('the choice is remembered: a warm run starts no probe, a new import or another PATH probes again', async () => {
      const bare = await interpreter({});
      const full = await interpreter({ needed_mod: '' });
      const dir = await projectImporting(['needed_mod']);
      const env = { PLEXICHAT_PYTHON: undefined, PATH: [bare.dir, full.dir, process.env.PATH].join(path.delimiter), PLEXICHAT_CACHE_DIR: await tempDir() };
      const probes = async () => [...(await bare.starts()), ...(await full.starts())].filter((a) => a === '-c').length;
      expect((await runMain(['test'], { cwd: dir, env })).exitCode).toBe(0);
      expect(await probes()).toBe(2);
      expect((await runMain(['test'], { cwd: dir, env })).exitCode).toBe(0);
      expect(await probes()).toBe(2);
      await fs.writeFile(path.join(dir, 'tests/test_more.py'), 'import json\n\ndef test_more():\n    pass\n');
      expect((await runMain(['test'], { cwd: dir, env })).exitCode).toBe(0);
      expect(await probes()).toBe(4);
      expect((await runMain(['test'], { cwd: dir, env: { ...env, PATH: [full.dir, process.env.PATH].join(path.delimiter) } })).exitCode).toBe(0);
      expect(await probes()).toBe(5);
    });

    it("the runbook's suites get an interpreter with psutil when one is on PATH after one without", async (ctx) => {
      requires(ctx, 'runbook', 'debian-psutil');
      const dir = path.join(await tempDir(), 'advanced_analytics');
      await fs.cp(RUNBOOK_PLUGIN, dir, { recursive: true });
      const yaml = path.join(dir, 'config/plugin.yaml');
      await fs.writeFile(yaml, (await fs.readFile(yaml, 'utf8')).replace(/required:\n/, 'required:\n    - analytics_read\n'));
      const withPsutil = '/usr/bin/python3';
      expect((await execa(withPsutil, ['-c', 'import psutil'], { reject: false })).exitCode, 'this test needs python3-psutil for /usr/bin/python3').toBe(0);
      const bare = await interpreter({});
      const r = await runMain(['--verbose', 'test'], {
        cwd: dir,
        env: { PLEXICHAT_PYTHON: undefined, PATH: [bare.dir, '/usr/bin', process.env.PATH].join(path.delimiter) },
      });
      expect(r.stderr).toContain('python: /usr/bin/python3 ');
      expect(r.stderr).not.toMatch(/No module named 'psutil'/);
    });
  });

  it('a Python older than 3.8 is refused with what to do', async () => {
    const dir = await initProject('minimal');
    const bin = await tempDir();
    // stands in for an old interpreter: answers the version probe only
    const old = path.join(bin, 'python3.6');
    await fs.writeFile(old, '#!/bin/sh\necho \'{"version": "3.6.15", "pytest": "6.2.5"}\'\n', { mode: 0o755 });
    const r = await runMain(['test', '--python', old], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('is Python 3.6.15; the plugin SDK needs Python 3.8 or newer');
  });

  it('outside a plugin project: a clear error', async () => {
    const dir = await tempDir();
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no config\/plugin\.yaml/);
  });

  it('--timeout stops pytest and the processes it started', async () => {
    const dir = await initProject('minimal');
    const pidFile = await addHangingTest(dir);
    // 5 s: pytest must reach the test that starts the child even on a loaded machine
    const r = await runCli(['test', '--timeout', '5'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/did not finish within 5 s/);
    expect(await isGone(Number(await fs.readFile(pidFile, 'utf8')))).toBe(true);
  });

  it("--timeout also stops what left pytest's process group (a setsid child, a double-forked daemon) and says what it stopped", async () => {
    const dir = await initProject('minimal');
    const pids = await addEscapingTests(dir, { setsid: true, daemon: true });
    try {
      const r = await runCli(['--json', 'test', '--timeout', '5'], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        /did not finish within 5 s; pytest and the \d+ other process(es)? found running for it were stopped \(2 outside its process group\)/,
      );
      expect(r.stderr).not.toMatch(/every process/);
      const doc = JSON.parse(r.stdout);
      expect(doc.error.code).toBe('TIMEOUT');
      expect(doc.error.stopped).toMatchObject({ method: 'proc', outsideGroup: 2, survivors: [] });
      for (const pid of await pids()) expect(await isGone(pid), `pid ${pid}`).toBe(true);
    } finally {
      for (const pid of await pids()) kill(pid);
    }
  });

  it('a daemon started with a fresh environment after leaving the tree is not claimed as stopped', async () => {
    const dir = await initProject('minimal');
    const pids = await addEscapingTests(dir, { hidden: true });
    try {
      const r = await runCli(['test', '--timeout', '5'], { cwd: dir });
      expect(r.exitCode).toBe(1);
      // the message counts what was found and stopped; it never says every process was
      expect(r.stderr).toMatch(/did not finish within 5 s; pytest (and the \d+ other process(es)? found running for it )?(was|were) stopped/);
      expect(r.stderr).not.toMatch(/every process/);
    } finally {
      for (const pid of await pids()) kill(pid);
    }
  });

  it('Ctrl-C (SIGINT) stops pytest and its children and exits 130', async () => {
    const dir = await initProject('minimal');
    const pidFile = await addHangingTest(dir);
    const sub = execa(process.execPath, [BIN, 'test'], {
      cwd: dir,
      env: { NO_COLOR: '1', CI: '1' },
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    let pid = 0;
    for (let i = 0; i < 300 && !pid; i++) {
      pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => '0'));
      if (!pid) await new Promise((res) => setTimeout(res, 100));
    }
    expect(pid).toBeGreaterThan(0);
    sub.kill('SIGINT');
    const r = await sub;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toMatch(/Cancelled/);
    expect(await isGone(pid)).toBe(true);
  });

  it('--coverage without pytest-cov says what to install (exit 1, before pytest runs)', async () => {
    const dir = await initProject('minimal');
    // An importable pytest_cov that fails to import stands in for a missing one.
    const shim = await tempDir({ pytest_cov: { '__init__.py': 'raise ImportError("hidden by the test")\n' } });
    const r = await runMain(['--json', 'test', '--coverage'], { cwd: dir, env: { PYTHONPATH: shim } });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('COVERAGE_UNAVAILABLE');
    expect(r.stderr).toContain('--coverage needs pytest-cov');
    expect(r.stderr).toContain('sudo apt-get install -y python3-pytest-cov');
    expect(r.stderr).toContain('-m pip install pytest-cov');
    expect(r.stderr).not.toContain('test session starts');
  });

  it('--coverage reports the line coverage where pytest-cov is installed', async () => {
    const dir = await initProject('analytics');
    let withCov: string | undefined;
    for (const candidate of [python, '/usr/bin/python3']) {
      if (
        (await hasModule(candidate, 'pytest', process.env).catch(() => false)) &&
        (await hasModule(candidate, 'pytest_cov', process.env).catch(() => false))
      ) {
        withCov = candidate;
        break;
      }
    }
    const r = await runMain(['--json', 'test', '--coverage', '--python', withCov ?? python], { cwd: dir });
    if (withCov) {
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.coverage).toBeGreaterThan(50);
      expect(doc.coverage).toBeLessThanOrEqual(100);
      expect(r.stderr).toMatch(/src\/plugin\.py\s+\d+/);
    } else {
      // no interpreter here has pytest-cov: the clear refusal is what there is to check
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stdout).error.code).toBe('COVERAGE_UNAVAILABLE');
    }
  });

  it('the manifest reaches the SDK as JSON, parsed by the CLI: anchors and block scalars work under test', async () => {
    const dir = await initProject('minimal');
    const file = path.join(dir, 'config/plugin.yaml');
    const yaml = (await fs.readFile(file, 'utf8')).replace(/settings:\n {2}greeting: .*\n/, 'settings:\n  greeting: &g |\n    Hello\n    there\n  again: *g\n');
    await fs.writeFile(file, yaml);
    await fs.writeFile(
      path.join(dir, 'tests/test_yaml.py'),
      'from src.plugin import MyMinimalPlugin\n\ndef test_block_scalar():\n    assert MyMinimalPlugin().settings["again"] == "Hello\\nthere\\n"\n',
    );
    const r = await runMain(['--json', 'test'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ failed: 0, passed: 10 });
  });

  it('a manifest with a YAML syntax error is reported with its line before pytest runs', async () => {
    const dir = await initProject('minimal');
    await fs.writeFile(path.join(dir, 'config/plugin.yaml'), 'plugin:\n  name: "unclosed\n');
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/config\/plugin\.yaml:\d+:\d+/);
    expect(r.stdout).not.toContain('test session starts');
  });
});
