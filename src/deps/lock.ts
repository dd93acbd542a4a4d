/**
 * `deps lock` and `deps lock --check` as operations: resolve the manifest's
 * `dependencies.packages` (with what the bundled SDK needs and the dev
 * tools `test` needs) for each target with pip, and merge the resolutions
 * into one PEP 751 lock; or compare a lock with the manifest without pip.
 */
import path from 'node:path';
import { satisfies, validRange } from '@renovatebot/pep440';
import { errnoCode, UsageError, WorkFailedError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readRegularFile } from '../io/read-file.js';
import { SDK_REQUIRES } from '../python/wheel.js';
import { DEV_GROUP, formatLock, LOCK_FILE, parseLock, targetsOf, type LockedFile, type LockedPackage, type LockFile } from './lock-file.js';
import { noPip, resolveTarget, type IndexOptions, type PipRunner, type ResolvedDist } from './pip.js';
import { admits, normalizeName, parseRequirement, type Requirement } from './requirement.js';
import { describeTarget, markerOf, sameTarget, targetOfTag, validPython, type Target } from './targets.js';

/** What `test` needs in the plugin's environment, locked in the dev group. */
export const DEV_REQUIREMENTS = ['pytest'];

export interface DepsInputs {
  requirements: string[];
  python?: string;
}

/** The manifest's dependencies, each requirement checked. */
export function requirementsOf(inputs: DepsInputs): Requirement[] {
  return inputs.requirements.map((text) => {
    const r = parseRequirement(text);
    if ('error' in r)
      throw new WorkFailedError(`config/plugin.yaml dependencies.packages: ${r.error}`, {
        code: 'DEPS_INVALID',
        hint: 'write each as name>=version, e.g. pandas>=1.3.0',
      });
    return r;
  });
}

/** True when a target's Python is inside the manifest's `dependencies.python` (a PEP 440 range; anything else is not checked). */
export function pythonAllowed(range: string | undefined, python: string): boolean {
  if (!range || !validRange(range)) return true;
  return satisfies(python, range);
}

export interface HostPython {
  path: string;
  target: Target;
  /** The most specific platform tag of this machine (for another Python version on it). */
  tag: string;
}

const HOST_PROBE = [
  'import sys, json, platform',
  'from pip._vendor.packaging.tags import sys_tags',
  'print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "sys_platform": sys.platform, "machine": platform.machine(), "tag": next(iter(sys_tags())).platform}))',
].join('\n');

export async function probeHost(pip: PipRunner): Promise<HostPython> {
  const { runPython } = await import('../python/spawn.js');
  const r = await runPython(pip.python, ['-c', HOST_PROBE], { env: pip.env, cwd: pip.cwd, timeoutMs: 30_000 });
  if (r.code !== 0) {
    if (/No module named 'pip/.test(r.stderr)) throw noPip(pip.python);
    throw new WorkFailedError(`${pip.python} did not answer as a Python with pip: ${r.stderr.trim().split('\n').pop() ?? r.error}`, {
      code: 'PIP_NOT_FOUND',
      hint: 'pass --python with an interpreter that has pip',
    });
  }
  const h = JSON.parse(r.stdout) as { python: string; sys_platform: string; machine: string; tag: string };
  return { path: pip.python, target: { python: h.python, sysPlatform: h.sys_platform, machine: h.machine }, tag: h.tag };
}

/** Usage errors in the target flags, before any Python runs. */
export function checkTargetFlags(flags: { pythonVersions?: string[]; platforms?: string[] }): void {
  for (const v of flags.pythonVersions ?? []) if (!validPython(v)) throw new UsageError(`--python-version ${v}: expected major.minor, e.g. 3.11`);
  for (const tag of flags.platforms ?? []) {
    if (!targetOfTag('3.11', tag)) {
      throw new UsageError(`--platform ${tag}: not a wheel platform tag this CLI knows`, {
        hint: 'e.g. manylinux_2_17_x86_64, manylinux_2_17_aarch64, macosx_11_0_arm64, win_amd64',
      });
    }
  }
}

/** The targets to lock for: the flags, else the lock's own targets, else this machine. */
export function chooseTargets(host: HostPython, flags: { pythonVersions?: string[]; platforms?: string[] }, previous?: LockFile): Target[] {
  checkTargetFlags(flags);
  const versions = flags.pythonVersions ?? [];
  const platforms = flags.platforms ?? [];
  if (versions.length === 0 && platforms.length === 0) return previous ? targetsOf(previous) : [host.target];
  const out: Target[] = [];
  for (const v of versions.length ? versions : [host.target.python]) {
    if (platforms.length === 0) {
      out.push(v === host.target.python ? host.target : (targetOfTag(v, host.tag) as Target));
      continue;
    }
    for (const tag of platforms) out.push(targetOfTag(v, tag) as Target);
  }
  return out.filter((t, i) => out.findIndex((u) => sameTarget(t, u)) === i);
}

interface Merged {
  dist: ResolvedDist;
  files: Map<string, LockedFile>;
  runtime: Target[];
  dev: Target[];
}

/** Names reachable from the runtime roots through each distribution's Requires-Dist (extras followed only where asked for). */
function runtimeClosure(dists: ResolvedDist[], roots: Requirement[]): Set<string> {
  const byName = new Map(dists.map((d) => [d.name, d]));
  const seen = new Set<string>();
  const queue = roots.map((r) => ({ name: r.name, extras: r.extras }));
  while (queue.length) {
    const { name, extras } = queue.pop()!;
    const d = byName.get(name);
    if (!d) continue;
    const fresh = !seen.has(name);
    seen.add(name);
    for (const line of d.requiresDist) {
      const req = parseRequirement(line);
      if ('error' in req) continue;
      const extra = /\bextra\s*==\s*['"]([^'"]+)['"]/.exec(req.marker ?? '');
      if (extra && !extras.includes(normalizeName(extra[1]))) continue;
      if (fresh || extra) queue.push({ name: req.name, extras: req.extras });
    }
  }
  return seen;
}

function markerFor(m: Merged, all: Target[]): string | undefined {
  const everywhere = (ts: Target[]) => all.every((t) => ts.some((u) => sameTarget(t, u)));
  if (everywhere(m.runtime)) return undefined;
  const group = `'${DEV_GROUP}' in dependency_groups`;
  if (m.runtime.length === 0 && everywhere(m.dev)) return group;
  const alts = m.runtime.map(markerOf);
  for (const t of m.dev) if (!m.runtime.some((u) => sameTarget(t, u))) alts.push(`${markerOf(t)} and ${group}`);
  return alts.join(' or ');
}

export interface LockResult {
  lock: string;
  written: boolean;
  targets: Target[];
  packages: { name: string; version: string; group: 'runtime' | 'dev' }[];
}

export interface LockOptions {
  pip: PipRunner;
  host: HostPython;
  dir: string;
  inputs: DepsInputs;
  targets: Target[];
  index: IndexOptions;
}

export async function lockDependencies(o: LockOptions): Promise<LockResult> {
  const reqs = requirementsOf(o.inputs);
  const sdk = SDK_REQUIRES.map((t) => parseRequirement(t) as Requirement);
  const dev = DEV_REQUIREMENTS.map((t) => parseRequirement(t) as Requirement);
  for (const t of o.targets) {
    if (!pythonAllowed(o.inputs.python, t.python)) {
      throw new WorkFailedError(`${describeTarget(t)} is outside the manifest's dependencies.python (${o.inputs.python})`, {
        code: 'DEPS_TARGET_OUTSIDE',
        hint: 'lock for a Python version the manifest allows (--python-version), or widen dependencies.python',
      });
    }
  }
  const texts = [...reqs, ...sdk, ...dev].map((r) => r.text);
  // One pip at a time: two share pip's cache folder, and pip does not promise that is safe.
  const resolved: ResolvedDist[][] = [];
  for (const t of o.targets) resolved.push(await resolveTarget(o.pip, t, texts, o.index));
  const merged = new Map<string, Merged>();
  o.targets.forEach((target, i) => {
    const runtime = runtimeClosure(resolved[i], [...reqs, ...sdk]);
    for (const d of resolved[i]) {
      const key = `${d.name}==${d.version}`;
      const m = merged.get(key) ?? { dist: d, files: new Map(), runtime: [], dev: [] };
      merged.set(key, m);
      const f = d.file;
      // A local file is named relative to the lock (PEP 751), so a wheelhouse in the repository works on every clone.
      const where = f.url ? { url: f.url } : { path: path.relative(o.dir, f.path!).split(path.sep).join('/') };
      m.files.set(f.name, { name: f.name, ...where, ...(f.size === undefined ? {} : { size: f.size }), hashes: { sha256: f.sha256 } });
      (runtime.has(d.name) ? m.runtime : m.dev).push(target);
    }
  });
  const packages: LockedPackage[] = [...merged.values()]
    .sort((a, b) => a.dist.name.localeCompare(b.dist.name) || a.dist.version.localeCompare(b.dist.version))
    .map((m) => {
      const files = [...m.files.values()].sort((a, b) => a.name.localeCompare(b.name));
      const marker = markerFor(m, o.targets);
      return {
        name: m.dist.name,
        version: m.dist.version,
        ...(marker ? { marker } : {}),
        ...(m.dist.requiresPython ? { 'requires-python': m.dist.requiresPython } : {}),
        ...(files.some((f) => f.name.endsWith('.whl')) ? { wheels: files.filter((f) => f.name.endsWith('.whl')) } : {}),
        ...(files.some((f) => !f.name.endsWith('.whl')) ? { sdist: files.find((f) => !f.name.endsWith('.whl')) } : {}),
      };
    });
  const lock: LockFile = {
    'lock-version': '1.0',
    environments: o.targets.map(markerOf),
    ...(o.inputs.python ? { 'requires-python': o.inputs.python } : {}),
    'created-by': 'plexichat-plugin-cli',
    'dependency-groups': [DEV_GROUP],
    packages,
    tool: {
      plexichat: {
        requirements: o.inputs.requirements,
        'sdk-requirements': SDK_REQUIRES,
        'dev-requirements': DEV_REQUIREMENTS,
        ...(o.inputs.python ? { python: o.inputs.python } : {}),
        targets: o.targets.map((t) => ({
          python: t.python,
          ...(t.platform ? { platform: t.platform } : {}),
          'sys-platform': t.sysPlatform,
          machine: t.machine,
        })),
      },
    },
  };
  const file = path.join(o.dir, LOCK_FILE);
  const text = formatLock(lock);
  const before = await readRegularFile(file, { shown: LOCK_FILE }).then(
    (b) => b.toString('utf8'),
    () => undefined,
  );
  if (before !== text) await writeFileAtomic(file, text);
  return {
    lock: file,
    written: before !== text,
    targets: o.targets,
    packages: packages.map((p) => ({
      name: p.name,
      version: p.version,
      group: p.marker && !p.marker.includes(' or ') && p.marker.endsWith(`'${DEV_GROUP}' in dependency_groups`) ? 'dev' : 'runtime',
    })),
  };
}

/** The lock at the project root, or LOCK_NOT_FOUND. */
export async function readLock(dir: string): Promise<LockFile> {
  const file = path.join(dir, LOCK_FILE);
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, { shown: LOCK_FILE, maxBytes: 16 * 1024 * 1024 });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new WorkFailedError(`${LOCK_FILE} not found`, { code: 'LOCK_NOT_FOUND', hint: 'run `plexichat-plugin deps lock` and commit pylock.toml' });
    }
    throw err;
  }
  return parseLock(bytes.toString('utf8'));
}

export interface LockProblem {
  /** The requirement (or input) concerned. */
  subject: string;
  problem: string;
}

/**
 * What makes a lock no longer right for the manifest, without pip: a
 * requirement missing from the lock or locked outside its range, a root no
 * longer asked for, a target outside dependencies.python, the SDK's or the
 * dev tools' needs changed (another CLI version). Empty: the lock holds.
 */
export function lockProblems(lock: LockFile, inputs: DepsInputs): LockProblem[] {
  const problems: LockProblem[] = [];
  const reqs = requirementsOf(inputs);
  const lockedRoots = new Map<string, string>();
  for (const text of lock.tool.plexichat.requirements) {
    const r = parseRequirement(text);
    if (!('error' in r)) lockedRoots.set(r.name, r.text);
  }
  const versions = (name: string) => lock.packages.filter((p) => normalizeName(p.name) === name && !(p.marker ?? '').includes('dependency_groups'));
  for (const r of reqs) {
    const locked = versions(r.name);
    if (locked.length === 0) problems.push({ subject: r.text, problem: 'not in the lock (added to the manifest since it was locked)' });
    else {
      const outside = locked.filter((p) => !admits(r, p.version));
      if (outside.length)
        problems.push({ subject: r.text, problem: `the lock has ${outside.map((p) => `${p.name} ${p.version}`).join(', ')}, outside ${r.specifier}` });
    }
    lockedRoots.delete(r.name);
  }
  for (const [, text] of lockedRoots) problems.push({ subject: text, problem: 'locked, but no longer in the manifest' });
  for (const t of targetsOf(lock)) {
    if (!pythonAllowed(inputs.python, t.python)) problems.push({ subject: describeTarget(t), problem: `outside dependencies.python (${inputs.python})` });
  }
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(lock.tool.plexichat['sdk-requirements'], SDK_REQUIRES)) {
    problems.push({
      subject: 'the SDK',
      problem: `this CLI's SDK needs ${SDK_REQUIRES.join(', ')}; the lock was made for ${lock.tool.plexichat['sdk-requirements'].join(', ') || 'nothing'}`,
    });
  }
  if (!same(lock.tool.plexichat['dev-requirements'], DEV_REQUIREMENTS)) {
    problems.push({
      subject: 'the dev tools',
      problem: `this CLI's dev group is ${DEV_REQUIREMENTS.join(', ')}; the lock has ${lock.tool.plexichat['dev-requirements'].join(', ')}`,
    });
  }
  return problems;
}

export function staleLock(problems: LockProblem[]): WorkFailedError {
  const first = problems[0];
  return new WorkFailedError(
    `${LOCK_FILE} no longer matches config/plugin.yaml: ${first.subject}: ${first.problem}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
    { code: 'LOCK_STALE', hint: 'run `plexichat-plugin deps lock` and commit pylock.toml', details: { lockProblems: problems } },
  );
}
