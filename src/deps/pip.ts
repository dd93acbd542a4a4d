/**
 * pip, run as the resolver and installer (never our own): `pip install
 * --dry-run --report` resolves the requirements for one target, `pip
 * download` fetches a file whose index gave no hash, `pip install
 * --require-hashes` installs a lock. pip's own configuration (pip.conf,
 * PIP_INDEX_URL, PIP_FIND_LINKS, a proxy) applies as for any pip run; the
 * flags given to `deps` are passed on.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkFailedError } from '../errors.js';
import { runPython, type PythonRun } from '../python/spawn.js';
import { normalizeName } from './requirement.js';
import { describeTarget, type Target } from './targets.js';

/** Where pip looks, from the command line (pip's configuration adds to it). */
export interface IndexOptions {
  indexUrl?: string;
  extraIndexUrls?: string[];
  findLinks?: string[];
  noIndex?: boolean;
}

export function indexArgs(o: IndexOptions): string[] {
  const args: string[] = [];
  if (o.indexUrl) args.push('--index-url', o.indexUrl);
  for (const u of o.extraIndexUrls ?? []) args.push('--extra-index-url', u);
  for (const l of o.findLinks ?? []) args.push('--find-links', l);
  if (o.noIndex) args.push('--no-index');
  return args;
}

export interface ResolvedFile {
  name: string;
  url?: string;
  path?: string;
  size?: number;
  sha256: string;
  kind: 'wheel' | 'sdist';
}

export interface ResolvedDist {
  /** PEP 503 normalized. */
  name: string;
  version: string;
  requiresPython?: string;
  requiresDist: string[];
  file: ResolvedFile;
}

const PIP_TIMEOUT_MS = 15 * 60_000;

export interface PipRunner {
  python: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export async function runPip(pip: PipRunner, args: string[]): Promise<PythonRun> {
  const env = { ...pip.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONUTF8: '1' };
  return runPython(pip.python, ['-m', 'pip', ...args], { env, cwd: pip.cwd, timeoutMs: PIP_TIMEOUT_MS });
}

/** pip's own words for a failed run: its ERROR lines, else its last line. */
export function pipSays(r: PythonRun): string {
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('ERROR:')).map((l) => l.slice(6).trim());
  return (errors.length ? errors.join('; ') : (lines.at(-1) ?? `pip exited with ${r.code ?? r.signal ?? r.error}`)).slice(0, 600);
}

export function pipMissing(r: PythonRun): boolean {
  return /No module named pip\b/.test(r.stderr);
}

export function noPip(python: string): WorkFailedError {
  return new WorkFailedError(`${python} has no pip`, {
    code: 'PIP_NOT_FOUND',
    hint: 'install pip for that Python (Debian: apt install python3-pip), or pass --python with one that has it',
  });
}

function targetArgs(t: Target, scratch: string): string[] {
  // Another platform: wheels only (pip cannot build for it), installed nowhere (--target in a scratch folder).
  return t.platform ? ['--only-binary=:all:', '--platform', t.platform, '--python-version', t.python, '--implementation', 'cp', '--target', scratch] : [];
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface ReportItem {
  download_info?: { url?: string; archive_info?: { hashes?: Record<string, string>; hash?: string }; dir_info?: unknown; vcs_info?: unknown };
  metadata?: { name?: string; version?: string; requires_python?: string; requires_dist?: string[] };
}

async function describeFile(item: ReportItem, fetchHash: () => Promise<{ sha256: string; size: number }>): Promise<ResolvedFile> {
  const info = item.download_info ?? {};
  const url = info.url ?? '';
  if (info.dir_info || info.vcs_info || !url) {
    throw new WorkFailedError(`${item.metadata?.name ?? 'a requirement'} resolves to ${url || 'a folder'}, which is not a file an index serves`, {
      code: 'DEPS_UNLOCKABLE',
      hint: 'name released versions from an index or a --find-links folder',
    });
  }
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  const kind = name.endsWith('.whl') ? 'wheel' : 'sdist';
  let sha256 = info.archive_info?.hashes?.sha256 ?? (info.archive_info?.hash?.startsWith('sha256=') ? info.archive_info.hash.slice(7) : undefined);
  let size: number | undefined;
  if (url.startsWith('file:')) {
    const file = fileURLToPath(url);
    size = (await stat(file)).size;
    sha256 ??= await sha256File(file);
    return { name, path: file, size, sha256, kind };
  }
  if (!sha256) ({ sha256, size } = await fetchHash());
  // The URL without credentials or a fragment: what is locked is where the file lives, never a password.
  const clean = new URL(url);
  clean.username = '';
  clean.password = '';
  clean.hash = '';
  return { name, url: clean.toString(), size, sha256, kind };
}

/** pip's resolution of `requirements` for one target: every distribution it would install, with the file it chose. */
export async function resolveTarget(pip: PipRunner, target: Target, requirements: string[], index: IndexOptions): Promise<ResolvedDist[]> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'plexichat-deps-'));
  try {
    const report = path.join(scratch, 'report.json');
    const args = [
      'install',
      '--dry-run',
      '--ignore-installed',
      '--quiet',
      '--report',
      report,
      ...targetArgs(target, path.join(scratch, 'target')),
      ...indexArgs(index),
    ];
    const r = await runPip(pip, [...args, ...requirements]);
    if (pipMissing(r)) throw noPip(pip.python);
    if (r.code !== 0) {
      throw new WorkFailedError(`pip could not resolve the dependencies for ${describeTarget(target)}: ${pipSays(r)}`, {
        code: 'DEPS_UNRESOLVED',
        hint: 'check the ranges in config/plugin.yaml dependencies.packages, and that the index (--index-url, --find-links or pip.conf) has them',
      });
    }
    const doc = JSON.parse(await readFile(report, 'utf8')) as { install?: ReportItem[] };
    const out: ResolvedDist[] = [];
    for (const item of doc.install ?? []) {
      const name = normalizeName(item.metadata?.name ?? '');
      const version = item.metadata?.version ?? '';
      const fetchHash = () => downloadedHash(pip, target, `${name}==${version}`, index);
      out.push({
        name,
        version,
        requiresPython: item.metadata?.requires_python || undefined,
        requiresDist: item.metadata?.requires_dist ?? [],
        file: await describeFile(item, fetchHash),
      });
    }
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The sha256 and size of the file pip downloads for a pinned requirement (an index that gives no hash). */
async function downloadedHash(pip: PipRunner, target: Target, pinned: string, index: IndexOptions): Promise<{ sha256: string; size: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plexichat-deps-dl-'));
  try {
    const platform = target.platform ? ['--only-binary=:all:', '--platform', target.platform, '--python-version', target.python, '--implementation', 'cp'] : [];
    const r = await runPip(pip, ['download', '--no-deps', '--quiet', '--dest', dir, ...platform, ...indexArgs(index), pinned]);
    if (r.code !== 0) throw new WorkFailedError(`pip could not download ${pinned} to hash it: ${pipSays(r)}`, { code: 'DEPS_UNRESOLVED' });
    const [name] = await readdir(dir);
    const file = path.join(dir, name);
    return { sha256: await sha256File(file), size: (await stat(file)).size };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
