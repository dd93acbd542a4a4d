/**
 * A reader that goes away (`plexichat-plugin … | head -1`): the CLI as a real
 * process whose stdout (or stderr) is closed, after the first line or before
 * anything was written. Every such run ends quietly: no stack, no message,
 * exit 141 (docs/exit-codes.md), and nothing half-written on disk.
 *
 * "Closed before anything was written" is a FIFO whose only reader was closed
 * before the CLI started, so the first write fails for certain; "after the
 * first line" is a pipe read up to the first newline and then closed, for the
 * commands that print more than a pipe buffer holds (so a later write fails
 * for certain too).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/program.js';
import { BIN, hasStackTrace } from '../helpers/run-cli.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { offline, useScaffold } from '../helpers/scaffold.js';

const ENV = { ...process.env, NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off', ...offline };
delete (ENV as Record<string, unknown>).FORCE_COLOR;
const PIPE_BUFFER = 64 * 1024;

interface Closed {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What was read before the reader closed (the first line), or ''. */
  first: string;
  stderr: string;
}

/** A FIFO opened for writing whose reader is already gone: every write to it fails with EPIPE. */
async function deadPipe(): Promise<number> {
  const dir = await tempDir({}, 'pxp-fifo-');
  const fifo = path.join(dir, 'out');
  execFileSync('mkfifo', [fifo]);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = fs.openSync(fifo, fs.constants.O_WRONLY);
  fs.closeSync(reader);
  return writer;
}

function finish(child: ReturnType<typeof spawn>, first: () => string, stderr: () => string): Promise<Closed> {
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, first: first(), stderr: stderr() }));
  });
}

/** Run the CLI with stdout (and with `both`, stderr too) closed before it writes anything. */
async function runClosedBefore(args: string[], opts: { cwd?: string; both?: boolean } = {}): Promise<Closed> {
  const out = await deadPipe();
  const err = opts.both ? await deadPipe() : 'pipe';
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: ENV, stdio: ['ignore', out, err] });
  fs.closeSync(out);
  if (typeof err === 'number') fs.closeSync(err);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return finish(
    child,
    () => '',
    () => stderr,
  );
}

/** Run the CLI, read its stdout up to the first line, then close the pipe (`| head -1`). */
function runHeadOne(args: string[], opts: { cwd?: string } = {}): Promise<Closed> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let first = '';
  let stderr = '';
  let total = 0;
  child.stdout.on('data', (c: Buffer) => {
    total += c.length;
    if (first) return;
    buf += c.toString();
    const nl = buf.indexOf('\n');
    if (nl !== -1) {
      first = buf.slice(0, nl);
      child.stdout.destroy();
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return finish(
    child,
    () => `${first}`,
    () => stderr,
  ).then((r) => ({ ...r, read: total }));
}

/** Every command path of the program, from the program itself (`marketplace keys add`, ...). */
function commandPaths(): string[][] {
  const program = createProgram('0.0.0', async () => undefined);
  const out: string[][] = [[]];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...prefix, sub.name()];
      out.push(p);
      walk(sub, p);
    }
  };
  walk(program, []);
  return out;
}

function expectQuiet(r: Closed): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).toBe('');
  expect(hasStackTrace(r.stderr)).toBe(false);
}

describe('a closed output pipe ends the command quietly', () => {
  const paths = commandPaths();

  it('the program has commands to enumerate (and help itself)', () => {
    expect(paths.length).toBeGreaterThan(20);
    expect(paths).toContainEqual(['marketplace', 'whoami']);
  });

  for (const p of paths) {
    const args = [...p, '--help'];
    it(`${['plexichat-plugin', ...args].join(' ')} with stdout closed: exit 141, no word`, async () => {
      const r = await runClosedBefore(args);
      expectQuiet(r);
      expect(r.code).toBe(141);
    });
  }

  it('every --help read up to its first line (`| head -1`): the usage line, then quiet', async () => {
    for (const p of paths) {
      const r = await runHeadOne([...p, '--help']);
      expectQuiet(r);
      expect(r.first).toMatch(/^Usage: plexichat-plugin/);
      // 0 when the whole help fit into the pipe before it closed, else 141.
      expect([0, 141]).toContain(r.code);
    }
  });

  it('--version and an unknown command with both streams closed: exit 141, no crash', async () => {
    for (const args of [['--version'], ['nonexistent'], ['validate', '--no-such-flag']]) {
      const r = await runClosedBefore(args, { both: true });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(141);
    }
  });
});

const project = useScaffold('pipe_plugin', 'pxp-pipe-');

/** A plugin whose validate, check and test print far more than a pipe buffer. */
async function loudProject(): Promise<string> {
  const dir = await project();
  const plugin = path.join(dir, 'src', 'plugin.py');
  const src = await fsp.readFile(plugin, 'utf8');
  // 1,500 endpoints the manifest does not declare: one warning each.
  const extra = Array.from(
    { length: 1500 },
    (_, i) => `\n    @endpoint("/api/v1/pipe_plugin/e${i}", methods=["GET"])\n    def e${i}(self, request):\n        return {}\n`,
  ).join('');
  await fsp.writeFile(plugin, `${src.trimEnd()}\n${extra}`);
  await fsp.writeFile(
    path.join(dir, 'tests', 'test_loud.py'),
    'def test_loud():\n    for i in range(5000):\n        print("line %d of a loud test %s" % (i, "x" * 40))\n    assert False\n',
  );
  return dir;
}

describe('commands that print more than a pipe buffer, read up to the first line', () => {
  // validate (human and --json), check (text and --format json) and test (pytest's output).
  const members: string[][] = [['validate'], ['validate', '--json'], ['check'], ['check', '--format', 'json'], ['test']];
  for (const args of members) {
    it(`plexichat-plugin ${args.join(' ')} | head -1: exit 141, nothing on stderr`, async () => {
      const dir = await loudProject();
      const r = (await runHeadOne(args, { cwd: dir })) as Closed & { read: number };
      expect(r.first.length).toBeGreaterThan(0);
      expect(r.signal).toBeNull();
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.stderr).not.toMatch(/EPIPE|error:/);
      expect(r.code).toBe(141);
    }, 120_000);
  }

  it('the loud project does print more than a pipe buffer (else the test above proves nothing)', async () => {
    const dir = await loudProject();
    for (const args of members) {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: ENV, maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] });
      expect(r.stdout.length, args.join(' ')).toBeGreaterThan(2 * PIPE_BUFFER);
    }
  }, 180_000);
});

describe('files are written whole or not at all when the reader goes away', () => {
  /** Nothing but complete files: no temp files (.tmp, .partial, hidden siblings) left anywhere. */
  async function noLeftovers(dir: string): Promise<string[]> {
    return (await listFiles(dir)).filter((f) => /(\.tmp|\.partial|~)$|(^|\/)\.[^/]*-[A-Za-z0-9]{6,}/.test(f));
  }

  it('build with stdout and stderr closed: exit 141; the archive is complete (it verifies) or absent', async () => {
    const dir = await project();
    const r = await runClosedBefore(['build'], { cwd: dir, both: true });
    expect(r.code).toBe(141);
    expect(await noLeftovers(dir)).toEqual([]);
    const dist = path.join(dir, 'dist');
    const zips = fs.existsSync(dist) ? fs.readdirSync(dist).filter((f) => f.endsWith('.zip')) : [];
    for (const z of zips) {
      const v = spawnSync(process.execPath, [BIN, 'verify', path.join(dist, z)], { cwd: dir, env: ENV });
      expect(v.status, v.stderr.toString()).toBe(0);
    }
  }, 120_000);

  it('version with stdout and stderr closed: exit 141; manifest and changelog both bumped or both untouched', async () => {
    const dir = await project();
    const before = {
      manifest: await fsp.readFile(path.join(dir, 'config', 'plugin.yaml'), 'utf8'),
      log: await fsp.readFile(path.join(dir, 'CHANGELOG.md'), 'utf8'),
    };
    const r = await runClosedBefore(['version', 'minor', '--note', 'a change'], { cwd: dir, both: true });
    expect(r.code).toBe(141);
    const manifest = await fsp.readFile(path.join(dir, 'config', 'plugin.yaml'), 'utf8');
    const log = await fsp.readFile(path.join(dir, 'CHANGELOG.md'), 'utf8');
    if (manifest === before.manifest) expect(log).toBe(before.log);
    else {
      expect(manifest).toMatch(/version: "?0\.2\.0"?/);
      expect(log).toMatch(/0\.2\.0/);
    }
    expect(await noLeftovers(dir)).toEqual([]);
  }, 120_000);

  it('deploy render with stdout and stderr closed: exit 141; each file complete (as a second render writes it) or absent', async () => {
    const dir = await project();
    const r = await runClosedBefore(['deploy', 'render'], { cwd: dir, both: true });
    expect(r.code).toBe(141);
    expect(await noLeftovers(dir)).toEqual([]);
    const written = (await listFiles(dir)).filter((f) => f === 'Dockerfile' || f.startsWith('k8s/'));
    const contents = Object.fromEntries(await Promise.all(written.map(async (f) => [f, await fsp.readFile(path.join(dir, f), 'utf8')] as const)));
    // A full render over them changes nothing that was written: what is there is whole.
    const again = spawnSync(process.execPath, [BIN, 'deploy', 'render'], { cwd: dir, env: ENV });
    expect(again.status, again.stderr.toString()).toBe(0);
    for (const [f, text] of Object.entries(contents)) expect(await fsp.readFile(path.join(dir, f), 'utf8'), f).toBe(text);
  }, 120_000);
});
