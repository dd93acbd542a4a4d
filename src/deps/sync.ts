/**
 * `deps sync` as an operation: the plugin's virtual environment (.venv at
 * the project root, never packed) holding exactly the lock's distributions
 * for this machine (runtime and dev group, installed with pip
 * --require-hashes) and the bundled SDK. What is installed is read from the
 * environment's .dist-info folders, so a synced environment is confirmed
 * without starting Python or pip (and, by the record the last sync left, sync-stamp.ts, without reading them).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkFailedError } from '../errors.js';
import { isExecutable } from '../python/discover.js';
import { hostMachine } from '../core/package/wheels.js';
import { DEV_GROUP, LOCK_FILE, targetsOf, type LockedPackage, type LockFile } from './lock-file.js';
import { indexArgs, noPip, pipMissing, pipSays, runPip, type IndexOptions } from './pip.js';
import { normalizeName } from './requirement.js';
import { dropStamp, fingerprint, interpreterDigest, readStamp, siteListing, stampMatches, writeStamp, type SyncStamp } from './sync-stamp.js';
import { describeTarget, evaluateMarker, type MarkerEnvironment } from './targets.js';

export const VENV_DIR = '.venv';
/** Installed by venv itself; left alone unless the lock names them. */
const VENV_TOOLS = new Set(['pip', 'setuptools', 'wheel']);

export function venvPython(venv: string): string {
  return path.join(venv, 'bin', 'python');
}

/** The environment's Python version (major.minor) from its pyvenv.cfg. */
export async function venvVersion(venv: string): Promise<string | undefined> {
  const cfg = await readFile(path.join(venv, 'pyvenv.cfg'), 'utf8').catch(() => '');
  const m = /^\s*(?:version|version_info)\s*=\s*(\d+)\.(\d+)/m.exec(cfg);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/** The marker environment of this machine for a Python version. */
export function machineEnvironment(python: string): MarkerEnvironment {
  const host = hostMachine();
  return { python_version: python, sys_platform: host.sysPlatform, platform_machine: host.machine };
}

/** Distributions installed in the environment: normalized name -> version, from its .dist-info folders. */
export async function installedIn(venv: string, python: string): Promise<Map<string, string>> {
  const site = path.join(venv, 'lib', `python${python}`, 'site-packages');
  const out = new Map<string, string>();
  for (const entry of await readdir(site).catch(() => [] as string[])) {
    const m = /^(.+)-([^-]+)\.dist-info$/.exec(entry);
    if (m) out.set(normalizeName(m[1]), m[2]);
  }
  return out;
}

/** The lock's packages for this environment (runtime and dev group), or why there are none. */
export function packagesFor(lock: LockFile, env: MarkerEnvironment): LockedPackage[] {
  const target = targetsOf(lock).find((t) => t.python === env.python_version && t.sysPlatform === env.sys_platform && t.machine === env.platform_machine);
  if (!target) {
    const have = targetsOf(lock).map(describeTarget).join('; ');
    throw new WorkFailedError(
      `${LOCK_FILE} has nothing for Python ${env.python_version} on ${env.sys_platform} ${env.platform_machine} (it was locked for ${have})`,
      {
        code: 'LOCK_NO_TARGET',
        hint: `lock for it too: plexichat-plugin deps lock --python-version ${env.python_version}`,
      },
    );
  }
  return lock.packages.filter((p) => {
    if (!p.marker) return true;
    const v = evaluateMarker(p.marker, env, [DEV_GROUP]);
    if (v === undefined) {
      throw new WorkFailedError(`${LOCK_FILE}: package ${p.name} has a marker this CLI did not write: ${p.marker}`, {
        code: 'LOCK_INVALID',
        hint: 'write the lock again with `plexichat-plugin deps lock`',
      });
    }
    return v;
  });
}

export interface SyncResult {
  venv: string;
  python: string;
  version: string;
  created: boolean;
  installed: { name: string; version: string }[];
  removed: { name: string; version: string }[];
  kept: number;
  sdk: { version: string; installed: boolean };
}

export interface SyncOptions {
  dir: string;
  env: NodeJS.ProcessEnv;
  lock: LockFile;
  /** The interpreter a new environment is made with. */
  base: () => Promise<string>;
  index: IndexOptions;
}

async function createVenv(base: string, venv: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { runPython } = await import('../python/spawn.js');
  const r = await runPython(base, ['-m', 'venv', venv], { env, timeoutMs: 5 * 60_000 });
  if (r.code !== 0 || !isExecutable(venvPython(venv))) {
    await rm(venv, { recursive: true, force: true });
    const why = r.stderr.trim().split('\n').filter(Boolean).pop() ?? r.error ?? `exit ${r.code}`;
    throw new WorkFailedError(`${base} -m venv ${VENV_DIR} failed: ${why}`, {
      code: 'VENV_FAILED',
      hint: 'install the venv module for that Python (Debian: apt install python3-venv), or pass --python with another; nothing was left behind',
    });
  }
}

function requirementLine(p: LockedPackage): string {
  const hashes = [...(p.wheels ?? []), ...(p.sdist ? [p.sdist] : [])].map((f) => ` --hash=sha256:${f.hashes.sha256}`);
  return `${p.name}==${p.version}${hashes.join('')}`;
}

/** The index options with every folder the lock names local files in (a wheelhouse in the repository needs no flag). */
function withLockFolders(index: IndexOptions, lock: LockFile, dir: string): IndexOptions {
  const folders = new Set<string>();
  for (const p of lock.packages)
    for (const f of [...(p.wheels ?? []), ...(p.sdist ? [p.sdist] : [])]) if (f.path) folders.add(path.dirname(path.resolve(dir, f.path)));
  return { ...index, findLinks: [...(index.findLinks ?? []), ...[...folders].filter((f) => !index.findLinks?.includes(f))] };
}

export async function syncVenv(o: SyncOptions): Promise<SyncResult> {
  const venv = path.join(o.dir, VENV_DIR);
  let created = false;
  if (!isExecutable(venvPython(venv))) {
    const { existsSync } = await import('node:fs');
    if (existsSync(venv)) {
      throw new WorkFailedError(`${VENV_DIR} exists but is not a virtual environment (no bin/python)`, {
        code: 'VENV_INVALID',
        hint: `move it away (deps sync makes ${VENV_DIR} itself), then run deps sync again`,
      });
    }
    await createVenv(await o.base(), venv, o.env);
    created = true;
  }
  try {
    return await fill(o, venv, created);
  } catch (err) {
    // An environment this run made and could not fill is not left half-made.
    if (created) await rm(venv, { recursive: true, force: true });
    throw err;
  }
}

async function fill(o: SyncOptions, venv: string, created: boolean): Promise<SyncResult> {
  const version = await venvVersion(venv);
  if (!version)
    throw new WorkFailedError(`${VENV_DIR} is not a virtual environment (no pyvenv.cfg)`, {
      code: 'VENV_INVALID',
      hint: `remove ${VENV_DIR} and run deps sync again`,
    });
  const wanted = packagesFor(o.lock, machineEnvironment(version));
  const { sdkDigest, sdkVersion } = await import('../python/wheel.js');
  const [sdkWanted, sdk, interpreter, site, stamp] = await Promise.all([
    sdkVersion(),
    sdkDigest(),
    interpreterDigest(venv),
    siteListing(venv, version),
    readStamp(venv),
  ]);
  const result = { venv, python: venvPython(venv), version, created };
  // The record says nothing changed since the last sync: no .dist-info is read, nothing runs.
  if (!created && stampMatches(stamp, { interpreter, sdk, site }, wanted)) {
    return { ...result, installed: [], removed: [], kept: wanted.length, sdk: { version: sdkWanted, installed: false } };
  }
  const plan = await planSync(venv, version, wanted, stamp, sdkWanted, sdk);
  await apply(o, venv, plan);
  await writeStamp(venv, {
    interpreter,
    sdk,
    packages: Object.fromEntries(wanted.map((p) => [normalizeName(p.name), fingerprint(p)])),
    site: await siteListing(venv, version),
  });
  return {
    ...result,
    installed: plan.install.map((p) => ({ name: p.name, version: p.version })),
    removed: plan.remove.map(([name, v]) => ({ name, version: v })),
    kept: wanted.length - plan.install.length,
    sdk: { version: sdkWanted, installed: plan.sdkMissing },
  };
}

interface SyncPlan {
  install: LockedPackage[];
  remove: [string, string][];
  sdkMissing: boolean;
}

/**
 * What to change: distributions missing, at another version, or (by the
 * record of the last sync) installed from other files than the lock's now;
 * those the lock does not name; the SDK when its version or content differs.
 */
async function planSync(
  venv: string,
  version: string,
  wanted: LockedPackage[],
  stamp: SyncStamp | undefined,
  sdkWanted: string,
  sdk: string,
): Promise<SyncPlan> {
  const { SDK_DIST_NAME } = await import('../python/wheel.js');
  const have = await installedIn(venv, version);
  const moved = (p: LockedPackage) => {
    const was = stamp?.packages[normalizeName(p.name)];
    return was !== undefined && was !== fingerprint(p);
  };
  const install = wanted.filter((p) => have.get(normalizeName(p.name)) !== p.version || moved(p));
  const names = new Set([...wanted.map((p) => normalizeName(p.name)), normalizeName(SDK_DIST_NAME)]);
  const remove = [...have].filter(([name]) => !names.has(name) && !VENV_TOOLS.has(name));
  const sdkMissing = have.get(normalizeName(SDK_DIST_NAME)) !== sdkWanted || (stamp !== undefined && stamp.sdk !== sdk);
  return { install, remove, sdkMissing };
}

async function apply(o: SyncOptions, venv: string, plan: SyncPlan): Promise<void> {
  const pip = { python: venvPython(venv), env: { ...o.env, VIRTUAL_ENV: venv }, cwd: o.dir };
  // A sync cut short leaves no record, so the next one checks everything.
  if (plan.install.length || plan.remove.length || plan.sdkMissing) await dropStamp(venv);
  if (plan.remove.length) {
    const r = await runPip(pip, ['uninstall', '--yes', '--quiet', ...plan.remove.map(([n]) => n)]);
    if (r.code !== 0) throw pipFailure(pip.python, `remove ${plan.remove.map(([n]) => n).join(', ')}`, r);
  }
  await installInto(o, pip, plan.install, plan.sdkMissing);
}

type Pip = { python: string; env: NodeJS.ProcessEnv; cwd: string };
type PipRun = Awaited<ReturnType<typeof runPip>>;

/** A failed pip run as the user's error: a hash mismatch (naming the distributions) is told apart from a missing index. */
function pipFailure(python: string, what: string, r: PipRun): Error {
  if (pipMissing(r)) return noPip(python);
  const mismatched = [...r.stderr.matchAll(/^\s+([A-Za-z0-9._-]+==[^\s]+) from /gm)].map((m) => m[1]);
  const says = pipSays(r) + (mismatched.length ? ` (${mismatched.join(', ')})` : '');
  const hash = /\bhash/i.test(says);
  return new WorkFailedError(`pip could not ${what}: ${says}`, {
    code: hash ? 'HASH_MISMATCH' : 'SYNC_FAILED',
    hint: hash
      ? 'a file differs from the one locked (changed on the index, or tampered with): check it, then `deps lock` again'
      : 'give pip the index the lock was made from (--index-url, --find-links, or pip.conf)',
  });
}

async function installInto(o: SyncOptions, pip: Pip, install: LockedPackage[], sdkMissing: boolean): Promise<void> {
  const scratch = install.length || sdkMissing ? await mkdtemp(path.join(os.tmpdir(), 'plexichat-sync-')) : undefined;
  try {
    if (install.length && scratch) {
      const file = path.join(scratch, 'requirements.txt');
      await writeFile(file, install.map(requirementLine).join('\n') + '\n');
      // --force-reinstall: a distribution whose locked files changed under the same version is replaced too.
      const r = await runPip(pip, [
        'install',
        '--quiet',
        '--no-deps',
        '--force-reinstall',
        '--require-hashes',
        ...indexArgs(withLockFolders(o.index, o.lock, o.dir)),
        '-r',
        file,
      ]);
      if (r.code !== 0) throw pipFailure(pip.python, 'install the locked distributions', r);
    }
    if (sdkMissing && scratch) {
      const { buildSdkWheel } = await import('../python/wheel.js');
      const { cliVersion } = await import('../io/cli-version.js');
      const wheel = await buildSdkWheel({ generator: `plexichat-plugin-cli ${cliVersion()}` });
      const file = path.join(scratch, wheel.name);
      await writeFile(file, wheel.bytes);
      const r = await runPip(pip, ['install', '--quiet', '--no-deps', '--force-reinstall', file]);
      if (r.code !== 0) throw pipFailure(pip.python, 'install the SDK', r);
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
