/**
 * Every command that writes to a path the user names (init's [dir], build
 * --out, deploy render --out, keys generate --out, check --output,
 * marketplace download --out) over the filesystem problems a user meets: a parent that is a file
 * (ENOTDIR), a name too long (ENAMETOOLONG), a symlink loop (ELOOP), a
 * folder where a file goes (EISDIR) and a virtual file system (/proc).
 * Each is one `error:` line naming what the command was doing, what the
 * system said and its errno, a hint (naming the flag), the right exit code,
 * no stack trace, and nothing left behind. The wording is io/fs-errors.ts's,
 * the same for every command.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

type Case = 'ENOTDIR' | 'ENAMETOOLONG' | 'ELOOP' | 'EISDIR' | '/proc';
const LONG = 'n'.repeat(300);

interface Expected {
  exitCode: number;
  /** The one error line. */
  error: RegExp;
  /** The hint line. */
  hint: RegExp;
  /** The --json error code. */
  code: string;
}

/** What every error line of a filesystem problem says, after `cannot <what>: `. */
const SAYS: Record<Case, RegExp> = {
  ENOTDIR: /(a part of the path is a file, not a folder \(ENOTDIR\)|it exists and is not a folder \(EEXIST\))/,
  ENAMETOOLONG: /the path or a name in it is too long \(ENAMETOOLONG\)/,
  ELOOP: /too many levels of symbolic links \(a link points back at itself\) \(ELOOP\)/,
  EISDIR: /it is a folder, not a file \(EISDIR\)/,
  '/proc': /[^ ]*proc[^ ]* cannot hold new files or folders \(ENOENT\)/,
};

const HINTS: Record<Case, RegExp> = {
  ENOTDIR: /check the path: (one of its parents is a file|it names a file, not a folder)/,
  ENAMETOOLONG: /use a shorter path/,
  ELOOP: /fix or remove the looping symbolic link/,
  EISDIR: /move the folder out of the way/,
  '/proc': /use a folder on an ordinary disk, not a virtual file system such as \/proc/,
};

/** The usual expectation: exit 1, `cannot <doing>: <says>; nothing was written`, the hint with the flag. */
function fsFailure(c: Case, doing: RegExp, flag: string | undefined, code = 'CANNOT_WRITE'): Expected {
  return {
    exitCode: 1,
    error: new RegExp(`^error: cannot ${doing.source}: ${SAYS[c].source}; nothing was written$`),
    hint: new RegExp(`${HINTS[c].source}.*${flag ? `, or pass ${flag.replace(/[<>]/g, '.')}$` : ''}`),
    code,
  };
}

/** Every entry below dir (folders with a trailing /, links not followed), sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const rel = path.relative(dir, path.join(d, e.name));
      out.push(e.isDirectory() ? `${rel}/` : rel);
      if (e.isDirectory()) await walk(path.join(d, e.name));
    }
  }
  await walk(dir);
  return out.sort();
}

async function expectFailure(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined> },
  want: Expected,
  watched: string[],
): Promise<void> {
  const before = await Promise.all(watched.map((d) => tree(d)));
  const r = await runMain(args, opts);
  expect(r.exitCode, r.stderr).toBe(want.exitCode);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(want.error);
  const hints = r.stderr.split('\n').filter((l) => l.trim().startsWith('hint:'));
  expect(hints, r.stderr).toHaveLength(1);
  expect(hints[0]).toMatch(want.hint);
  expect(r.stderr).not.toMatch(/unexpected internal error/);
  expect(hasStackTrace(r.stderr)).toBe(false);
  // Nothing half-written: no file, temp file or folder appeared (or went).
  expect(await Promise.all(watched.map((d) => tree(d)))).toEqual(before);
  // The same failure under --json: one error document with the code and the errno.
  const j = await runMain(['--json', ...args], opts);
  expect(j.exitCode).toBe(want.exitCode);
  const doc = JSON.parse(j.stdout) as { error: { code: string; message: string; hint: string; errno?: string } };
  expect(doc.error.code).toBe(want.code);
  expect(`error: ${doc.error.message}`).toMatch(want.error);
  expect(await Promise.all(watched.map((d) => tree(d)))).toEqual(before);
}

/** A folder with the obstacles: a file, a symlink loop, a link to /proc. */
async function obstacles(dir: string): Promise<void> {
  await fs.writeFile(path.join(dir, 'a-file'), 'x');
  await fs.symlink('loop', path.join(dir, 'loop'));
  await fs.symlink('/proc', path.join(dir, 'proc-link'));
}

const INIT = ['--name', 'paths_plugin', '--category', 'utility', '--yes'];

describe('init [dir]', () => {
  const cases: [Case, (root: string) => Promise<string>, Expected][] = [
    ['ENOTDIR', async (root) => path.join(root, 'a-file', 'p'), fsFailure('ENOTDIR', /create the plugin in a-file\/p/, undefined, 'NOT_A_DIRECTORY')],
    ['ENAMETOOLONG', async (root) => path.join(root, LONG, 'p'), fsFailure('ENAMETOOLONG', /create the plugin in n+\/p/, undefined, 'NAME_TOO_LONG')],
    ['ELOOP', async (root) => path.join(root, 'loop', 'p'), fsFailure('ELOOP', /create the plugin in loop\/p/, undefined, 'SYMLINK_LOOP')],
    ['/proc', async () => '/proc/pxp-output-paths/p', fsFailure('/proc', /create the plugin in \/proc\/pxp-output-paths\/p/, undefined, 'NOT_FOUND')],
    ['/proc', async (root) => path.join(root, 'proc-link', 'p'), fsFailure('/proc', /create the plugin in proc-link\/p/, undefined, 'NOT_FOUND')],
  ];
  it.each(cases)('%s', async (_c, target, want) => {
    const root = await tempDir();
    await obstacles(root);
    await expectFailure(['init', await target(root), ...INIT], { cwd: root }, want, [root]);
  });

  it('EISDIR: a folder where a template file goes (--force) is refused before anything moves', async () => {
    const root = await tempDir();
    await fs.mkdir(path.join(root, 'p', 'src', 'plugin.py'), { recursive: true });
    await expectFailure(
      ['init', 'p', '--force', ...INIT],
      { cwd: root },
      { exitCode: 1, error: /^error: .*src\/plugin\.py.* in p; nothing was written$/, hint: /move that entry out of the way/, code: 'SCAFFOLD_CONFLICT' },
      [root],
    );
  });
});

/** A plugin project whose obstacles build does not pack (they are in .pluginignore). */
async function project(): Promise<string> {
  const root = await tempDir();
  const dir = path.join(root, 'p');
  expect((await runMain(['init', dir, ...INIT])).exitCode).toBe(0);
  await obstacles(dir);
  await fs.appendFile(path.join(dir, '.pluginignore'), `a-file\nloop\nproc-link\n${LONG}\nin-the-way/\n`);
  return dir;
}

describe('build --out', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await project();
  });
  const cases: [Case, string, Expected][] = [
    // A folder value inside a file is the flag's fault: a usage error (exit 2), as it always was.
    [
      'ENOTDIR',
      'a-file/out',
      { exitCode: 2, error: /^error: the output folder a-file\/out is inside a file$/, hint: /pass --out with a folder path/, code: 'USAGE' },
    ],
    ['ENAMETOOLONG', LONG, fsFailure('ENAMETOOLONG', /use the output folder n+/, '--out <dir>')],
    ['ELOOP', 'loop', fsFailure('ELOOP', /use the output folder loop/, '--out <dir>')],
    ['ELOOP', 'loop/out', fsFailure('ELOOP', /use the output folder loop\/out/, '--out <dir>')],
    ['EISDIR', 'in-the-way', fsFailure('EISDIR', /write the archive to .*in-the-way/, '--out <dir>')],
    ['/proc', '/proc/pxp-output-paths', fsFailure('/proc', /create the output folder \/proc\/pxp-output-paths/, '--out <dir>')],
    ['/proc', '/proc', fsFailure('/proc', /write to \/proc/, '--out <dir>')],
  ];
  it.each(cases)('%s (case %#)', async (c, out, want) => {
    if (c === 'EISDIR') await fs.mkdir(path.join(dir, 'in-the-way', 'paths_plugin-0.1.0.zip'), { recursive: true });
    await expectFailure(['build', '--out', out], { cwd: dir }, want, [path.dirname(dir)]);
  });
});

describe('deploy render --out', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await project();
  });
  const cases: [Case, string, Expected][] = [
    ['ENOTDIR', 'a-file', fsFailure('ENOTDIR', /write a-file\/[^ ]+/, '--out <dir>')],
    ['ENAMETOOLONG', LONG, fsFailure('ENAMETOOLONG', /write n+\/[^ ]+/, '--out <dir>')],
    ['ELOOP', 'loop', fsFailure('ELOOP', /write loop\/[^ ]+/, '--out <dir>')],
    ['EISDIR', 'in-the-way', fsFailure('EISDIR', /write in-the-way\/k8s\/staging-deployment\.yaml/, '--out <dir>')],
    // A link out of the project is refused before anything is looked at (docs/deploy.md).
    [
      '/proc',
      'proc-link',
      {
        exitCode: 1,
        error: /^error: proc-link is a symbolic link to \/proc, outside the project: deploy render writes only inside the project; nothing was written$/,
        hint: /replace the link proc-link with a folder \(or remove it\), or render into another --out/,
        code: 'OUTSIDE_PROJECT',
      },
    ],
  ];
  it.each(cases)('%s (case %#)', async (c, out, want) => {
    if (c === 'EISDIR') await fs.mkdir(path.join(dir, 'in-the-way', 'k8s', 'staging-deployment.yaml'), { recursive: true });
    await expectFailure(['deploy', 'render', '--out', out], { cwd: dir }, want, [dir]);
  });

  it('a failure at the last file writes none of the others', async () => {
    const d = await project();
    await fs.mkdir(path.join(d, 'in-the-way', 'k8s', 'production-deployment.yaml'), { recursive: true });
    const r = await runMain(['deploy', 'render', '--out', 'in-the-way'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(await tree(path.join(d, 'in-the-way'))).toEqual(['k8s/', 'k8s/production-deployment.yaml/']);
    const ok = await runMain(['deploy', 'render', '--out', 'deploy'], { cwd: d });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await listFiles(path.join(d, 'deploy'))).toContain('Dockerfile');
  });
});

describe('keys generate --out', () => {
  const cases: [Case, (root: string) => string, string[], Expected][] = [
    ['ENOTDIR', (root) => path.join(root, 'a-file', 'k.pem'), [], fsFailure('ENOTDIR', /write the key to .*a-file\/k\.pem/, '--out <file>')],
    ['ENAMETOOLONG', (root) => path.join(root, LONG, 'k.pem'), [], fsFailure('ENAMETOOLONG', /write the key to .*n+\/k\.pem/, '--out <file>')],
    ['ELOOP', (root) => path.join(root, 'loop', 'k.pem'), [], fsFailure('ELOOP', /write the key to .*loop\/k\.pem/, '--out <file>')],
    ['EISDIR', (root) => path.join(root, 'in-the-way'), ['--force'], fsFailure('EISDIR', /write the key to .*in-the-way/, '--out <file>')],
    ['/proc', () => '/proc/pxp-output-paths/k.pem', [], fsFailure('/proc', /write the key to \/proc\/pxp-output-paths\/k\.pem/, '--out <file>')],
    ['/proc', () => '/proc/k.pem', [], fsFailure('/proc', /write the key to \/proc\/k\.pem/, '--out <file>')],
  ];
  it.each(cases)('%s', async (c, out, extra, want) => {
    const root = await tempDir();
    await obstacles(root);
    if (c === 'EISDIR') await fs.mkdir(path.join(root, 'in-the-way'));
    await expectFailure(['keys', 'generate', '--out', out(root), ...extra], { cwd: root, env: await isolatedEnv() }, want, [root]);
  });
});

describe('check --output (tried before the checks run, so it fails at once)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await project();
  });
  const cases: [Case, string, Expected][] = [
    ['ENOTDIR', 'a-file/check.json', fsFailure('ENOTDIR', /write a-file\/check\.json/, '--output <file>')],
    ['ENAMETOOLONG', `${LONG}/check.json`, fsFailure('ENAMETOOLONG', /write n+\/check\.json/, '--output <file>')],
    ['ELOOP', 'loop/check.json', fsFailure('ELOOP', /write loop\/check\.json/, '--output <file>')],
    ['EISDIR', 'in-the-way', fsFailure('EISDIR', /write in-the-way/, '--output <file>')],
    ['/proc', '/proc/check.json', fsFailure('/proc', /write \/proc\/check\.json/, '--output <file>')],
    ['/proc', '/proc/pxp-output-paths/check.json', fsFailure('/proc', /write \/proc\/pxp-output-paths\/check\.json/, '--output <file>')],
  ];
  it.each(cases)('%s (case %#)', async (c, out, want) => {
    if (c === 'EISDIR') await fs.mkdir(path.join(dir, 'in-the-way'), { recursive: true });
    const started = Date.now();
    await expectFailure(['check', '--format', 'json', '--output', out], { cwd: dir }, want, [dir]);
    expect(Date.now() - started, 'no check ran').toBeLessThan(5000);
  });
});

describe('marketplace download --out', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s), { autoApprove: true });
  const name = uniqueName('paths');
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_SIGNING_KEY: undefined });
    const dir = await tempDir({}, 'pxp-paths-');
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
  });

  const cases: [Case, string, Expected][] = [
    // As for build: a folder value inside a file is the flag's fault (exit 2).
    [
      'ENOTDIR',
      'a-file/out',
      {
        exitCode: 2,
        error: /^error: the output folder a-file\/out is inside a file$/,
        hint: /pass --out with a folder path/,
        code: 'USAGE',
      },
    ],
    // The folder is checked (and made) by the rule build --out uses (io/out-dir.ts), in its words.
    ['ENAMETOOLONG', LONG, fsFailure('ENAMETOOLONG', /use the output folder n+/, '--out <dir>')],
    ['ELOOP', 'loop', fsFailure('ELOOP', /use the output folder loop/, '--out <dir>')],
    ['EISDIR', 'in-the-way', fsFailure('EISDIR', new RegExp(`write ${name}-1\\.0\\.0\\.zip to in-the-way`), '--out <dir>')],
    ['/proc', '/proc', fsFailure('/proc', new RegExp(`write ${name}-1\\.0\\.0\\.zip to /proc`), '--out <dir>')],
    ['/proc', 'proc-link', fsFailure('/proc', new RegExp(`write ${name}-1\\.0\\.0\\.zip to proc-link`), '--out <dir>')],
  ];
  it.each(cases)('%s (case %#)', async (c, out, want) => {
    const root = await tempDir();
    await obstacles(root);
    if (c === 'EISDIR') await fs.mkdir(path.join(root, 'in-the-way', `${name}-1.0.0.zip`), { recursive: true });
    await expectFailure(['marketplace', 'download', `${name}@1.0.0`, '--out', out], { cwd: root, env }, want, [root]);
  });

  it('and into a usable folder it writes the archive', async () => {
    const root = await tempDir();
    const r = await runMain(['marketplace', 'download', `${name}@1.0.0`, '--out', '.'], { cwd: root, env });
    expect(r.exitCode, r.stderr).toBe(0);
    // The archive and the SBOM its build made (uploaded with it, verified on download).
    expect(await listFiles(root)).toEqual([`${name}-1.0.0.cdx.json`, `${name}-1.0.0.zip`]);
  });
});
