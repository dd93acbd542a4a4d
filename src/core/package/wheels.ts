/**
 * Wheels packed in an archive (`build --wheels`): one rule, applied by
 * `build` (before the archive is renamed into place), `verify` and the
 * development marketplace (all through verifyArchive).
 *
 * The wheels sit unmodified under `wheels/`, beside a generated section,
 * `wheels/index.json`, written from the lock: the archive's platform, the
 * targets it is for, and every wheel with its locked name, version and
 * sha256. Every `wheels/*.whl` member must be listed there with the same
 * sha256 (the lock's, not only the integrity listing's, which a repacker
 * rewrites), and it must run on one of the archive's targets: its platform
 * tag that target's platform (else WHEEL_PLATFORM_MISMATCH), its python and
 * ABI tags that target's Python (else WHEEL_PYTHON_MISMATCH).
 */
import os from 'node:os';
import { isObject, parseSmallJson } from '../schema/issues.js';

export const WHEELS_DIR = 'wheels';
export const WHEEL_INDEX_PATH = `${WHEELS_DIR}/index.json`;
export const MAX_WHEEL_INDEX_BYTES = 1024 * 1024;

export interface WheelTarget {
  python: string;
  sysPlatform: string;
  machine: string;
  /** The wheel platform tag the target was locked for; absent: the machine the lock ran on. */
  platform?: string;
}

export interface PackedWheel {
  /** The member's path: `wheels/<file name>`. */
  path: string;
  name: string;
  version: string;
  sha256: string;
  size?: number;
}

/** The generated section (`wheels/index.json`). */
export interface WheelIndex {
  /** `any` (pure-Python wheels only), a platform (`manylinux_2_17_x86_64`, `linux_x86_64`) or `all` (one archive for every target). */
  platform: string;
  targets: WheelTarget[];
  wheels: PackedWheel[];
}

/** `sys_platform` and `platform_machine` of a wheel platform tag (undefined for a tag this CLI does not know). */
export function environmentOfTag(tag: string): { sysPlatform: string; machine: string } | undefined {
  if (!/^[a-z][a-z0-9]*(?:_[A-Za-z0-9]+)*$/.test(tag)) return undefined;
  let m = /^(?:manylinux\d*(?:_\d+_\d+)?|musllinux_\d+_\d+|linux)_(x86_64|aarch64|i686|armv7l|ppc64le|s390x|riscv64)$/.exec(tag);
  if (m) return { sysPlatform: 'linux', machine: m[1] };
  m = /^macosx_\d+_\d+_(x86_64|arm64|universal2)$/.exec(tag);
  if (m) return { sysPlatform: 'darwin', machine: m[1] === 'universal2' ? 'arm64' : m[1] };
  const win: Record<string, string> = { win_amd64: 'AMD64', win32: 'x86', win_arm64: 'ARM64' };
  if (win[tag]) return { sysPlatform: 'win32', machine: win[tag] };
  return undefined;
}

const WHEEL_NAME = /^([A-Za-z0-9_.]+)-([A-Za-z0-9_.!+]+)(?:-\d[A-Za-z0-9_.]*)?-([A-Za-z0-9_.]+)-([A-Za-z0-9_.]+)-([A-Za-z0-9_.]+)\.whl$/;

/** The python, ABI and platform tags of a wheel file name (`a-1.0-cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`), or undefined when it is not one. */
export function wheelTags(fileName: string): { python: string[]; abi: string[]; platform: string[] } | undefined {
  const m = WHEEL_NAME.exec(fileName);
  return m ? { python: m[3].split('.'), abi: m[4].split('.'), platform: m[5].split('.') } : undefined;
}

/** The platform tags of a wheel file name, or undefined when it is not one. */
export function wheelPlatformTags(fileName: string): string[] | undefined {
  return wheelTags(fileName)?.platform;
}

export function isPureWheel(fileName: string): boolean {
  return wheelPlatformTags(fileName)?.includes('any') ?? false;
}

/**
 * Whether one python tag with one ABI tag runs on CPython `major.minor`, as
 * pip's tag list for that interpreter says: `py3`/`py3N` (N ≤ minor) and
 * `cp3<minor>` with no ABI; `cp3N-abi3` for N ≤ minor (the stable ABI, from
 * 3.2); `cp3<minor>-cp3<minor>` (with `m` up to 3.7) for that version only.
 * Other interpreters (`pp`, `ip`), debug and free-threaded ABIs run on none.
 */
function tagPairRuns(py: string, abi: string, major: number, minor: number): boolean {
  const p = /^(py|cp)(\d)(\d*)$/.exec(py);
  if (!p || Number(p[2]) !== major) return false;
  const pyMinor = p[3] === '' ? undefined : Number(p[3]);
  if (abi === 'none') return p[1] === 'py' ? pyMinor === undefined || pyMinor <= minor : pyMinor === minor;
  if (p[1] !== 'cp' || pyMinor === undefined) return false;
  if (abi === 'abi3') return pyMinor >= 2 && pyMinor <= minor;
  const a = /^cp(\d)(\d+)(m?)$/.exec(abi);
  return !!a && Number(a[1]) === major && Number(a[2]) === minor && pyMinor === minor && (a[3] === '' || minor <= 7);
}

/** Whether a wheel's python and ABI tags run on CPython `version` (`3.11`); a target without a version takes any. */
export function wheelRunsOn(fileName: string, version: string | undefined): boolean {
  const tags = wheelTags(fileName);
  if (!tags) return false;
  const v = /^(\d+)\.(\d+)$/.exec(version ?? '');
  if (!v) return version === undefined;
  return tags.python.some((py) => tags.abi.some((abi) => tagPairRuns(py, abi, Number(v[1]), Number(v[2]))));
}

function platformFits(tags: readonly string[], t: WheelTarget): boolean {
  if (tags.includes('any')) return true;
  return tags.some((tag) => {
    const env = environmentOfTag(tag);
    return env !== undefined && t.sysPlatform === env.sysPlatform && t.machine === env.machine;
  });
}

/**
 * Why a wheel runs on none of the targets: `name` (not a wheel file name),
 * `platform` (no target's platform and machine), `python` (a target's
 * platform, but not its Python: another version or ABI); undefined when it
 * runs on one of them.
 */
export function wheelMisfit(fileName: string, targets: readonly WheelTarget[]): 'name' | 'platform' | 'python' | undefined {
  const tags = wheelTags(fileName);
  if (!tags) return 'name';
  const onPlatform = targets.filter((t) => platformFits(tags.platform, t));
  if (onPlatform.length === 0) return 'platform';
  return onPlatform.some((t) => wheelRunsOn(fileName, t.python)) ? undefined : 'python';
}

/** Whether a wheel runs on one of the targets: its platform (a pure wheel: any) and its Python and ABI. */
export function wheelFits(fileName: string, targets: readonly WheelTarget[]): boolean {
  return wheelMisfit(fileName, targets) === undefined;
}

/** The archive name's suffix for a target's platform: its wheel tag, else `<sys_platform>_<machine>` (`linux_x86_64`). */
export function platformName(t: WheelTarget): string {
  return t.platform ?? `${t.sysPlatform}_${t.machine}`.toLowerCase();
}

export interface WheelFinding {
  code: string;
  message: string;
  entry?: string;
}

function misfitFinding(entry: string, misfit: 'name' | 'platform' | 'python', index: WheelIndex): WheelFinding {
  const tags = wheelTags(entry.slice(WHEELS_DIR.length + 1));
  if (misfit === 'python' && tags) {
    const pythons = [...new Set(index.targets.map((t) => t.python))].join(', ');
    return {
      code: 'WHEEL_PYTHON_MISMATCH',
      entry,
      message: `built for ${tags.python.join('.')}-${tags.abi.join('.')}, which does not run on this archive's Python (${pythons})`,
    };
  }
  return {
    code: 'WHEEL_PLATFORM_MISMATCH',
    entry,
    message: tags
      ? `built for ${tags.platform.join('.')}, not for this archive's platform (${index.platform})`
      : 'not a wheel file name (name-version-python-abi-platform.whl)',
  };
}

/** The section, or why it is not one. */
export function parseWheelIndex(bytes: Buffer): WheelIndex | string {
  let v: unknown;
  try {
    v = parseSmallJson(bytes.toString('utf8'), MAX_WHEEL_INDEX_BYTES);
  } catch (err) {
    return (err as Error).message;
  }
  if (!isObject(v) || typeof v.platform !== 'string' || !Array.isArray(v.targets) || !Array.isArray(v.wheels)) return 'it needs platform, targets and wheels';
  for (const t of v.targets)
    if (!isObject(t) || typeof t.sysPlatform !== 'string' || typeof t.machine !== 'string') return 'a target needs sysPlatform and machine';
  for (const w of v.wheels) {
    if (!isObject(w) || typeof w.path !== 'string' || typeof w.sha256 !== 'string' || typeof w.name !== 'string' || typeof w.version !== 'string') {
      return 'a wheel needs path, name, version and sha256';
    }
  }
  return v as unknown as WheelIndex;
}

/**
 * The packed wheels against the section: every `wheels/*.whl` member
 * listed, with the locked sha256 and a platform of the archive; every
 * listed wheel present. `hashes` are the members' real sha256.
 */
export function checkWheels(indexBytes: Buffer | undefined, hashes: ReadonlyMap<string, { sha256: string }>): WheelFinding[] {
  const packed = [...hashes.keys()].filter((n) => n.startsWith(`${WHEELS_DIR}/`) && n.endsWith('.whl'));
  if (indexBytes === undefined) {
    return packed.map((entry) => ({
      code: 'WHEEL_UNLISTED',
      entry,
      message: `a wheel without ${WHEEL_INDEX_PATH}: build it with \`plexichat-plugin build --wheels\``,
    }));
  }
  const index = parseWheelIndex(indexBytes);
  if (typeof index === 'string') return [{ code: 'WHEEL_INDEX_MALFORMED', entry: WHEEL_INDEX_PATH, message: `${WHEEL_INDEX_PATH}: ${index}` }];
  const out: WheelFinding[] = [];
  const listed = new Map(index.wheels.map((w) => [w.path, w]));
  for (const entry of packed) {
    const w = listed.get(entry);
    const file = entry.slice(WHEELS_DIR.length + 1);
    if (!w) out.push({ code: 'WHEEL_UNLISTED', entry, message: `not listed in ${WHEEL_INDEX_PATH} (not a locked wheel)` });
    else if (hashes.get(entry)?.sha256 !== w.sha256) {
      out.push({ code: 'WHEEL_HASH_MISMATCH', entry, message: `sha256 differs from the one locked for ${w.name} ${w.version} (tampered or replaced)` });
    }
    const misfit = wheelMisfit(file, index.targets);
    if (misfit) out.push(misfitFinding(entry, misfit, index));
  }
  for (const w of index.wheels)
    if (!hashes.has(w.path)) out.push({ code: 'WHEEL_MISSING', entry: w.path, message: `listed in ${WHEEL_INDEX_PATH} but not in the archive` });
  return out;
}

/**
 * The platform variant an archive is, from its section's platform: the
 * wheel platform tag of an archive built with --split-platforms; '' for an
 * archive without wheels, with pure wheels only (`any`) or with every
 * platform's wheels (`all`). One version may have one archive per variant
 * (the development marketplace and the static registry store them side by side).
 */
export function variantOf(sectionPlatform: string | undefined): string {
  return sectionPlatform === undefined || sectionPlatform === 'any' || sectionPlatform === 'all' ? '' : sectionPlatform;
}

/**
 * The variant of a version that runs on a machine (`sys_platform`,
 * `platform_machine`), as build names them and pip matches a wheel's
 * platform tag: the first, in name order, whose tag names that platform and
 * machine; undefined when none does.
 */
export function variantFor(platforms: readonly string[], machine: { sysPlatform: string; machine: string }): string | undefined {
  return [...platforms].sort().find((p) => {
    const env = environmentOfTag(p);
    return env !== undefined && env.sysPlatform === machine.sysPlatform && env.machine.toLowerCase() === machine.machine.toLowerCase();
  });
}

/** This machine as a marker environment names it (`sys_platform`, `platform_machine`): what `deps sync` installs for and `download` picks a variant for. */
export function hostMachine(): { sysPlatform: string; machine: string } {
  return { sysPlatform: process.platform, machine: os.machine() };
}
