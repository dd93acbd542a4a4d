/**
 * The tox.ini `init` writes: one environment per Python the manifest allows,
 * each running the plugin's tests through the CLI; `tox` works offline
 * (Debian's tox 3.28), skipping the Pythons this machine lacks.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { listTemplates } from '../../src/core/scaffold.js';
import { requires, toxPython } from '../helpers/requires.js';
import { BIN } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

/** The newest CPython 3 minor release the scaffold's tox.ini lists. */
const NEWEST_MINOR = 13;
const TEMPLATES = (await listTemplates()).map((t) => t.name);

async function scaffold(template: string): Promise<string> {
  const root = await tempDir();
  const r = await runMain(['init', 'p', '--name', `${template}_tox`, '--category', 'utility', '--template', template], { cwd: root });
  expect(r.exitCode, r.stderr).toBe(0);
  return path.join(root, 'p');
}

describe('init: tox.ini', () => {
  it.each(TEMPLATES)('%s: an environment for each Python the manifest allows, none it does not', async (template) => {
    const dir = await scaffold(template);
    const manifest = parse(await fs.readFile(path.join(dir, 'config/plugin.yaml'), 'utf8'));
    const floor = /^>=3\.(\d+)$/.exec(manifest.dependencies.python);
    expect(floor, manifest.dependencies.python).not.toBeNull();
    const want = [];
    for (let minor = Number(floor![1]); minor <= NEWEST_MINOR; minor++) want.push(`py3${minor}`);
    const ini = await fs.readFile(path.join(dir, 'tox.ini'), 'utf8');
    expect(/^envlist = (.+)$/m.exec(ini)?.[1]?.split(/,\s*/)).toEqual(want);
    expect(ini).toMatch(/^skip_missing_interpreters = true$/m);
    expect(ini).toMatch(/^commands = plexichat-plugin test --python \{envpython\} \{posargs\}$/m);
    // tox's folder and the file itself stay out of the archive.
    const built = await runMain(['--json', 'build', '--dry-run'], { cwd: dir });
    expect(built.exitCode, built.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(built.stdout))).not.toContain('tox.ini');
  });

  it('tox runs the tests through the CLI offline, skipping the Pythons this machine lacks', async (ctx) => {
    requires(ctx, 'tox');
    // tox's own Python (which has pytest), under its versioned name, first on a PATH without version managers.
    const probe = await execa(toxPython()!, ['-c', 'import sys; print(sys.executable); print("%d%d" % sys.version_info[:2])']);
    const [exe, ver] = probe.stdout.trim().split('\n');
    const bin = await tempDir();
    await fs.symlink(exe, path.join(bin, `python${ver[0]}.${ver.slice(1)}`));
    await fs.symlink(BIN, path.join(bin, 'plexichat-plugin'));
    const PATH = [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter);
    const dir = await scaffold('minimal');
    const r = await execa('tox', [], {
      cwd: dir,
      env: { PATH, HOME: process.env.HOME, PIP_NO_INDEX: '1', VIRTUALENV_NO_PERIODIC_UPDATE: '1', PLEXICHAT_CACHE_DIR: 'off', NO_COLOR: '1' },
      extendEnv: false,
      reject: false,
      timeout: 400_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.exitCode, out).toBe(0);
    expect(out).toMatch(new RegExp(`py${ver}: commands succeeded`));
    expect(out).toMatch(/\d+ passed/); // pytest's own summary, run by plexichat-plugin test
    expect(out).toMatch(/hooks 1\/1 exercised/);
    expect(out).toMatch(/congratulations/);
    const others = ['38', '39', '310', '311', '312', '313'].filter((v) => v !== ver);
    for (const v of others) expect(out).toMatch(new RegExp(`(SKIPPED: +py${v}: InterpreterNotFound: python3\\.\\d+|py${v}: commands succeeded)`));
  }, 450_000);
});
