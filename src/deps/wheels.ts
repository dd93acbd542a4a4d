/**
 * `build --wheels`: the locked wheels of the runtime group (never the dev
 * group), taken unmodified from the lock's own folder, a --find-links
 * wheelhouse or the wheel cache, else fetched with `pip download` into the
 * cache; every file checked against the lock's sha256 before it is packed.
 * One variant per platform with --split-platforms when a wheel is
 * platform-specific; else one archive for every target.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { WorkFailedError } from '../errors.js';
import { userDir } from '../io/dirs.js';
import {
  WHEEL_INDEX_PATH,
  isPureWheel,
  platformName,
  wheelFits,
  wheelMisfit,
  type PackedWheel,
  type WheelIndex,
  type WheelTarget,
} from '../core/package/wheels.js';
import { LOCK_FILE, targetsOf, type LockFile, type LockedFile, type LockedPackage } from './lock-file.js';
import { evaluateMarker, type Target } from './targets.js';
import { indexArgs, pipSays, runPip, type IndexOptions } from './pip.js';

export interface WheelChoice {
  pkg: LockedPackage;
  file: LockedFile;
}

export interface WheelVariant {
  /** `any`, `all`, or the platform's name (the archive's suffix). */
  platform: string;
  /** Whether the archive is named after the platform (`<name>-<version>-<platform>.zip`). */
  split: boolean;
  targets: Target[];
  wheels: WheelChoice[];
}

function toWheelTarget(t: Target): WheelTarget {
  return { python: t.python, sysPlatform: t.sysPlatform, machine: t.machine, ...(t.platform ? { platform: t.platform } : {}) };
}

/** The runtime packages of some targets and, for each, its wheels that fit them. */
function wheelsFor(lock: LockFile, targets: Target[]): WheelChoice[] {
  const out: WheelChoice[] = [];
  for (const pkg of lock.packages) {
    const wanted = targets.some((t) => {
      if (!pkg.marker) return true;
      const v = evaluateMarker(pkg.marker, { python_version: t.python, sys_platform: t.sysPlatform, platform_machine: t.machine }, []);
      if (v === undefined) throw new WorkFailedError(`${LOCK_FILE}: package ${pkg.name} has a marker this CLI did not write: ${pkg.marker}`, lockAgain);
      return v;
    });
    if (!wanted) continue;
    const files = (pkg.wheels ?? []).filter((w) => wheelFits(w.name, targets.map(toWheelTarget)));
    if (files.length === 0) throw noWheelFor(pkg, targets);
    for (const file of files) out.push({ pkg, file });
  }
  return out;
}

/** Why a runtime package has no wheel to pack: its wheels are for another Python or ABI, or for other platforms (or it has an sdist only). */
function noWheelFor(pkg: LockedPackage, targets: Target[]): WorkFailedError {
  const wrongPython = (pkg.wheels ?? []).filter((w) => wheelMisfit(w.name, targets.map(toWheelTarget)) === 'python');
  if (wrongPython.length) {
    const pythons = [...new Set(targets.map((t) => t.python))].join(', ');
    return new WorkFailedError(
      `${LOCK_FILE} locks ${wrongPython.map((w) => w.name).join(', ')} for ${pkg.name} ${pkg.version}, which does not run on Python ${pythons} (another python or ABI tag); nothing was built`,
      { code: 'WHEEL_PYTHON_MISMATCH', hint: 'lock again for the Python the plugin targets: plexichat-plugin deps lock --python-version <x.y>' },
    );
  }
  return new WorkFailedError(
    `${LOCK_FILE} has no wheel of ${pkg.name} ${pkg.version} for ${targets.map(platformName).join(', ')} (only an sdist, or other platforms)`,
    {
      code: 'WHEEL_NOT_LOCKED',
      hint: 'lock with wheels for that platform: plexichat-plugin deps lock --platform <tag> (or use a package that publishes wheels)',
    },
  );
}

const lockAgain = { code: 'LOCK_INVALID', hint: 'write the lock again with `plexichat-plugin deps lock`' };

/** What to pack: one variant, or one per platform (--split-platforms, when a wheel is platform-specific). */
export function planWheels(lock: LockFile, split: boolean): WheelVariant[] {
  const targets = targetsOf(lock);
  const all = wheelsFor(lock, targets);
  const pure = all.every((w) => isPureWheel(w.file.name));
  if (!split || pure) return [{ platform: pure ? 'any' : 'all', split: false, targets, wheels: all }];
  const groups = new Map<string, Target[]>();
  for (const t of targets) groups.set(platformName(t), [...(groups.get(platformName(t)) ?? []), t]);
  return [...groups].map(([platform, ts]) => ({ platform, split: true, targets: ts, wheels: wheelsFor(lock, ts) }));
}

export function wheelIndex(v: WheelVariant, files: ReadonlyMap<string, { size: number }>): WheelIndex {
  const wheels: PackedWheel[] = v.wheels.map((w) => ({
    path: `wheels/${w.file.name}`,
    name: w.pkg.name,
    version: w.pkg.version,
    sha256: w.file.hashes.sha256,
    size: files.get(w.file.hashes.sha256)?.size,
  }));
  return { platform: v.platform, targets: v.targets.map(toWheelTarget), wheels };
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface FetchOptions {
  dir: string;
  env: NodeJS.ProcessEnv;
  index: IndexOptions;
  /** The interpreter whose pip downloads (asked for only when something is not at hand). */
  python: () => Promise<string>;
}

/** Where a fetched wheel is kept: <cache>/wheels/<sha256>/<name>. */
function cachePath(env: NodeJS.ProcessEnv, dir: string, f: LockedFile): string {
  const base = userDir('cache', env) ?? path.join(dir, '.cache', 'plexichat-plugin');
  return path.join(base, 'wheels', f.hashes.sha256, f.name);
}

/** Local places a wheel may already be: the lock's path, each --find-links folder, the cache. */
function candidates(o: FetchOptions, f: LockedFile): string[] {
  const out: string[] = [];
  if (f.path) out.push(path.resolve(o.dir, f.path));
  for (const l of o.index.findLinks ?? []) if (!/^[a-z][a-z0-9+.-]*:/i.test(l)) out.push(path.join(path.resolve(o.dir, l), f.name));
  out.push(cachePath(o.env, o.dir, f));
  return out;
}

async function hashMismatch(f: LockedFile, where: string): Promise<WorkFailedError> {
  return new WorkFailedError(`${f.name} (${where}) differs from the sha256 in ${LOCK_FILE}; nothing was built`, {
    code: 'HASH_MISMATCH',
    hint: 'the file changed on the index or in the wheelhouse (or was tampered with): check it, then `deps lock` again',
  });
}

/** One wheel's file on this machine, checked against the lock. */
async function localWheel(o: FetchOptions, f: LockedFile): Promise<string | undefined> {
  for (const p of candidates(o, f)) {
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile()) continue;
    if ((await sha256Of(p)) !== f.hashes.sha256) {
      if (p === cachePath(o.env, o.dir, f)) {
        await rm(p, { force: true });
        continue;
      }
      throw await hashMismatch(f, path.relative(o.dir, p) || p);
    }
    return p;
  }
  return undefined;
}

async function download(o: FetchOptions, f: LockedFile, python: string): Promise<string> {
  const dest = cachePath(o.env, o.dir, f);
  await mkdir(path.dirname(dest), { recursive: true });
  const scratch = await mkdtemp(path.join(path.dirname(dest), '.download-'));
  try {
    const r = await runPip({ python, env: o.env, cwd: o.dir }, ['download', '--quiet', '--no-deps', '--dest', scratch, ...indexArgs(o.index), f.url!]);
    const got = (await readdir(scratch)).find((n) => n === f.name);
    if (r.code !== 0 || !got) {
      throw new WorkFailedError(
        `${f.name} is not in the wheel cache and pip could not fetch it: ${r.code !== 0 ? pipSays(r) : 'pip gave another file'}; nothing was built`,
        {
          code: 'WHEEL_UNAVAILABLE',
          hint: 'give pip the index the lock was made from, or a wheelhouse that holds it (--find-links <dir>)',
        },
      );
    }
    const file = path.join(scratch, got);
    if ((await sha256Of(file)) !== f.hashes.sha256) throw await hashMismatch(f, f.url!);
    await copyFile(file, dest);
    return dest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every wheel of the variants on this machine: sha256 → absolute path and size. */
export async function fetchWheels(variants: WheelVariant[], o: FetchOptions): Promise<Map<string, { abs: string; size: number }>> {
  const out = new Map<string, { abs: string; size: number }>();
  let python: string | undefined;
  for (const v of variants) {
    for (const { file } of v.wheels) {
      if (out.has(file.hashes.sha256)) continue;
      let abs = await localWheel(o, file);
      if (!abs) {
        if (!file.url) {
          throw new WorkFailedError(`${file.name} is missing (${LOCK_FILE} names it at ${file.path}); nothing was built`, {
            code: 'WHEEL_UNAVAILABLE',
            hint: 'restore the wheelhouse the lock was made from, or `deps lock` again',
          });
        }
        python ??= await o.python();
        abs = await download(o, file, python);
      }
      out.set(file.hashes.sha256, { abs, size: (await stat(abs)).size });
    }
  }
  return out;
}

export interface ExtraFile {
  path: string;
  abs: string;
  size: number;
  mode: number;
}

/** The members a variant adds: its wheels under wheels/ and the generated section (written into `scratch`). */
export async function variantFiles(
  v: WheelVariant,
  files: ReadonlyMap<string, { abs: string; size: number }>,
  scratch: string,
): Promise<{ extra: ExtraFile[]; index: WheelIndex }> {
  const { writeFile } = await import('node:fs/promises');
  const index = wheelIndex(v, files);
  const dir = await mkdtemp(path.join(scratch, `${v.platform}-`));
  const indexFile = path.join(dir, 'index.json');
  const text = JSON.stringify(index, null, 2) + '\n';
  await writeFile(indexFile, text);
  const extra: ExtraFile[] = v.wheels.map((w) => {
    const f = files.get(w.file.hashes.sha256)!;
    return { path: `wheels/${w.file.name}`, abs: f.abs, size: f.size, mode: 0o644 };
  });
  extra.push({ path: WHEEL_INDEX_PATH, abs: indexFile, size: Buffer.byteLength(text), mode: 0o644 });
  return { extra, index };
}
