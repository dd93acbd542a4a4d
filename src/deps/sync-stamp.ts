/**
 * The record `deps sync` leaves in the environment it filled
 * (`.venv/plexichat-sync.json`), so that the next sync with nothing to do is
 * confirmed without Python, pip or hashing the environment: the locked
 * files (sha256) each installed distribution came from, the SDK's content
 * digest, the interpreter's pyvenv.cfg, and every site-packages entry with
 * its modification time. Anything that differs (another lock, a file
 * replaced under the same version, another SDK build, a package installed,
 * removed or reinstalled by hand) sends sync down its full path, which
 * reinstalls what no longer matches and writes the record again.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LockedPackage } from './lock-file.js';
import { normalizeName } from './requirement.js';

export const STAMP_FILE = 'plexichat-sync.json';
const STAMP_VERSION = 1;

export interface SyncStamp {
  version: number;
  /** sha256 of pyvenv.cfg: the interpreter the environment runs. */
  interpreter: string;
  /** The SDK's content digest (python/wheel.ts sdkDigest). */
  sdk: string;
  /** Normalized name -> `<version> <sha256,…>` of the locked files it was installed from. */
  packages: Record<string, string>;
  /** site-packages entry -> modification time (ms). */
  site: Record<string, number>;
}

/** What the stamp records for one locked distribution: its version and the sha256 of every file the lock allows. */
export function fingerprint(p: LockedPackage): string {
  const hashes = [...(p.wheels ?? []), ...(p.sdist ? [p.sdist] : [])].map((f) => f.hashes.sha256).sort();
  return `${p.version} ${hashes.join(',')}`;
}

export function sitePackages(venv: string, python: string): string {
  return path.join(venv, 'lib', `python${python}`, 'site-packages');
}

/** Every entry of site-packages with its modification time (a reinstall, an install or a removal changes it). */
export async function siteListing(venv: string, python: string): Promise<Record<string, number>> {
  const site = sitePackages(venv, python);
  const out: Record<string, number> = {};
  const names = (await readdir(site).catch(() => [] as string[])).filter((n) => n !== '__pycache__').sort();
  await Promise.all(
    names.map(async (n) => {
      const st = await stat(path.join(site, n)).catch(() => undefined);
      if (st) out[n] = Math.trunc(st.mtimeMs);
    }),
  );
  return Object.fromEntries(names.filter((n) => n in out).map((n) => [n, out[n]]));
}

export async function interpreterDigest(venv: string): Promise<string> {
  const cfg = await readFile(path.join(venv, 'pyvenv.cfg')).catch(() => Buffer.alloc(0));
  return createHash('sha256').update(cfg).digest('hex');
}

export async function readStamp(venv: string): Promise<SyncStamp | undefined> {
  try {
    const v = JSON.parse(await readFile(path.join(venv, STAMP_FILE), 'utf8')) as SyncStamp;
    if (v?.version !== STAMP_VERSION || typeof v.packages !== 'object' || typeof v.site !== 'object') return undefined;
    return v;
  } catch {
    return undefined;
  }
}

/** Forget the record (before the environment is changed: a sync cut short leaves none, so the next one takes the full path). */
export async function dropStamp(venv: string): Promise<void> {
  await rm(path.join(venv, STAMP_FILE), { force: true });
}

export async function writeStamp(venv: string, s: Omit<SyncStamp, 'version'>): Promise<void> {
  const file = path.join(venv, STAMP_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ version: STAMP_VERSION, ...s }, null, 2) + '\n');
  await rename(tmp, file);
}

/** Whether the stamp says the environment already holds exactly `wanted` and this SDK, untouched since. */
export function stampMatches(
  s: SyncStamp | undefined,
  now: { interpreter: string; sdk: string; site: Record<string, number> },
  wanted: readonly LockedPackage[],
): boolean {
  if (!s || s.interpreter !== now.interpreter || s.sdk !== now.sdk) return false;
  if (Object.keys(s.packages).length !== wanted.length) return false;
  for (const p of wanted) if (s.packages[normalizeName(p.name)] !== fingerprint(p)) return false;
  const a = Object.entries(s.site);
  const b = now.site;
  return a.length === Object.keys(b).length && a.every(([n, t]) => b[n] === t);
}
