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
 * rewrites), and its platform tag must fit one of the archive's targets.
 */
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

/** The platform tags of a wheel file name (`a-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`), or undefined when it is not one. */
export function wheelPlatformTags(fileName: string): string[] | undefined {
  const m = /^([A-Za-z0-9_.]+)-([A-Za-z0-9_.!+]+)(?:-\d[A-Za-z0-9_.]*)?-([A-Za-z0-9_.]+)-([A-Za-z0-9_.]+)-([A-Za-z0-9_.]+)\.whl$/.exec(fileName);
  return m ? m[5].split('.') : undefined;
}

export function isPureWheel(fileName: string): boolean {
  return wheelPlatformTags(fileName)?.includes('any') ?? false;
}

/** Whether a wheel runs on one of the targets: a pure wheel everywhere, else one of its tags names a target's platform and machine. */
export function wheelFits(fileName: string, targets: readonly WheelTarget[]): boolean {
  const tags = wheelPlatformTags(fileName);
  if (!tags) return false;
  if (tags.includes('any')) return true;
  return tags.some((tag) => {
    const env = environmentOfTag(tag);
    return env !== undefined && targets.some((t) => t.sysPlatform === env.sysPlatform && t.machine === env.machine);
  });
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
    if (!wheelFits(file, index.targets)) {
      const tags = wheelPlatformTags(file);
      out.push({
        code: 'WHEEL_PLATFORM_MISMATCH',
        entry,
        message: tags
          ? `built for ${tags.join('.')}, not for this archive's platform (${index.platform})`
          : 'not a wheel file name (name-version-python-abi-platform.whl)',
      });
    }
  }
  for (const w of index.wheels)
    if (!hashes.has(w.path)) out.push({ code: 'WHEEL_MISSING', entry: w.path, message: `listed in ${WHEEL_INDEX_PATH} but not in the archive` });
  return out;
}
