/**
 * The server's packages are optional dependencies. This runs the built CLI
 * from real installs where they are missing: a copy of the package (bin,
 * dist, templates, sdk, package.json) whose node_modules links every
 * installed package except fastify, @fastify/multipart, fastify-plugin and
 * better-sqlite3; and one where better-sqlite3 is there without its native
 * addon (as after a failed build). Every other command works, against the
 * development marketplace this test process runs (`dev`, which runs until
 * stopped, is left out: like every command but serve it never imports
 * src/server); `serve` says in one line what to install.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverPackages } from '../../src/server/deps.js';
import { hasStackTrace, type CliResult } from '../helpers/run-cli.js';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHIPPED = ['bin', 'dist', 'templates', 'sdk', 'package.json'];
const SERVER = Object.keys(serverPackages());

/**
 * A copy of the package whose node_modules links each installed package but
 * `leave` (scoped names too); `addonless` packages are copied without build/.
 */
async function install(dir: string, leave: string[], addonless: string[] = []): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  for (const entry of SHIPPED) await fs.cp(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  const from = await fs.realpath(path.join(ROOT, 'node_modules'));
  const to = path.join(dir, 'node_modules');
  await fs.mkdir(to);
  const place = async (name: string) => {
    if (leave.includes(name)) return;
    const target = path.join(to, name);
    if (addonless.includes(name)) {
      // The JavaScript and package.json, not build/ (where the compiled addon lives).
      await fs.mkdir(target);
      for (const part of ['package.json', 'lib']) await fs.cp(path.join(from, name, part), path.join(target, part), { recursive: true });
    } else {
      await fs.symlink(path.join(from, name), target);
    }
  };
  for (const name of await fs.readdir(from)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      await fs.mkdir(path.join(to, name));
      for (const sub of await fs.readdir(path.join(from, name))) await place(`${name}/${sub}`);
    } else {
      await place(name);
    }
  }
  return dir;
}

function cli(installDir: string) {
  const bin = path.join(installDir, 'bin', 'plexichat-plugin.js');
  return async (args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> => {
    const r = await execa(process.execPath, [bin, ...args], {
      cwd: opts.cwd ?? installDir,
      env: { NO_COLOR: '1', CI: '1', PLEXICHAT_CACHE_DIR: 'off', NODE_PATH: '', ...opts.env },
      extendEnv: true,
      input: opts.input,
      stdin: opts.input === undefined ? 'ignore' : undefined,
      reject: false,
      timeout: 120_000,
    });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
}

function ok(r: CliResult, what: string): CliResult {
  expect(r.exitCode, `${what}: ${r.stderr}`).toBe(0);
  expect(r.stderr).not.toMatch(/fastify|better-sqlite3|unexpected internal error/);
  return r;
}

/** The one error line of a run. */
function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('error:'));
}

let tmp: string;
let srv!: DevServer;
useDevServer((s) => (srv = s));

/** Whether some folder above `dir` has a node_modules (Node would find packages there). */
async function nodeModulesAbove(dir: string): Promise<boolean> {
  for (let cur = dir; ; cur = path.dirname(cur)) {
    if (
      await fs.lstat(path.join(cur, 'node_modules')).then(
        () => true,
        () => false,
      )
    )
      return true;
    if (path.dirname(cur) === cur) return false;
  }
}

beforeAll(async () => {
  // The install must not sit below a node_modules (some machines link one into /tmp).
  const bases = [os.tmpdir(), '/var/tmp', '/dev/shm', os.homedir()];
  let base: string | undefined;
  for (const b of bases) {
    if (
      (await fs.stat(b).then(
        (st) => st.isDirectory(),
        () => false,
      )) &&
      !(await nodeModulesAbove(b))
    ) {
      base = b;
      break;
    }
  }
  if (base === undefined) throw new Error(`no temp folder without a node_modules above it (tried ${bases.join(', ')})`);
  tmp = await fs.mkdtemp(path.join(base, 'pxp-optional-'));
}, 60_000);
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('without the server packages', () => {
  let run: ReturnType<typeof cli>;
  let dir: string;
  beforeAll(async () => {
    dir = await install(path.join(tmp, 'without'), SERVER);
    run = cli(dir);
  }, 60_000);

  it('they really are absent from this install', async () => {
    for (const name of SERVER) {
      const r = await execa(process.execPath, ['-e', `require.resolve(${JSON.stringify(name)})`], {
        cwd: dir,
        reject: false,
        env: { NODE_PATH: '', HOME: tmp },
      });
      expect(r.exitCode, `${name} resolves from the install`).not.toBe(0);
      expect(String(r.stderr)).toContain('Cannot find module');
    }
  });

  it('serve names every missing package and the npm install line, exit 1, no stack (and in --json)', async () => {
    const r = await run(['marketplace', 'serve', '--data-dir', path.join(tmp, 'data')]);
    expect(r.exitCode).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const ranges = serverPackages();
    for (const name of SERVER) expect(r.stderr).toContain(`${name}@${ranges[name]}`);
    expect(r.stderr).toMatch(/error: marketplace serve needs .*optional dependencies/);
    expect(r.stderr).toMatch(/hint: run npm install .* where plexichat-plugin-cli is installed/);
    // Nothing was made.
    await expect(fs.stat(path.join(tmp, 'data'))).rejects.toThrow();
    const j = await run(['--json', 'marketplace', 'serve', '--data-dir', path.join(tmp, 'data')]);
    expect(j.exitCode).toBe(1);
    const doc = JSON.parse(j.stdout) as { error: { code: string; details?: { missing: { name: string; state: string }[] } } };
    expect(doc.error.code).toBe('SERVER_DEPS_MISSING');
    // Usage errors still come first: they need no server.
    const bad = await run(['marketplace', 'serve', '--developer-token', 'pcx_same_token', '--reviewer-token', 'pcx_same_token']);
    expect(bad.exitCode).toBe(2);
  });

  it('every other command works: the whole plugin workflow against a marketplace', async () => {
    ok(await run(['--help']), '--help');
    ok(await run(['--version']), '--version');
    ok(await run(['marketplace', '--help']), 'marketplace --help');
    const home = path.join(tmp, 'home');
    const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), PLEXICHAT_MARKETPLACE_URL: srv.url };
    const plugin = path.join(tmp, 'plugin');
    ok(await run(['init', plugin, '--name', 'optional_deps_plugin', '--category', 'utility', '--yes'], { env }), 'init');
    const inPlugin = { cwd: plugin, env };
    ok(await run(['validate'], inPlugin), 'validate');
    ok(await run(['test'], inPlugin), 'test');
    ok(await run(['build'], inPlugin), 'build');
    const zip = (await fs.readdir(path.join(plugin, 'dist'))).find((n) => n.endsWith('.zip'))!;
    ok(await run(['verify', path.join('dist', zip)], inPlugin), 'verify');
    ok(await run(['keys', 'generate', '--out', path.join(home, 'key.pem')], inPlugin), 'keys generate');
    ok(await run(['marketplace', 'login', '--token-stdin'], { ...inPlugin, input: srv.developer }), 'login');
    ok(await run(['marketplace', 'whoami'], inPlugin), 'whoami');
    ok(await run(['marketplace', 'prepare'], inPlugin), 'prepare');
    const submitted = ok(await run(['--json', 'marketplace', 'submit'], inPlugin), 'submit');
    const id = (JSON.parse(submitted.stdout) as { submission: { id: string } }).submission.id;
    ok(await run(['marketplace', 'status'], inPlugin), 'status');
    const asReviewer = { cwd: plugin, env: { ...env, PLEXICHAT_TOKEN: srv.reviewer } };
    ok(await run(['marketplace', 'review', id, '--approve', '--notes', 'fine'], asReviewer), 'review');
    ok(await run(['marketplace', 'publish'], inPlugin), 'publish');
    ok(await run(['marketplace', 'info', 'optional_deps_plugin'], inPlugin), 'info');
    await fs.mkdir(path.join(tmp, 'downloads'));
    ok(await run(['marketplace', 'download', 'optional_deps_plugin', '--out', path.join(tmp, 'downloads')], inPlugin), 'download');
    ok(await run(['marketplace', 'keys', 'add', path.join(home, 'key.pem.pub')], inPlugin), 'marketplace keys add');
    ok(await run(['marketplace', 'keys', 'list'], inPlugin), 'marketplace keys list');
    ok(await run(['version', 'patch', '--dry-run'], inPlugin), 'version');
    ok(await run(['completion', 'bash'], inPlugin), 'completion');
    ok(await run(['deploy', 'render'], inPlugin), 'deploy render');
    ok(await run(['check'], inPlugin), 'check');
    ok(await run(['marketplace', 'logout'], inPlugin), 'logout');
  }, 120_000);
});

describe('better-sqlite3 installed without its native addon', () => {
  it('serve says it does not load and how to install it; nothing else is named', async () => {
    const dir = await install(path.join(tmp, 'addonless'), [], ['better-sqlite3']);
    const run = cli(dir);
    ok(await run(['--version']), '--version');
    const r = await run(['marketplace', 'serve', '--data-dir', path.join(tmp, 'data2')]);
    expect(r.exitCode).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stderr).toMatch(/needs better-sqlite3 \(installed, but it does not load: .*bindings/);
    expect(r.stderr).toContain(`npm install better-sqlite3@${serverPackages()['better-sqlite3']}`);
    expect(r.stderr).toMatch(/C\+\+ compiler/);
    expect(r.stderr).not.toMatch(/fastify/);
    await expect(fs.stat(path.join(tmp, 'data2'))).rejects.toThrow();
  }, 60_000);
});
