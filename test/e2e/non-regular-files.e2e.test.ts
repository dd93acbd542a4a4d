/**
 * Project files that are not regular files (FIFOs here; devices and sockets
 * take the same path): refused before a byte is read, one line, exit 1, in
 * every command that reads them. Spawned with a timeout, so a regression
 * that hangs fails instead of blocking the suite.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, hasStackTrace, runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

async function project(): Promise<string> {
  const dir = path.join(await tempDir(), 'p');
  expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
  return dir;
}

async function fifo(file: string): Promise<void> {
  await fs.rm(file, { force: true });
  await execa('mkfifo', [file]);
}

describe('non-regular project files', () => {
  it('config/plugin.yaml as a FIFO: validate, build, test, prepare each refuse it at once', async () => {
    const dir = await project();
    await fifo(path.join(dir, 'config', 'plugin.yaml'));
    for (const args of [['validate'], ['build'], ['test'], ['marketplace', 'prepare'], ['build', '--dry-run']]) {
      const r = await runCli(args, { cwd: dir, timeout: 20_000 });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/config\/plugin\.yaml is a named pipe \(FIFO\), not a regular file/);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });

  it('.pluginignore and docs/README.md as FIFOs are refused; a FIFO in src/ is skipped with a warning', async () => {
    const dir = await project();
    await fifo(path.join(dir, '.pluginignore'));
    const ig = await runCli(['build'], { cwd: dir, timeout: 20_000 });
    expect(ig.exitCode).toBe(1);
    expect(ig.stderr).toMatch(/\.pluginignore is a named pipe/);
    await fs.rm(path.join(dir, '.pluginignore'));

    await fifo(path.join(dir, 'src', 'pipe.py'));
    const v = await runCli(['validate'], { cwd: dir, timeout: 20_000 });
    expect(v.exitCode, v.stderr).toBe(0);
    const b = await runCli(['build'], { cwd: dir, timeout: 20_000 });
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/skipped src\/pipe\.py: not a regular file/);
    await fs.rm(path.join(dir, 'src', 'pipe.py'));

    await fifo(path.join(dir, 'docs', 'README.md'));
    const p = await runCli(['marketplace', 'prepare'], { cwd: dir, timeout: 20_000 });
    expect(p.exitCode).toBe(1);
    expect(p.stderr).toMatch(/README\.md is a named pipe/);
  });

  it('a device as the manifest (/dev/zero through a symlink) is refused, not read forever', async () => {
    const dir = await project();
    await fs.rm(path.join(dir, 'config', 'plugin.yaml'));
    await fs.symlink('/dev/zero', path.join(dir, 'config', 'plugin.yaml'));
    const r = await runCli(['validate'], { cwd: dir, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is a device, not a regular file/);
  });
});

/**
 * Issue 20, class 10: every file the CLI reads goes through io/read-file.ts.
 * Each flag's file and each project or sidecar file is tried as a FIFO,
 * /dev/zero, a folder and a socket: refused at once (spawned with a
 * timeout, so a hang fails), one line, no stack, the right code and exit.
 */
describe('every file the CLI reads: FIFO, /dev/zero, a folder, a socket', () => {
  let base = '';
  let dir = '';
  let archive = '';
  const specials: Record<string, string> = {};
  let sock: net.Server;
  const env = () => ({ XDG_CONFIG_HOME: path.join(base, 'config'), PLEXICHAT_MARKETPLACE_URL: undefined });

  beforeAll(async () => {
    base = await tempDir();
    dir = await project();
    expect((await runCli(['keys', 'generate'], { cwd: dir, env: env() })).exitCode).toBe(0);
    const b = await runCli(['build', '--sign'], { cwd: dir, env: env() });
    expect(b.exitCode, b.stderr).toBe(0);
    archive = path.join(dir, 'dist', 'demo_plugin-0.1.0.zip');
    specials.fifo = path.join(base, 'a-fifo');
    await execa('mkfifo', [specials.fifo]);
    specials['/dev/zero'] = '/dev/zero';
    specials.folder = path.join(base, 'a-folder');
    await fs.mkdir(specials.folder);
    specials.socket = path.join(base, 'a-socket');
    sock = net.createServer();
    await new Promise<void>((r) => sock.listen(specials.socket, r));
  }, 120_000);
  afterAll(() => new Promise<void>((r) => sock.close(() => r())));

  const KIND: Record<string, RegExp> = {
    fifo: /is a named pipe \(FIFO\), not a regular file/,
    '/dev/zero': /is a device, not a regular file/,
    folder: /is a folder, not a regular file/,
    socket: /is a socket, not a regular file/,
  };

  /** The flags that name a file, each with the code and exit it refuses with. */
  const FLAGS: { name: string; args: (x: string) => string[]; code: string; exit: number }[] = [
    { name: 'verify --signature', args: (x) => ['verify', archive, '--signature', x], code: 'NOT_A_REGULAR_FILE', exit: 1 },
    { name: 'verify --keyring', args: (x) => ['verify', archive, '--keyring', x], code: 'KEY_FILE_UNREADABLE', exit: 2 },
    { name: 'verify --key', args: (x) => ['verify', archive, '--key', x], code: 'KEY_FILE_UNREADABLE', exit: 2 },
    { name: 'build --key', args: (x) => ['build', '--key', x], code: 'KEY_FILE_UNREADABLE', exit: 2 },
    { name: 'validate --against', args: (x) => ['validate', '--against', x], code: 'NOT_A_REGULAR_FILE', exit: 2 },
    { name: 'verify <archive>', args: (x) => ['verify', x], code: 'NOT_A_FILE', exit: 1 },
  ];
  for (const kind of ['fifo', '/dev/zero', 'folder', 'socket']) {
    for (const f of FLAGS) {
      it(`${f.name} ${kind}: ${f.code}, exit ${f.exit}, at once`, async () => {
        const r = await runCli(['--json', ...f.args(specials[kind])], { cwd: dir, env: env(), timeout: 20_000 });
        expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(f.exit);
        const err = JSON.parse(r.stdout).error;
        expect(err.code).toBe(f.code);
        expect(err.message).toMatch(KIND[kind]);
        expect(err.message).not.toMatch(/EISDIR|AGAINST_NOT_FOUND/);
        expect(err.hint).toBeTruthy();
        expect(hasStackTrace(r.stderr)).toBe(false);
      });
    }
  }

  /** A file in the project or beside the archive replaced by something else; `restore` puts the regular one back. */
  async function replaced(rel: string, kind: string): Promise<() => Promise<void>> {
    const file = path.join(dir, rel);
    const saved = await fs.readFile(file);
    await fs.rm(file);
    if (kind === 'fifo') await execa('mkfifo', [file]);
    else if (kind === 'folder') await fs.mkdir(file);
    else await fs.symlink(specials[kind], file);
    return async () => {
      await fs.rm(file, { recursive: true, force: true });
      await fs.writeFile(file, saved);
    };
  }

  const SIDE: { rel: string; args: string[] }[] = [
    { rel: 'dist/demo_plugin-0.1.0.zip.sig', args: ['verify', 'dist/demo_plugin-0.1.0.zip'] },
    { rel: 'dist/demo_plugin-0.1.0.zip.sig', args: ['marketplace', 'prepare'] },
    { rel: 'dist/demo_plugin-0.1.0.zip.sha256', args: ['marketplace', 'prepare'] },
    { rel: 'CHANGELOG.md', args: ['marketplace', 'prepare'] },
    { rel: 'CHANGELOG.md', args: ['version', 'patch', '--note', 'x'] },
    { rel: 'dist/demo_plugin-0.1.0.zip', args: ['marketplace', 'prepare', '--archive', 'dist/demo_plugin-0.1.0.zip'] },
  ];
  for (const kind of ['fifo', '/dev/zero', 'folder', 'socket']) {
    for (const c of SIDE) {
      it(`${c.rel} as ${kind === 'socket' ? 'a link to a socket' : kind}: \`${c.args.join(' ')}\` refuses it at once`, async () => {
        const restore = await replaced(c.rel, kind);
        try {
          const r = await runCli(c.args, { cwd: dir, env: env(), timeout: 20_000 });
          expect(r.exitCode, r.stderr).not.toBe(0);
          expect([1, 2]).toContain(r.exitCode);
          expect(r.stderr).toMatch(
            /(is a named pipe \(FIFO\)|is a device|is a folder|is a socket|is not a regular file|a folder, not an archive|not a regular file, not an archive)/,
          );
          expect(hasStackTrace(r.stderr)).toBe(false);
        } finally {
          await restore();
        }
      });
    }
  }

  it('check: a FIFO CHANGELOG.md or docs/README.md fails that step (with the reason), not the run; a FIFO .plexichat.yaml is refused', async () => {
    const restore = await replaced('CHANGELOG.md', 'fifo');
    try {
      const r = await runCli(['--json', 'check'], { cwd: dir, env: env(), timeout: 120_000 });
      expect(r.exitCode).toBe(1);
      const step = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'changelog');
      expect(step.status).toBe('failed');
      expect(step.findings[0]).toMatchObject({ ruleId: 'changelog/NOT_A_REGULAR_FILE' });
    } finally {
      await restore();
    }
    await execa('mkfifo', [path.join(dir, '.plexichat.yaml')]);
    try {
      const r = await runCli(['check'], { cwd: dir, env: env(), timeout: 20_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^error: \.plexichat\.yaml is a named pipe \(FIFO\), not a regular file$/m);
    } finally {
      await fs.rm(path.join(dir, '.plexichat.yaml'));
    }
  }, 180_000);

  it('credentials.json and config.json as FIFOs: refused at once (exit 4 and 2), never read', async () => {
    const cfg = path.join(base, 'cfg-fifo', 'plexichat-plugin');
    await fs.mkdir(cfg, { recursive: true });
    await execa('mkfifo', [path.join(cfg, 'credentials.json')]);
    const e = { XDG_CONFIG_HOME: path.dirname(cfg), PLEXICHAT_MARKETPLACE_URL: 'http://127.0.0.1:9', PLEXICHAT_TOKEN: undefined };
    const c = await runCli(['--json', 'marketplace', 'whoami'], { cwd: dir, env: e, timeout: 20_000 });
    expect(c.exitCode).toBe(4);
    expect(JSON.parse(c.stdout).error).toMatchObject({ code: 'CREDENTIALS_UNREADABLE' });
    expect(JSON.parse(c.stdout).error.message).toMatch(/credentials\.json is a named pipe \(FIFO\), not a regular file/);
    await fs.rm(path.join(cfg, 'credentials.json'));
    await execa('mkfifo', [path.join(cfg, 'config.json')]);
    const k = await runCli(['--json', 'marketplace', 'whoami'], { cwd: dir, env: { ...e, PLEXICHAT_MARKETPLACE_URL: undefined }, timeout: 20_000 });
    expect(k.exitCode).toBe(2);
    expect(JSON.parse(k.stdout).error).toMatchObject({ code: 'CONFIG_UNREADABLE' });
  });

  it('a .sig that is an endless device is never read past the cap: /dev/zero through a link is refused, and a 100 MB regular .sig is read no further than 64 KiB + 1', async () => {
    const sig = path.join(base, 'huge.sig');
    const h = await fs.open(sig, 'w');
    await h.truncate(100 * 1024 * 1024); // sparse: 100 MB that cost no disk
    await h.close();
    const r = await runCli(['--json', 'verify', archive, '--signature', sig], { cwd: dir, env: env(), timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.findings.find((f: { code: string }) => f.code === 'SIGNATURE_MALFORMED').message).toMatch(/larger than 65536 bytes/);
  });
});

/**
 * SIGINT/SIGTERM always end a command, with 130/143, and leave nothing half
 * written; a command that could block on a special file no longer does.
 */
describe('signals end a command', () => {
  it('SIGTERM during a build of a large tree: exit 143, no archive and no temp file', async () => {
    const dir = await project();
    const data = path.join(dir, 'src', 'data');
    await fs.mkdir(data);
    // Incompressible data, so the build takes long enough to be interrupted.
    const blob = (await import('node:crypto')).randomBytes(2 * 1024 * 1024);
    for (let i = 0; i < 24; i++) await fs.writeFile(path.join(data, `blob${i}.bin`), Buffer.concat([blob, Buffer.from(String(i))]));
    const child = execa(process.execPath, [BIN, 'build', '--no-sign'], { cwd: dir, env: { CI: '1', NO_COLOR: '1' }, reject: false, timeout: 60_000 });
    const dist = path.join(dir, 'dist');
    for (let i = 0; i < 4000; i++) {
      const names = await fs.readdir(dist).catch(() => [] as string[]);
      if (names.some((n) => n.includes('.partial-'))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(143);
    expect(hasStackTrace(String(r.stderr))).toBe(false);
    expect(await fs.readdir(dist).catch(() => [])).toEqual([]);
  });

  it('verify with a FIFO .sig and no writer ends at once by itself (nothing to signal)', async () => {
    const dir = await project();
    expect((await runCli(['build', '--no-sign'], { cwd: dir })).exitCode).toBe(0);
    await execa('mkfifo', [path.join(dir, 'dist', 'demo_plugin-0.1.0.zip.sig')]);
    const r = await runCli(['verify', 'dist/demo_plugin-0.1.0.zip'], { cwd: dir, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/demo_plugin-0\.1\.0\.zip\.sig is a named pipe \(FIFO\), not a regular file/);
  });
});
