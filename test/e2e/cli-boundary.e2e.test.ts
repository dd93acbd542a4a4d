/**
 * The boundary's own behaviour: --json for help, version and a command group
 * without its subcommand; `help <unknown>`; the plugin root found upward
 * from a subfolder; a deleted working directory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

describe('--json is always one JSON document', () => {
  it('--json --version, --json --help and --json <command> --help', async () => {
    const v = await runMain(['--json', '--version']);
    expect(v.exitCode).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ schemaVersion: 1, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    for (const args of [
      ['--json', '--help'],
      ['--json', 'build', '--help'],
      ['--json', 'help', 'build'],
      ['--json', 'marketplace', 'submit', '--help'],
    ]) {
      const r = await runMain(args);
      expect(r.exitCode, args.join(' ')).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.schemaVersion).toBe(1);
      expect(doc.help).toMatch(/^Usage: plexichat-plugin/);
      expect(Array.isArray(doc.options)).toBe(true);
    }
    const root = JSON.parse((await runMain(['--json', '--help'])).stdout);
    expect(root.subcommands.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['init', 'validate', 'build', 'marketplace']));
  });

  it('--json marketplace (no subcommand) is an error document, exit 2, and nothing else on stdout', async () => {
    const r = await runMain(['--json', 'marketplace']);
    expect(r.exitCode).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.error).toMatchObject({ code: 'MISSING_SUBCOMMAND', exitCode: 2 });
    expect(doc.error.subcommands.map((c: { name: string }) => c.name)).toContain('submit');
    expect(r.stderr).not.toMatch(/^Usage:/m);
  });
});

describe('help', () => {
  it('help <unknown> is a usage error with a suggestion, at every level', async () => {
    const a = await runMain(['help', 'buidl']);
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/unknown command 'buidl' \(did you mean 'build'\?\)/);
    const b = await runMain(['help', 'marketplace', 'sumbit']);
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/unknown command 'sumbit' \(did you mean 'submit'\?\)/);
    const ok = await runMain(['help', 'build']);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/Usage: plexichat-plugin build/);
  });
});

describe('the plugin root', () => {
  it('is found upward from a subfolder, and the command says which root it used', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'plug in');
    expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    const sub = path.join(dir, 'src');
    const r = await runMain(['--json', 'build', '--dry-run'], { cwd: sub });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`using the plugin at ${dir}`);
    expect(JSON.parse(r.stdout).files).toBeGreaterThan(0);
    // -C into a subfolder works the same; --quiet drops the note.
    const q = await runMain(['--quiet', '-C', path.join(dir, 'docs'), 'validate']);
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.stderr).not.toMatch(/using the plugin/);
    // Outside any plugin the command says what is missing, as before.
    const none = await runMain(['validate'], { cwd: root });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/config\/plugin\.yaml not found/);
  });

  it('init in a plugin subfolder creates the plugin there (init never walks up)', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'p');
    expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    const inner = path.join(dir, 'docs', 'nested');
    const r = await runMain(['init', inner, '--name', 'inner_plugin', '--category', 'utility', '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    await fs.access(path.join(inner, 'config', 'plugin.yaml'));
  });
});

describe('a deleted working directory', () => {
  it('does not block -C <absolute dir> nor verify <absolute archive>; a project command there is a usage error', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'p');
    expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    expect((await runMain(['build'], { cwd: dir })).exitCode).toBe(0);
    const gone = path.join(root, 'gone');
    await fs.mkdir(gone);
    const archive = path.join(dir, 'dist', 'demo_plugin-0.1.0.zip');
    // A shell whose directory is removed under it, then runs the CLI from there.
    const run = (args: string) =>
      execa('sh', ['-c', `cd "${gone}" && rmdir "${gone}" && exec "${process.execPath}" "${BIN}" ${args}`], {
        reject: false,
        env: { CI: '1', NO_COLOR: '1', PLEXICHAT_CACHE_DIR: 'off' },
      });
    const c = await run(`-C "${dir}" validate`);
    expect(c.exitCode, c.stderr).toBe(0);
    await fs.mkdir(gone);
    const v = await run(`verify "${archive}"`);
    expect(v.exitCode, v.stderr).toBe(0);
    await fs.mkdir(gone);
    const rel = await run('validate');
    expect(rel.exitCode).toBe(2);
    expect(rel.stderr).toMatch(/the current directory no longer exists/);
    expect(hasStackTrace(rel.stderr)).toBe(false);
  });
});
