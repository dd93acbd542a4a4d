/**
 * `test` starts pytest before it has read config/plugin.yaml, and the SDK's
 * pytest plugin waits on fd 3 until the CLI says "go" (python/pytest.ts,
 * manifest.wait_for_cli). What a user sees must not change: a manifest the
 * CLI cannot read stops the run before any of the plugin's code runs, with
 * no pytest output and nothing left running; a good manifest reaches the
 * tests however they load the SDK; processes the tests start do not wait.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPython } from '../../src/python/discover.js';
import { sdkPythonPath, START_FD_ENV } from '../../src/python/pytest.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

let python = '';

beforeAll(async () => {
  const found = await findPython({ env: process.env, wantPytest: true });
  if (!found.ok || !found.python.pytest) throw new Error('these tests need Python 3 with pytest: .ci/run installs python3-pytest');
  python = found.python.path;
});

async function initProject(name = 'handoff_plugin'): Promise<string> {
  const dir = path.join(await tempDir(), name);
  const r = await runMain(['init', dir, '--name', name, '--category', 'utility', '--template', 'minimal']);
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

/** conftest.py and a test that each leave a file behind when they run, and say so on stdout. */
async function addTracers(dir: string): Promise<{ conftest: string; test: string }> {
  const conftest = path.join(dir, 'conftest-ran');
  const test = path.join(dir, 'test-ran');
  await fs.appendFile(path.join(dir, 'conftest.py'), `\nprint("CONFTEST IMPORTED")\nopen(${JSON.stringify(conftest)}, "w").close()\n`);
  await fs.writeFile(path.join(dir, 'tests/test_tracer.py'), `def test_tracer():\n    print("TEST RAN")\n    open(${JSON.stringify(test)}, "w").close()\n`);
  return { conftest, test };
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/** Processes whose working directory is `dir` (pytest runs in the plugin root). */
async function processesIn(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await fs.readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cwd = await fs.readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cwd === dir) out.push(Number(pid));
  }
  return out;
}

describe('test: pytest starts while the manifest is read', () => {
  const unreadable: [string, (dir: string) => Promise<void>, string, RegExp][] = [
    [
      'a YAML syntax error',
      (d) => fs.writeFile(path.join(d, 'config/plugin.yaml'), 'plugin:\n  name: "unclosed\n'),
      'MANIFEST_SYNTAX',
      /config\/plugin\.yaml:\d+:\d+/,
    ],
    ['a list, not a mapping', (d) => fs.writeFile(path.join(d, 'config/plugin.yaml'), '- plugin\n- metadata\n'), 'MANIFEST_INVALID', /mapping/],
    ['an empty file', (d) => fs.writeFile(path.join(d, 'config/plugin.yaml'), ''), 'MANIFEST_INVALID', /empty/i],
    ['a duplicate key', (d) => fs.appendFile(path.join(d, 'config/plugin.yaml'), '\nplugin:\n  name: again\n'), 'MANIFEST_SYNTAX', /plugin/],
    [
      'bytes that are not UTF-8',
      (d) => fs.writeFile(path.join(d, 'config/plugin.yaml'), Buffer.from([0x70, 0x6c, 0x75, 0x67, 0x69, 0x6e, 0x3a, 0x20, 0xff, 0xfe, 0x0a])),
      'MANIFEST',
      /plugin\.yaml/,
    ],
    ['a file over the size limit', (d) => fs.writeFile(path.join(d, 'config/plugin.yaml'), `# ${'x'.repeat(2 * 1024 * 1024)}\n`), 'MANIFEST', /plugin\.yaml/],
  ];

  for (const [what, spoil, code, message] of unreadable) {
    it(`a manifest with ${what}: its error, exit 1, and none of the plugin's code ran, nothing printed by pytest, nothing left running`, async () => {
      const dir = await initProject();
      const ran = await addTracers(dir);
      await spoil(dir);
      const r = await runMain(['test'], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^(✖ |error: )/);
      for (const text of [r.stdout, r.stderr]) {
        expect(text).not.toContain('test session starts');
        expect(text).not.toContain('CONFTEST IMPORTED');
        expect(text).not.toContain('TEST RAN');
      }
      expect(await exists(ran.conftest)).toBe(false);
      expect(await exists(ran.test)).toBe(false);
      expect(await processesIn(dir)).toEqual([]);

      const j = await runMain(['--json', 'test'], { cwd: dir });
      expect(j.exitCode).toBe(1);
      expect(JSON.parse(j.stdout).error.code).toContain(code);
    });
  }

  it('with a good manifest pytest output is complete, and processes the tests start neither see the pipe nor wait', async () => {
    const dir = await initProject();
    await fs.writeFile(
      path.join(dir, 'tests/test_child.py'),
      [
        'import os, subprocess, sys',
        'def test_child_does_not_wait():',
        `    assert os.environ.get(${JSON.stringify(START_FD_ENV)}) is None`,
        '    code = "import plexichat_plugin_sdk.pytest_plugin, os; print(os.environ.get(\'PLEXICHAT_PLUGIN_MANIFEST_JSON\') is not None)"',
        '    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)',
        '    assert out.returncode == 0, out.stderr',
        '    assert out.stdout.strip() == "True"',
        '',
      ].join('\n'),
    );
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('test session starts');
    expect(r.stdout).toMatch(/\d+ passed/);
  });

  it('tests that read the manifest through the SDK get it even when pytest does not load the SDK plugin', async () => {
    const dir = await initProject();
    await fs.writeFile(path.join(dir, 'conftest.py'), '');
    await fs.writeFile(path.join(dir, 'pytest.ini'), '[pytest]\ntestpaths = tests/test_manifest_only.py\n');
    await fs.writeFile(
      path.join(dir, 'tests/test_manifest_only.py'),
      'from plexichat_plugin_sdk import load_manifest\n\ndef test_name():\n    assert load_manifest()["plugin"]["name"] == "handoff_plugin"\n',
    );
    const r = await runMain(['--json', 'test', '--', '-p', 'no:plexichat_plugin_sdk.pytest_plugin'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ passed: 1, failed: 0 });
  });
});

describe('the SDK waits for "go" on the pipe it is given (wait_for_cli)', () => {
  /** Python importing the SDK's pytest plugin with a pipe on fd 3; what it prints once past the wait. */
  function waiting() {
    const child = spawn(python, ['-c', 'import plexichat_plugin_sdk.pytest_plugin, os; print("PAST", os.environ.get("PLEXICHAT_PLUGIN_START_FD"))'], {
      env: { ...process.env, PYTHONPATH: sdkPythonPath(), [START_FD_ENV]: '3' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
    return { child, pipe: child.stdio[3] as NodeJS.WritableStream, exit, output: () => out };
  }

  it('holds the import until "go", then goes on without the variable', async () => {
    const w = waiting();
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.output()).toBe('');
    expect(w.child.exitCode).toBeNull();
    w.pipe.end('go');
    expect(await w.exit).toBe(0);
    expect(w.output()).toBe('PAST None\n');
  });

  for (const [what, said] of [
    ['the pipe closing without a word (the CLI is gone)', ''],
    ['anything but "go"', 'stop'],
    ['"go" with more after it', 'gone'],
  ] as const) {
    it(`ends silently on ${what}`, async () => {
      const w = waiting();
      w.pipe.end(said);
      expect(await w.exit).toBe(1);
      expect(w.output()).toBe('');
    });
  }

  it('without the variable it does not wait', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: sdkPythonPath() };
    delete env[START_FD_ENV];
    const r = spawn(python, ['-c', 'import plexichat_plugin_sdk.pytest_plugin; print("PAST")'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    r.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((res) => r.once('close', res));
    expect(code).toBe(0);
    expect(out).toBe('PAST\n');
  });
});
