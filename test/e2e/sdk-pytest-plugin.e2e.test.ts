/**
 * The SDK's pytest plugin as a plugin developer meets it: a project made by
 * `init`, run with a bare `python3 -m pytest` (its conftest.py loads the
 * plugin: fixtures and the hook/endpoint coverage at the end), and what
 * `test` leaves behind in the plugin folder (nothing).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sdkPythonPath } from '../../src/python/pytest.js';
import { pythonWith, requires } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';

/** A Python with pytest and PyYAML: a bare pytest reads config/plugin.yaml with PyYAML. */
const python = pythonWith('pytest', 'yaml') ?? 'python3';
/** One that has pytest-cov too (Debian's python3 with python3-pytest-cov; .ci/run installs it). */
const withCov = pythonWith('pytest', 'pytest_cov') ?? 'python3';

async function initProject(template: string): Promise<string> {
  const dir = path.join(await tempDir(), `my_${template}`);
  const r = await runMain(['init', dir, '--name', `my_${template}`, '--category', 'utility', '--template', template]);
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

function barePytest(dir: string, env: Record<string, string | undefined>) {
  const r = spawnSync(python, ['-m', 'pytest', '-p', 'no:cacheprovider'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PLEXICHAT_PLUGIN_MANIFEST_JSON: undefined, ...env },
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the SDK pytest plugin under a bare pytest', () => {
  it.each(['minimal', 'analytics', 'registry'])('init --template %s: the conftest.py loads the fixtures and prints the coverage', async (template, ctx) => {
    requires(ctx, 'pyyaml');
    const dir = await initProject(template);
    const r = barePytest(dir, { PYTHONPATH: sdkPythonPath() });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/plexichat plugin coverage/);
    expect(r.out).toMatch({ minimal: /hooks 1\/1 exercised\n/, analytics: /hooks 5\/5 exercised\n/, registry: /hooks 3\/3 exercised\n/ }[template]!);
    expect(r.out).toMatch(template === 'minimal' ? /endpoints 1\/1 exercised/ : /endpoints 2\/2 exercised/);
  });

  it('test leaves no pytest files in the plugin folder, and --lf still finds the last failures', async (ctx) => {
    requires(ctx, 'pytest-cov');
    const dir = await initProject('minimal');
    await fs.writeFile(path.join(dir, 'tests/test_fails.py'), 'def test_fails():\n    assert False\n');
    const env = { PLEXICHAT_CACHE_DIR: await tempDir(), PYTHONDONTWRITEBYTECODE: undefined };
    const before = (await listFiles(dir)).sort();
    const first = await runMain(['--json', 'test', '--coverage', '--python', withCov], { cwd: dir, env });
    expect(first.exitCode, first.stderr).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ passed: 9, failed: 1 });
    expect((await listFiles(dir)).sort()).toEqual(before);
    expect(await fs.readdir(dir)).not.toContain('.pytest_cache');
    const again = await runMain(['--json', 'test', '--python', withCov, '--', '--lf'], { cwd: dir, env });
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 1, failed: 1 });
    expect((await listFiles(dir)).sort()).toEqual(before);
  });

  it('without the SDK on the path, the conftest.py says how to run the tests', async () => {
    const dir = await initProject('minimal');
    const r = barePytest(dir, { PYTHONPATH: undefined });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('plexichat_plugin_sdk is not importable: run the tests with `plexichat-plugin test`');
  });
});
