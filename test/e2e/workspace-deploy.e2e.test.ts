/**
 * deploy render, version and --target over a workspace: a temp git
 * repository with three plugins (two import a shared library). deploy
 * render --all writes each plugin's files in its own folder, --check finds
 * drift in one, --affected renders only the changed plugins; version over
 * all or some plugins, and --git as one release (one commit, a tag per
 * plugin); a named target's deploy: settings under the flags; the
 * completion values of --plugin and --target.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { offline } from '../helpers/scaffold.js';

const PLUGINS = ['alpha_one', 'beta_two', 'gamma_three'];
const IMPORTERS = ['alpha_one', 'beta_two'];
const TARGETS = [
  'targets:',
  '  staging:',
  '    url: https://staging.marketplace.example',
  '    token-env: STAGING_TOKEN',
  '    deploy:',
  '      env: staging',
  '      registry: registry.example.com/team',
  '      helm: true',
  '      platform-namespace: chat-staging',
  '  prod:',
  '    url: https://marketplace.example',
  '    deploy:',
  '      env: [production]',
  '',
].join('\n');
const WORKSPACE = `plugins:\n  - plugins/*\nlibraries:\n  - libs/*\n${TARGETS}`;
const env: Record<string, string | undefined> = {
  ...offline,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
  SOURCE_DATE_EPOCH: '1767225600',
};

let template: string;

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd: dir, env })).stdout;
}

async function commitAll(dir: string, message: string): Promise<void> {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
}

beforeAll(async () => {
  // No config.json of the machine's user: the targets are the workspace file's alone.
  env.XDG_CONFIG_HOME = await tempDir({}, 'pxp-wsd-cfg-');
  template = await tempDir({}, 'pxp-wsd-');
  for (const name of PLUGINS) {
    const r = await runMain(['init', `plugins/${name}`, '--name', name, '--category', 'utility', '--yes'], { cwd: template, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
  }
  await fs.mkdir(path.join(template, 'libs', 'plexi_common'), { recursive: true });
  await fs.writeFile(path.join(template, 'libs', 'plexi_common', '__init__.py'), 'def shout(text):\n    return text.upper()\n');
  for (const name of IMPORTERS) {
    const file = path.join(template, 'plugins', name, 'src', 'plugin.py');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^import logging$/m, 'import logging\n\nfrom plexi_common import shout'));
  }
  await fs.writeFile(path.join(template, 'plexichat-workspace.yaml'), WORKSPACE);
  await git(template, 'init', '-q');
  await commitAll(template, 'three plugins and a library');
}, 120_000);

/** A fresh copy of the repository. */
async function repo(): Promise<string> {
  const dir = await tempDir({}, 'pxp-wsd-');
  await fs.cp(template, dir, { recursive: true });
  return dir;
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

type Run = { name: string; exitCode: number; summary: string; error?: { code: string }; result?: Record<string, unknown> };
type Doc = { command: string; ok: boolean; exitCode: number; plugins: Run[] };
const names = (d: Doc) => d.plugins.map((p) => p.name);
const json = async (dir: string, args: string[], e: Record<string, string | undefined> = env) => {
  const r = await runMain(['--json', ...args], { cwd: dir, env: e });
  return { ...r, doc: JSON.parse(r.stdout || '{}') as Doc };
};
const manifestVersion = async (dir: string, name: string) =>
  /version: "([^"]+)"/.exec(await fs.readFile(path.join(dir, 'plugins', name, 'config', 'plugin.yaml'), 'utf8'))?.[1];

describe('deploy render over a workspace', () => {
  it('--all writes each plugin its own files in its own folder; grouped output and one summary', async () => {
    const dir = await repo();
    const r = await runMain(['deploy', 'render', '--all'], { cwd: path.join(dir, 'plugins'), env });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const name of PLUGINS) {
      const kebab = name.replace(/_/g, '-');
      expect(await exists(path.join(dir, 'plugins', name, 'Dockerfile'))).toBe(true);
      const k8s = await fs.readFile(path.join(dir, 'plugins', name, 'k8s', 'staging-deployment.yaml'), 'utf8');
      expect(k8s).toContain(`image: plexichat/${kebab}:0.1.0`);
      expect(r.stdout).toContain(`── ${name} (plugins/${name}) ──`);
    }
    expect(await exists(path.join(dir, 'Dockerfile'))).toBe(false);
    expect(r.stdout).toMatch(/deploy render: 3 of 3 plugins passed/);
    // Output grouped: each heading before the next plugin's files.
    const at = PLUGINS.map((n) => r.stdout.indexOf(`── ${n}`));
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  }, 120_000);

  it('run from the workspace root with no flag renders every plugin; --json is one document', async () => {
    const dir = await repo();
    const r = await json(dir, ['deploy', 'render', '--jobs', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.doc).toMatchObject({ command: 'deploy render', ok: true, exitCode: 0 });
    expect(names(r.doc)).toEqual(PLUGINS);
    for (const p of r.doc.plugins) expect(p.result).toMatchObject({ plugin: { name: p.name }, check: false, environments: ['staging', 'production'] });
  }, 120_000);

  it('--out is a folder inside each plugin', async () => {
    const dir = await repo();
    const r = await runMain(['deploy', 'render', '--plugin', 'alpha_one', '--plugin', 'plugins/gamma_three', '--out', 'deploy'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await exists(path.join(dir, 'plugins', 'alpha_one', 'deploy', 'Dockerfile'))).toBe(true);
    expect(await exists(path.join(dir, 'plugins', 'gamma_three', 'deploy', 'k8s', 'production-deployment.yaml'))).toBe(true);
    expect(await exists(path.join(dir, 'plugins', 'beta_two', 'deploy'))).toBe(false);
    expect(await exists(path.join(dir, 'deploy'))).toBe(false);
  }, 120_000);

  it('--check reports drift per plugin: stale in one, missing in another, exit 1 while the rest pass', async () => {
    const dir = await repo();
    expect((await runMain(['deploy', 'render', '--all'], { cwd: dir, env })).exitCode).toBe(0);
    await commitAll(dir, 'deploy files');
    const clean = await runMain(['deploy', 'render', '--check', '--all'], { cwd: dir, env });
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/up to date/);
    // A manifest change makes beta's files stale; gamma loses a file.
    const manifest = path.join(dir, 'plugins', 'beta_two', 'config', 'plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('version: "0.1.0"', 'version: "0.2.0"'));
    await fs.rm(path.join(dir, 'plugins', 'gamma_three', 'k8s', 'staging-deployment.yaml'));
    const r = await json(dir, ['deploy', 'render', '--check']);
    expect(r.exitCode).toBe(1);
    expect(r.doc.plugins.map((p) => p.exitCode)).toEqual([0, 1, 1]);
    const files = (p: Run) => (p.result!.files as { path: string; status: string }[]).filter((f) => f.status !== 'up-to-date');
    expect(files(r.doc.plugins[1])).toEqual(expect.arrayContaining([{ path: 'k8s/staging-deployment.yaml', status: 'stale', onDisk: 'generated' }]));
    expect(files(r.doc.plugins[2])).toEqual([{ path: 'k8s/staging-deployment.yaml', status: 'missing' }]);
    const text = await runMain(['deploy', 'render', '--check'], { cwd: dir, env });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/✖ beta_two\s.*drift/);
    expect(text.stdout).toMatch(/✖ gamma_three\s.*drift: 1 of/);
    expect(text.stdout).toMatch(/deploy render: 1 of 3 plugins passed, 2 failed/);
    // Nothing was written by --check.
    expect(await exists(path.join(dir, 'plugins', 'gamma_three', 'k8s', 'staging-deployment.yaml'))).toBe(false);
  }, 180_000);

  it('--affected renders only the changed plugin; a library change renders its two importers; no change renders nothing', async () => {
    const dir = await repo();
    await fs.appendFile(path.join(dir, 'plugins', 'gamma_three', 'src', 'plugin.py'), '# changed\n');
    await commitAll(dir, 'change gamma');
    const one = await json(dir, ['deploy', 'render', '--affected', '--base', 'HEAD~1']);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(names(one.doc)).toEqual(['gamma_three']);
    expect(await exists(path.join(dir, 'plugins', 'gamma_three', 'Dockerfile'))).toBe(true);
    expect(await exists(path.join(dir, 'plugins', 'alpha_one', 'Dockerfile'))).toBe(false);
    await commitAll(dir, 'gamma deploy files');
    await fs.appendFile(path.join(dir, 'libs', 'plexi_common', '__init__.py'), '# changed\n');
    const lib = await json(dir, ['deploy', 'render', '--affected', '--base', 'HEAD']);
    expect(names(lib.doc)).toEqual(IMPORTERS);
    await commitAll(dir, 'library and deploy files');
    const none = await runMain(['deploy', 'render', '--affected', '--base', 'HEAD'], { cwd: dir, env });
    expect(none.exitCode).toBe(0);
    expect(none.stdout).toMatch(/no plugin affected since HEAD: nothing to run/);
  }, 180_000);

  it('a plugin that cannot render fails alone (its error in the document); the others still render', async () => {
    const dir = await repo();
    await fs.writeFile(path.join(dir, 'plugins', 'alpha_one', 'Dockerfile'), 'FROM scratch\n');
    const manifest = path.join(dir, 'plugins', 'gamma_three', 'config', 'plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace(/version: "[^"]+"/, 'version: "nope"'));
    const r = await json(dir, ['deploy', 'render', '--all']);
    expect(r.exitCode).toBe(1);
    expect(r.doc.plugins.map((p) => p.error?.code)).toEqual(['HAND_EDITED', undefined, 'VALIDATION_FAILED']);
    expect(await fs.readFile(path.join(dir, 'plugins', 'alpha_one', 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
    expect(await exists(path.join(dir, 'plugins', 'beta_two', 'Dockerfile'))).toBe(true);
  }, 120_000);

  it('refuses flags of one plugin and contradicting selections (exit 2, nothing written)', async () => {
    const dir = await repo();
    for (const args of [
      ['deploy', 'render', '--all', '--image', 'registry.example.com/team/x'],
      ['deploy', 'render', '--all', '--plugin', 'alpha_one'],
      ['deploy', 'render', '--base', 'HEAD'],
      ['deploy', 'render', '--plugin', 'delta'],
      ['deploy', 'render', '--all', '--env', 'qa'],
      ['deploy', 'render', '--check', '--force'],
      ['deploy', 'render', '--all', '--base-image', 'python:latest'],
      ['deploy', 'render', '--all', '--platform-namespace', 'Not_A_Namespace'],
    ]) {
      const r = await runMain(args, { cwd: dir, env });
      expect(r.exitCode, args.join(' ')).toBe(2);
      // One error for the run, not one per plugin, and no plugin ran.
      expect(r.stderr.trim().split('\n')[0], args.join(' ')).toMatch(/^error: /);
      expect(r.stderr.match(/^error: /gm), args.join(' ')).toHaveLength(1);
      expect(r.stdout + r.stderr).not.toMatch(/── alpha_one/);
    }
    const image = await runMain(['deploy', 'render', '--all', '--image', 'r.example.com/x'], { cwd: dir, env });
    expect(image.stderr).toMatch(/deploy\.registry/);
    expect(await git(dir, 'status', '--porcelain')).toBe('');
  }, 60_000);
});

describe('version over a workspace', () => {
  it('--all bumps every plugin; --plugin only the ones named', async () => {
    const dir = await repo();
    const all = await json(dir, ['version', 'patch', '--all', '--note', 'Fixed the counter']);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.doc.plugins.map((p) => p.result)).toEqual(PLUGINS.map(() => expect.objectContaining({ from: '0.1.0', to: '0.1.1', dryRun: false })));
    for (const n of PLUGINS) {
      expect(await manifestVersion(dir, n)).toBe('0.1.1');
      expect(await fs.readFile(path.join(dir, 'plugins', n, 'CHANGELOG.md'), 'utf8')).toMatch(/## \[0\.1\.1\] - 2026-01-01\n\n- Fixed the counter/);
    }
    const some = await runMain(['version', 'minor', '--plugin', 'beta_two', '--plugin', 'gamma_three'], { cwd: dir, env });
    expect(some.exitCode, some.stderr).toBe(0);
    expect(some.stdout).toMatch(/version: 2 of 2 plugins passed/);
    expect([await manifestVersion(dir, 'alpha_one'), await manifestVersion(dir, 'beta_two'), await manifestVersion(dir, 'gamma_three')]).toEqual([
      '0.1.1',
      '0.2.0',
      '0.2.0',
    ]);
  }, 60_000);

  it('run at the root bumps every plugin; --dry-run writes nothing; --affected bumps the changed one', async () => {
    const dir = await repo();
    const dry = await json(dir, ['version', 'major', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.doc.plugins.map((p) => p.result!.to)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    await fs.appendFile(path.join(dir, 'plugins', 'beta_two', 'src', 'plugin.py'), '# changed\n');
    const aff = await json(dir, ['version', '1.4.0', '--affected', '--base', 'HEAD']);
    expect(names(aff.doc)).toEqual(['beta_two']);
    expect(await manifestVersion(dir, 'beta_two')).toBe('1.4.0');
    expect(await manifestVersion(dir, 'alpha_one')).toBe('0.1.0');
  }, 60_000);

  it('--git: one commit for every bumped plugin and one tag <name>@<version> per plugin', async () => {
    const dir = await repo();
    const r = await json(dir, ['version', 'minor', '--all', '--git', '--note', 'Weekly report']);
    expect(r.exitCode, r.stderr).toBe(0);
    const head = await git(dir, 'rev-parse', 'HEAD');
    expect(r.doc.plugins.map((p) => p.result!.git)).toEqual(PLUGINS.map((n) => ({ commit: head, tag: `${n}@0.2.0` })));
    expect(await git(dir, 'log', '-1', '--format=%s')).toBe('release: alpha_one 0.2.0, beta_two 0.2.0, gamma_three 0.2.0');
    expect((await git(dir, 'show', '--name-only', '--format=', 'HEAD')).split('\n').sort()).toEqual(
      PLUGINS.flatMap((n) => [`plugins/${n}/CHANGELOG.md`, `plugins/${n}/config/plugin.yaml`]).sort(),
    );
    expect((await git(dir, 'tag', '--points-at', 'HEAD')).split('\n').sort()).toEqual(PLUGINS.map((n) => `${n}@0.2.0`));
    expect(await git(dir, 'status', '--porcelain')).toBe('');
  }, 60_000);

  it('--git refuses before writing anything: one plugin not newer, a tag taken, a dirty tree', async () => {
    const dir = await repo();
    await fs.writeFile(
      path.join(dir, 'plugins', 'gamma_three', 'config', 'plugin.yaml'),
      (await fs.readFile(path.join(dir, 'plugins', 'gamma_three', 'config', 'plugin.yaml'), 'utf8')).replace('version: "0.1.0"', 'version: "0.5.0"'),
    );
    await commitAll(dir, 'gamma is ahead');
    const notNewer = await runMain(['version', '0.3.0', '--all', '--git'], { cwd: dir, env });
    expect(notNewer.exitCode).toBe(1);
    expect(notNewer.stderr).toMatch(/error: version --git: gamma_three: 0\.3\.0 is not greater than the current version 0\.5\.0; nothing was written/);
    await git(dir, 'tag', 'beta_two@0.1.1');
    const tagged = await json(dir, ['version', 'patch', '--plugin', 'alpha_one', '--plugin', 'beta_two', '--git']);
    expect(tagged.exitCode).toBe(1);
    expect((tagged.doc as unknown as { error: { code: string } }).error.code).toBe('TAG_EXISTS');
    await fs.appendFile(path.join(dir, 'plugins', 'alpha_one', 'src', 'plugin.py'), '# edit\n');
    const dirty = await json(dir, ['version', 'patch', '--plugin', 'gamma_three', '--git']);
    expect((dirty.doc as unknown as { error: { code: string } }).error.code).toBe('GIT_DIRTY');
    await git(dir, 'checkout', '--', '.');
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    expect(await git(dir, 'log', '-1', '--format=%s')).toBe('gamma is ahead');
  }, 60_000);

  it('--git whose commit fails (a pre-commit hook refuses) puts every plugin back: exit 1, no commit, no tag', async () => {
    const dir = await repo();
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    await fs.writeFile(hook, '#!/bin/sh\necho "hook says no" >&2\nexit 1\n', { mode: 0o755 });
    const head = await git(dir, 'rev-parse', 'HEAD');
    const r = await runMain(['version', 'minor', '--all', '--git'], { cwd: dir, env });
    expect(r.exitCode, r.stdout).toBe(1);
    expect(r.stderr).toMatch(/^error: /m);
    expect(await git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(await git(dir, 'tag', '--list')).toBe('');
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    for (const name of PLUGINS) expect(await manifestVersion(dir, name)).toBe('0.1.0');
  }, 60_000);

  it('a bad bump or --pre is one usage error before any plugin runs (exit 2, nothing written)', async () => {
    const dir = await repo();
    for (const args of [
      ['version', 'sideways', '--all'],
      ['version', 'minor', '--pre', '123', '--all'],
      ['version', '1.2', '--plugin', 'alpha_one', '--git'],
      ['version', 'patch', '--all', '--plugin', 'beta_two'],
    ]) {
      const r = await runMain(args, { cwd: dir, env });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.match(/^error: /gm), args.join(' ')).toHaveLength(1);
      expect(r.stdout + r.stderr).not.toMatch(/── alpha_one/);
    }
    expect(await git(dir, 'status', '--porcelain')).toBe('');
  }, 60_000);

  it('without --git a plugin that refuses fails alone; the others are bumped', async () => {
    const dir = await repo();
    await fs.writeFile(
      path.join(dir, 'plugins', 'alpha_one', 'config', 'plugin.yaml'),
      (await fs.readFile(path.join(dir, 'plugins', 'alpha_one', 'config', 'plugin.yaml'), 'utf8')).replace('version: "0.1.0"', 'version: "0.9.0"'),
    );
    const r = await json(dir, ['version', '0.2.0', '--all']);
    expect(r.exitCode).toBe(1);
    expect(r.doc.plugins.map((p) => p.error?.code)).toEqual(['VERSION_NOT_NEWER', undefined, undefined]);
    expect([await manifestVersion(dir, 'alpha_one'), await manifestVersion(dir, 'beta_two')]).toEqual(['0.9.0', '0.2.0']);
  }, 60_000);
});

describe('deploy render --target', () => {
  it("renders with the target's deploy settings, in a plugin's folder and over the workspace", async () => {
    const dir = await repo();
    const one = await json(path.join(dir, 'plugins', 'alpha_one'), ['deploy', 'render', '--target', 'staging']);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.doc).toMatchObject({ image: 'registry.example.com/team/alpha-one:0.1.0', environments: ['staging'], helm: true });
    const policy = await fs.readFile(path.join(dir, 'plugins', 'alpha_one', 'k8s', 'staging-deployment.yaml'), 'utf8');
    expect(policy).toContain('chat-staging');
    expect(await exists(path.join(dir, 'plugins', 'alpha_one', 'k8s', 'production-deployment.yaml'))).toBe(false);
    const all = await json(dir, ['deploy', 'render', '--all', '--target', 'prod']);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.doc.plugins.map((p) => p.result!.environments)).toEqual([['production'], ['production'], ['production']]);
    expect(all.doc.plugins.map((p) => p.result!.helm)).toEqual([false, false, false]);
  }, 120_000);

  it('flags given on the command line win over the target', async () => {
    const dir = await repo();
    const cwd = path.join(dir, 'plugins', 'beta_two');
    const r = await json(cwd, [
      'deploy',
      'render',
      '--target',
      'staging',
      '--env',
      'production',
      '--image',
      'other.example.com/x/beta',
      '--platform-namespace',
      'chat',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.doc).toMatchObject({ image: 'other.example.com/x/beta:0.1.0', environments: ['production'], helm: true });
    const k8s = await fs.readFile(path.join(cwd, 'k8s', 'production-deployment.yaml'), 'utf8');
    expect(k8s).not.toContain('chat-staging');
  }, 60_000);

  it("a target in the user's config.json carries deploy settings too, and wins over the workspace's", async () => {
    const dir = await repo();
    const xdg = await tempDir({}, 'pxp-wsd-cfg-');
    await fs.mkdir(path.join(xdg, 'plexichat-plugin'), { recursive: true });
    await fs.writeFile(
      path.join(xdg, 'plexichat-plugin', 'config.json'),
      JSON.stringify({ targets: { staging: { url: 'https://s.example', deploy: { registry: 'mine.example.com/me', env: ['production'] } } } }),
    );
    const r = await json(path.join(dir, 'plugins', 'gamma_three'), ['deploy', 'render', '--target', 'staging'], { ...env, XDG_CONFIG_HOME: xdg });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.doc).toMatchObject({ image: 'mine.example.com/me/gamma-three:0.1.0', environments: ['production'], helm: false });
  }, 60_000);

  it('an unknown target is a usage error listing the known ones; nothing is written', async () => {
    const dir = await repo();
    for (const cwd of [dir, path.join(dir, 'plugins', 'alpha_one')]) {
      const r = await runMain(['deploy', 'render', '--target', 'stagin'], { cwd, env });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/--target stagin: no such marketplace target \(did you mean 'staging'\?\)/);
      expect(r.stderr).toMatch(/the targets are: prod, staging/);
    }
    const outside = await tempDir({}, 'pxp-wsd-');
    const none = await json(outside, ['deploy', 'render', '--target', 'staging']);
    expect(none.exitCode).toBe(2);
    expect((none.doc as unknown as { error: { code: string } }).error.code).toBe('UNKNOWN_TARGET');
    expect(await git(dir, 'status', '--porcelain')).toBe('');
  }, 60_000);

  it('a token in the deploy block is refused in the workspace file and in config.json; a bad setting is named', async () => {
    const dir = await repo();
    const file = path.join(dir, 'plexichat-workspace.yaml');
    await fs.writeFile(file, WORKSPACE.replace('      helm: true\n', '      helm: true\n      token: abc123\n'));
    const r = await runMain(['deploy', 'render', '--target', 'staging'], { cwd: path.join(dir, 'plugins', 'alpha_one'), env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/plexichat-workspace\.yaml:\d+:\d+: targets\.staging: a token in plexichat-workspace\.yaml is refused/);
    expect(r.stderr).not.toContain('abc123');
    await fs.writeFile(file, WORKSPACE.replace('      env: staging\n', '      env: qa\n'));
    const bad = await json(dir, ['deploy', 'render', '--target', 'staging']);
    expect(bad.exitCode).toBe(2);
    expect((bad.doc as unknown as { error: { code: string; message: string } }).error).toMatchObject({ code: 'WORKSPACE_INVALID' });
    const xdg = await tempDir({}, 'pxp-wsd-cfg-');
    await fs.mkdir(path.join(xdg, 'plexichat-plugin'), { recursive: true });
    await fs.writeFile(
      path.join(xdg, 'plexichat-plugin', 'config.json'),
      JSON.stringify({ targets: { qa: { url: 'https://q.example', deploy: { password: 'x' } } } }),
    );
    const cfg = await json(await tempDir({}, 'pxp-wsd-'), ['deploy', 'render', '--target', 'qa'], { ...env, XDG_CONFIG_HOME: xdg });
    expect(cfg.exitCode).toBe(2);
    expect((cfg.doc as unknown as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'CONFIG_CORRUPT',
      message: expect.stringMatching(/targets\.qa: a token in .*config\.json is refused/),
    });
  }, 60_000);

  it('a registry that makes no image name is refused with the setting named', async () => {
    const dir = await repo();
    await fs.writeFile(path.join(dir, 'plexichat-workspace.yaml'), WORKSPACE.replace('registry.example.com/team', 'Registry.Example/UPPER'));
    const r = await runMain(['deploy', 'render', '--target', 'staging'], { cwd: path.join(dir, 'plugins', 'alpha_one'), env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/the target's deploy\.registry Registry\.Example\/UPPER/);
    expect(await exists(path.join(dir, 'plugins', 'alpha_one', 'Dockerfile'))).toBe(false);
  }, 60_000);
});

describe('completion values', () => {
  it('--values lists the plugin names and the target names known here (none outside a workspace)', async () => {
    const dir = await repo();
    const xdg = await tempDir({}, 'pxp-wsd-cfg-');
    await fs.mkdir(path.join(xdg, 'plexichat-plugin'), { recursive: true });
    await fs.writeFile(path.join(xdg, 'plexichat-plugin', 'config.json'), JSON.stringify({ targets: { dev: { url: 'http://127.0.0.1:9' } } }));
    const e = { ...env, XDG_CONFIG_HOME: xdg };
    const plugins = await runMain(['completion', 'bash', '--values', 'plugins'], { cwd: path.join(dir, 'plugins', 'beta_two'), env: e });
    expect(plugins.stdout.split('\n').filter(Boolean)).toEqual(PLUGINS);
    const targets = await runMain(['completion', 'fish', '--values', 'targets'], { cwd: dir, env: e });
    expect(targets.stdout.split('\n').filter(Boolean)).toEqual(['dev', 'prod', 'staging']);
    const outside = await tempDir({}, 'pxp-wsd-');
    expect((await runMain(['completion', 'bash', '--values', 'plugins'], { cwd: outside, env: e })).stdout).toBe('');
    expect((await runMain(['completion', 'bash', '--values', 'targets'], { cwd: outside, env: e })).stdout).toBe('dev\n');
    const bad = await runMain(['completion', 'bash', '--values', 'files'], { cwd: dir, env: e });
    expect(bad.exitCode).toBe(2);
  }, 60_000);

  it('bash completes --plugin and --target with them, on every command that takes the flag', async () => {
    const dir = await repo();
    const bin = await tempDir({}, 'pxp-wsd-bin-');
    const cli = path.resolve('bin/plexichat-plugin.js');
    await fs.writeFile(path.join(bin, 'plexichat-plugin'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 });
    const script = path.join(bin, 'c.bash');
    await fs.writeFile(script, (await runMain(['completion', 'bash'])).stdout);
    const complete = async (line: string) => {
      const r = await execa(
        'bash',
        [
          '-c',
          `source "${script}"; read -ra COMP_WORDS <<< "$1"; [ "\${1: -1}" = " " ] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _plexichat_plugin; printf '%s\\n' "\${COMPREPLY[@]}"`,
          '_',
          line,
        ],
        { cwd: dir, env: { ...env, PATH: `${bin}:${process.env.PATH}` } },
      );
      return r.stdout.split('\n').filter(Boolean);
    };
    for (const cmd of ['validate', 'test', 'build', 'check', 'deploy render', 'version patch']) {
      expect(await complete(`plexichat-plugin ${cmd} --plugin `), cmd).toEqual(PLUGINS);
    }
    expect(await complete('plexichat-plugin deploy render --plugin be')).toEqual(['beta_two']);
    for (const cmd of ['deploy render', 'marketplace submit', 'marketplace whoami']) {
      expect(await complete(`plexichat-plugin ${cmd} --target `), cmd).toEqual(['prod', 'staging']);
    }
  }, 120_000);

  it('fish completes --plugin and --target with them too', async (ctx) => {
    requires(ctx, 'fish');
    const dir = await repo();
    const bin = await tempDir({}, 'pxp-wsd-bin-');
    const cli = path.resolve('bin/plexichat-plugin.js');
    await fs.writeFile(path.join(bin, 'plexichat-plugin'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 });
    const script = path.join(bin, 'c.fish');
    await fs.writeFile(script, (await runMain(['completion', 'fish'])).stdout);
    const words = async (line: string) => {
      const r = await execa('fish', ['-c', `source ${script}; complete -C "${line}"`], { cwd: dir, env: { ...env, PATH: `${bin}:${process.env.PATH}` } });
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    };
    expect(await words('plexichat-plugin check --plugin ')).toEqual(PLUGINS);
    expect(await words('plexichat-plugin deploy render --target ')).toEqual(['prod', 'staging']);
  }, 60_000);
});
