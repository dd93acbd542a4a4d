/**
 * The plugin's lock: PEP 751 `pylock.toml` at the project root, written by
 * `deps lock` and read by `deps sync`, `deps lock --check` and (later)
 * `build --wheels`. Standard fields carry what an installer needs (each
 * package's exact version, its files with size and sha256, a marker naming
 * the targets it belongs to); `[tool.plexichat]` records what was locked
 * (the manifest's requirements, the dev tools, the targets) so a stale lock
 * is found without running pip. The text is deterministic: no time stamps,
 * packages and files in name order, so the same resolution writes the same
 * bytes.
 */
import { parse, stringify } from 'smol-toml';
import { WorkFailedError } from '../errors.js';
import type { Target } from './targets.js';

export const LOCK_FILE = 'pylock.toml';
/** The dependency group of the tools `test` needs in the plugin's environment (pytest), never packed. */
export const DEV_GROUP = 'dev';

export interface LockedFile {
  name: string;
  url?: string;
  path?: string;
  size?: number;
  hashes: { sha256: string };
}

export interface LockedPackage {
  name: string;
  version: string;
  /** Which targets (and groups) the package belongs to; absent: every target, runtime. */
  marker?: string;
  'requires-python'?: string;
  wheels?: LockedFile[];
  sdist?: LockedFile;
}

export interface LockInputs {
  /** The manifest's `dependencies.packages`, as written. */
  requirements: string[];
  /** What the bundled SDK needs at run time (its Requires-Dist). */
  'sdk-requirements': string[];
  /** The dev group's roots (pytest). */
  'dev-requirements': string[];
  /** The manifest's `dependencies.python`, when it names one. */
  python?: string;
  targets: { python: string; platform?: string; 'sys-platform': string; machine: string }[];
}

export interface LockFile {
  'lock-version': string;
  environments: string[];
  'requires-python'?: string;
  'created-by': string;
  'dependency-groups'?: string[];
  packages: LockedPackage[];
  tool: { plexichat: LockInputs };
}

export function targetsOf(lock: LockFile): Target[] {
  return lock.tool.plexichat.targets.map((t) => ({ python: t.python, platform: t.platform, sysPlatform: t['sys-platform'], machine: t.machine }));
}

export function formatLock(lock: LockFile): string {
  const head = '# Written by `plexichat-plugin deps lock` (PEP 751). Change config/plugin.yaml and lock again; do not edit by hand.\n';
  return head + stringify(lock) + '\n';
}

const bad = (what: string) =>
  new WorkFailedError(`${LOCK_FILE} is not a lock this CLI can read: ${what}`, {
    code: 'LOCK_INVALID',
    hint: 'write it again with `plexichat-plugin deps lock`',
  });

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every(isString)) throw bad(`${what} must be a list of strings`);
  return v;
}

function file(v: unknown, where: string): LockedFile {
  const f = v as Partial<LockedFile> | null;
  if (typeof f !== 'object' || f === null || !isString(f.name)) throw bad(`${where} has no name`);
  const sha = f.hashes?.sha256;
  if (!isString(sha) || !/^[0-9a-f]{64}$/.test(sha)) throw bad(`${where} (${f.name}) has no sha256 hash`);
  if (f.url === undefined && f.path === undefined) throw bad(`${where} (${f.name}) has neither url nor path`);
  return { name: f.name, url: f.url, path: f.path, size: f.size, hashes: { sha256: sha } };
}

/** Parse and check the shape; a lock written by another tool or by hand in another shape is refused with what is wrong. */
export function parseLock(text: string): LockFile {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    throw bad(`TOML syntax: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc['lock-version'] !== '1.0') throw bad(`lock-version is ${JSON.stringify(doc['lock-version'])}, this CLI reads "1.0"`);
  const tool = (doc.tool as { plexichat?: Record<string, unknown> } | undefined)?.plexichat;
  if (!tool) throw bad('it has no [tool.plexichat] table (it was not written by `deps lock`)');
  const targets = tool.targets;
  if (!Array.isArray(targets) || targets.length === 0) throw bad('[tool.plexichat] names no targets');
  const packages = doc.packages ?? [];
  if (!Array.isArray(packages)) throw bad('packages must be an array of tables');
  return {
    'lock-version': '1.0',
    environments: strings(doc.environments ?? [], 'environments'),
    'requires-python': isString(doc['requires-python']) ? doc['requires-python'] : undefined,
    'created-by': isString(doc['created-by']) ? doc['created-by'] : '',
    'dependency-groups': doc['dependency-groups'] === undefined ? undefined : strings(doc['dependency-groups'], 'dependency-groups'),
    packages: packages.map((p: Record<string, unknown>, i: number) => {
      if (!isString(p.name) || !isString(p.version)) throw bad(`packages[${i}] needs a name and a version`);
      const where = `package ${p.name} ${p.version}`;
      return {
        name: p.name,
        version: p.version,
        marker: isString(p.marker) ? p.marker : undefined,
        'requires-python': isString(p['requires-python']) ? p['requires-python'] : undefined,
        wheels: p.wheels === undefined ? undefined : (p.wheels as unknown[]).map((w) => file(w, where)),
        sdist: p.sdist === undefined ? undefined : file(p.sdist, where),
      };
    }),
    tool: {
      plexichat: {
        requirements: strings(tool.requirements ?? [], 'tool.plexichat.requirements'),
        'sdk-requirements': strings(tool['sdk-requirements'] ?? [], 'tool.plexichat.sdk-requirements'),
        'dev-requirements': strings(tool['dev-requirements'] ?? [], 'tool.plexichat.dev-requirements'),
        python: isString(tool.python) ? tool.python : undefined,
        targets: targets.map((t: Record<string, unknown>, i: number) => {
          if (!isString(t.python) || !isString(t['sys-platform']) || !isString(t.machine)) throw bad(`tool.plexichat.targets[${i}] is incomplete`);
          return { python: t.python, platform: isString(t.platform) ? t.platform : undefined, 'sys-platform': t['sys-platform'], machine: t.machine };
        }),
      },
    },
  };
}
