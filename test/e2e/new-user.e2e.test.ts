/**
 * What a new user meets first: usage errors on one line, help in the name
 * they typed, shell completion that offers real values, `download --out`
 * that makes its folder as `build --out` does, `init --category` picking the
 * matching template, and `test --coverage` choosing the interpreter that
 * has pytest-cov.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { requires } from '../helpers/requires.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

const CLI_BIN = fileURLToPath(new URL('../../bin/plexichat-plugin-cli.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/plexichat-plugin.js', import.meta.url));

async function run(bin: string, args: string[]) {
  const r = await execa(process.execPath, [bin, ...args], { env: { NO_COLOR: '1', CI: '1' }, reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('usage errors are one line', () => {
  it.each([
    [['biuld'], "unknown command 'biuld' (did you mean 'build'?)"],
    [['build', '--outt', 'x'], "unknown option '--outt' (did you mean '--out'?)"],
    [['marketplace', 'sttus'], "unknown command 'sttus' (did you mean 'status'?)"],
  ])('%j', async (args, message) => {
    const r = await runMain(args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`error: ${message}\n  hint: run with --help to see the commands and flags\n`);
    expect(r.stderr).not.toContain('\\n');
    const j = await runMain(['--json', ...args]);
    expect(j.exitCode).toBe(2);
    expect(JSON.parse(j.stdout).error).toEqual({ code: 'USAGE', message, hint: 'run with --help to see the commands and flags', exitCode: 2 });
  });
});

describe('help names the program as it was started', () => {
  it('plexichat-plugin-cli: usage, examples and --json help say plexichat-plugin-cli; plexichat-plugin says plexichat-plugin', async () => {
    const top = await run(CLI_BIN, ['--help']);
    expect(top.stdout).toMatch(/^Usage: plexichat-plugin-cli \[options\] \[command\]/);
    const build = await run(CLI_BIN, ['build', '--help']);
    expect(build.stdout).toMatch(/^Usage: plexichat-plugin-cli build \[options\]/);
    expect(build.stdout).toContain('  plexichat-plugin-cli build --out release --sign');
    expect(build.stdout).not.toMatch(/plexichat-plugin(?!-cli)\b(?![/.])/);
    // Through commander (not the snapshot): help of a command given with another flag.
    const viaCommander = await run(CLI_BIN, ['--no-color', 'verify', '--help']);
    expect(viaCommander.stdout).toMatch(/^Usage: plexichat-plugin-cli verify/);
    const json = await run(CLI_BIN, ['--json', 'build', '--help']);
    expect(JSON.parse(json.stdout).command).toBe('plexichat-plugin-cli build');
    // File names that contain the name are left alone.
    const completion = await run(CLI_BIN, ['completion', '--help']);
    expect(completion.stdout).toContain('plexichat-plugin-cli completion zsh > "${fpath[1]}/_plexichat-plugin"');
    expect((await run(BIN, ['build', '--help'])).stdout).toMatch(/^Usage: plexichat-plugin build \[options\]/);
  });
});

async function completionFile(shell: string): Promise<{ file: string; dir: string }> {
  const dir = await tempDir({ 'my file.txt': 'x', 'other.zip': 'x', 'my dir': { 'a.txt': 'x' } });
  const r = await runMain(['completion', shell]);
  expect(r.exitCode, r.stderr).toBe(0);
  const file = path.join(dir, `c.${shell}`);
  await fs.writeFile(file, r.stdout);
  return { file, dir };
}

const VALUES: [string, string[]][] = [
  [
    'plexichat-plugin init --category ',
    ['analytics', 'automation', 'bots', 'communication', 'integration', 'moderation', 'productivity', 'security', 'utility'],
  ],
  ['plexichat-plugin init --template ', ['minimal', 'analytics', 'registry']],
  ['plexichat-plugin deploy render --env ', ['staging', 'production']],
  ['plexichat-plugin check --format ', ['text', 'json', 'sarif', 'github']],
  ['plexichat-plugin check --profile ', ['pr', 'release']],
  ['plexichat-plugin completion ', ['bash', 'zsh', 'fish']],
];

describe('completion offers real values and keeps file names whole', () => {
  async function bash(file: string, cwd: string, line: string): Promise<string[]> {
    const r = await execa(
      'bash',
      [
        '-c',
        `source "${file}"; read -ra COMP_WORDS <<< "$1"; [ "\${1: -1}" = " " ] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _plexichat_plugin; printf '%s\\n' "\${COMPREPLY[@]}"`,
        '_',
        line,
      ],
      { cwd },
    );
    return r.stdout.split('\n').filter(Boolean);
  }

  it('bash', async () => {
    const { file, dir } = await completionFile('bash');
    for (const [line, want] of VALUES) expect(await bash(file, dir, line), line).toEqual(want);
    // Names with spaces are one candidate each; a free-text flag offers nothing; a folder flag only folders.
    expect(await bash(file, dir, 'plexichat-plugin verify my')).toEqual(['my dir', 'my file.txt']);
    expect(await bash(file, dir, 'plexichat-plugin verify --signature my')).toEqual(['my dir', 'my file.txt']);
    expect(await bash(file, dir, 'plexichat-plugin build --out my')).toEqual(['my dir']);
    expect(await bash(file, dir, 'plexichat-plugin init --name ')).toEqual([]);
    expect(await bash(file, dir, 'plexichat-plugin validate --against ')).toEqual(expect.arrayContaining(['published', 'other.zip', 'my file.txt']));
  });

  it('zsh (through bashcompinit)', async (ctx) => {
    requires(ctx, 'zsh');
    const { file, dir } = await completionFile('zsh');
    await execa('zsh', ['-n', file]);
    const zsh = async (words: string[]) => {
      const r = await execa(
        'zsh',
        [
          '-c',
          `source ${file}; setopt ksharrays; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _plexichat_plugin; print -l -- "\${COMPREPLY[@]}"`,
          '_',
          ...words,
        ],
        { cwd: dir },
      );
      return r.stdout.split('\n').filter(Boolean);
    };
    for (const [line, want] of VALUES) expect(await zsh([...line.trim().split(' '), '']), line).toEqual(want);
    // zsh's compgen lists every file and zsh filters by the prefix; each name is still one candidate.
    expect(await zsh(['plexichat-plugin', 'verify', 'my'])).toEqual(expect.arrayContaining(['my dir', 'my file.txt']));
  });

  it('fish', async (ctx) => {
    requires(ctx, 'fish');
    const { file, dir } = await completionFile('fish');
    await execa('fish', ['-n', file]);
    const fish = async (line: string) => {
      const r = await execa('fish', ['-c', `source ${file}; complete -C "${line}"`], { cwd: dir });
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    };
    for (const [line, want] of VALUES) expect((await fish(line)).sort(), line).toEqual([...want].sort());
    expect(await fish('plexichat-plugin verify --signature my')).toEqual(expect.arrayContaining(['my dir/', 'my file.txt']));
    expect(await fish('plexichat-plugin init --name ')).toEqual([]);
  });
});

describe('init --category picks the template of that name', () => {
  it('--category analytics scaffolds the analytics template; --template overrides; other categories get minimal', async () => {
    const root = await tempDir();
    const a = await runMain(['--json', 'init', 'a', '--name', 'cat_analytics', '--category', 'analytics', '--yes'], { cwd: root });
    expect(a.exitCode, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ category: 'analytics', template: 'analytics' });
    const b = await runMain(['--json', 'init', 'b', '--name', 'cat_minimal', '--category', 'analytics', '--template', 'minimal', '--yes'], { cwd: root });
    expect(JSON.parse(b.stdout)).toMatchObject({ category: 'analytics', template: 'minimal' });
    const c = await runMain(['--json', 'init', 'c', '--name', 'cat_utility', '--category', 'utility', '--yes'], { cwd: root });
    expect(JSON.parse(c.stdout)).toMatchObject({ category: 'utility', template: 'minimal' });
  });
});

describe('marketplace download --out makes a missing folder, as build --out does', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s), { autoApprove: true });

  it('a missing (nested) --out folder is created; a failed download leaves no folder behind', async () => {
    const name = uniqueName('dl_out');
    const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_SIGNING_KEY: undefined });
    const dir = await tempDir();
    await writeSources(dir, { name, version: '1.0.0' });
    const dev = { ...env, PLEXICHAT_TOKEN: srv.developer };
    for (const args of [
      ['build', '--no-sign'],
      ['marketplace', 'submit'],
      ['marketplace', 'publish'],
    ]) {
      const r = await runMain(args, { cwd: dir, env: dev });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const root = await tempDir();
    const r = await runMain(['marketplace', 'download', `${name}@1.0.0`, '--out', 'new/deeper'], { cwd: root, env });
    expect(r.exitCode, r.stderr).toBe(0);
    // The archive and the SBOM its build made (uploaded with it, verified on download).
    expect((await fs.readdir(path.join(root, 'new', 'deeper'))).sort()).toEqual([`${name}-1.0.0.cdx.json`, `${name}-1.0.0.zip`]);
    const missing = await runMain(['marketplace', 'download', `${name}@9.9.9`, '--out', 'never'], { cwd: root, env });
    expect(missing.exitCode).not.toBe(0);
    expect(hasStackTrace(missing.stderr)).toBe(false);
    await expect(fs.stat(path.join(root, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('test --coverage chooses the interpreter that has pytest-cov', () => {
  it('skips a python3 first on PATH whose pytest-cov cannot be imported; a pinned one gets a hint naming the other', async (ctx) => {
    requires(ctx, 'pytest-cov');
    // A python3 that has pytest but not pytest-cov: the real one with pytest_cov hidden from every finder.
    const hide = [
      'import sys',
      'class _Hide:',
      '    def find_spec(self, name, path=None, target=None):',
      '        if name.split(".")[0] == "pytest_cov":',
      '            raise ModuleNotFoundError("No module named %r" % name)',
      '        return None',
      'sys.meta_path.insert(0, _Hide())',
      '',
    ].join('\n');
    const root = await tempDir({ block: { 'sitecustomize.py': hide } });
    const bin = path.join(root, 'bin');
    await fs.mkdir(bin);
    // An interpreter with pytest and pytest-cov (requires() found one), by its real path.
    const which = (await execa('sh', ['-c', 'which -a python3 python; echo /usr/bin/python3'])).stdout.split('\n').filter(Boolean);
    let real = '';
    for (const p of which) {
      if ((await execa(p, ['-c', 'import pytest, pytest_cov'], { reject: false })).exitCode === 0) {
        real = (await execa(p, ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
        break;
      }
    }
    expect(real).not.toBe('');
    const stub = path.join(bin, 'python3');
    await fs.writeFile(stub, `#!/bin/sh\nPYTHONPATH=${path.join(root, 'block')} exec ${real} "$@"\n`, { mode: 0o755 });
    const proj = path.join(root, 'p');
    expect((await runMain(['init', proj, '--name', 'cov_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    const env = { PATH: `${bin}:${path.dirname(real)}:/usr/bin:/bin`, PLEXICHAT_PYTHON: undefined, VIRTUAL_ENV: undefined };
    const r = await runMain(['-v', 'test', '--coverage'], { cwd: proj, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`debug: python: ${real} `);
    const pinned = await runMain(['test', '--coverage', '--python', stub], { cwd: proj, env });
    expect(pinned.exitCode).toBe(1);
    expect(pinned.stderr).toContain(`error: --coverage needs pytest-cov, which is not installed for ${stub}`);
    expect(pinned.stderr).toContain(`hint: pytest-cov is installed for ${real}: run with --python ${real}, or install it for this one`);
  });
});
