/**
 * Build a plugin archive from a project folder: list the files, refuse
 * unsafe ones, pack them into `<out>/<name>-<version>.zip` through a temp
 * file that is renamed into place only when complete, and write the
 * `.sha256` beside it. No CLI or process dependencies.
 */
import { writeSourceRecord } from './source-record.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, CliError, WorkFailedError, errnoCode } from '../../errors.js';
import { openAtomic, removeStalePartials, writeFileAtomic, type AtomicFile } from '../../io/atomic.js';
import { outputDirError } from '../../io/fs-errors.js';
import { listProjectFiles, type FileIdentity, type FileList } from './file-list.js';
export { leftOutLine } from './file-list.js';
import { pack, PackReadError, type MemberFacts, type PackFile } from './pack.js';
import { compareNames } from './integrity.js';
import type { IntegrityFile } from './integrity.js';
import type { SecretFinding } from './secrets.js';
import { archiveFileName } from '../plugin-name.js';

export interface BuildArchiveOptions {
  projectDir: string;
  /** Absolute output folder. */
  outDir: string;
  plugin: { name: string; version: string };
  includeTests?: boolean;
  /** Paths (relative to the project) allowed although they look like secrets. */
  allowSecrets?: string[];
  /** Files never packed nor read (the CLI's own stdout and stderr). */
  exclude?: readonly FileIdentity[];
  dryRun?: boolean;
  /** Unix seconds for entry timestamps (SOURCE_DATE_EPOCH). */
  mtime?: number;
  level?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /**
   * Awaited with the complete archive's temp path, and what the writer
   * knows of it, before it is renamed into place; when it rejects, the temp
   * file is removed and nothing is written. (Used to pack while validation
   * still runs, and to run the marketplace's archive checks on what was made.)
   */
  beforeCommit?: (tempPath: string, packed: PackedFacts) => Promise<void>;
  /** Generated members packed beside the project's files (build --wheels: the wheels and their section); the project may not pack these names. */
  extra?: readonly PackFile[];
  /** The archive's file name when not `<name>-<version>.zip` (a platform variant). */
  fileName?: string;
  /** With the environment, a build records its sources' stamps and digests in the per-user cache (source-record.ts). */
  env?: NodeJS.ProcessEnv;
  /** Files from outside the project packed too (a workspace's shared libraries: docs/workspace.md), each with the rule that adds it. */
  extraFiles?: readonly (PackFile & { rule: string })[];
}

/** What the writer knows of the archive it has just written: no one inflates it again to learn it. */
export interface PackedFacts {
  /** Every packed file (the integrity listing's records): path, size, sha256. */
  integrity: IntegrityFile[];
  /** The integrity listing's bytes as packed. */
  listingBytes: Buffer;
  /** The bytes of config/plugin.yaml as packed (absent when none was, or it is over MAX_MANIFEST_BYTES). */
  manifestBytes?: Buffer;
  /** Every member in archive order, the integrity listing last: size, CRC-32, sha256, compressed size, method, mode, offset. */
  members: MemberFacts[];
  /** The archive's sha256 and size. */
  sha256: string;
  size: number;
}

export type { MemberFacts };

export interface BuiltArchive {
  path: string;
  sha256Path: string;
  sha256: string;
  size: number;
  /** sha256 of the integrity listing's bytes (what a signature's `contents` covers). */
  contentsSha256: string;
  /** Every member as written (see PackedFacts.members). */
  members: MemberFacts[];
}

export interface BuildOutcome {
  list: FileList;
  /** Refused secrets (name and content); non-empty means nothing was written. */
  secrets: SecretFinding[];
  /** --allow-secret values that matched no packed file. */
  unusedAllows: string[];
  bytesIn: number;
  archive?: BuiltArchive;
}

export function archiveName(plugin: { name: string; version: string }): string {
  return archiveFileName(plugin.name, plugin.version);
}

/** Normalize an --allow-secret value to an entry path. */
export function normalizeAllow(projectDir: string, value: string): string {
  const abs = path.resolve(projectDir, value);
  return path.relative(projectDir, abs).split(path.sep).join('/').normalize('NFC');
}

export async function buildArchive(o: BuildArchiveOptions): Promise<BuildOutcome> {
  const allow = new Set((o.allowSecrets ?? []).map((a) => normalizeAllow(o.projectDir, a)));
  const list = await listProjectFiles(o.projectDir, { includeTests: o.includeTests, allowSecrets: allow, outDir: o.outDir, exclude: o.exclude });
  addExtra(list, o.extra);
  if (o.extraFiles?.length) addExtraFiles(list, o.extraFiles);
  const packed = new Set(list.files.map((f) => f.path));
  const unusedAllows = [...allow].filter((a) => !packed.has(a));
  const outcome: BuildOutcome = { list, secrets: [...list.secrets], unusedAllows, bytesIn: 0 };
  if (list.problems.length > 0) return outcome;

  // Scan only (no compression, nothing written) for a dry run, or when a
  // name already refuses the build and every other secret should be listed too.
  if (o.dryRun || list.secrets.length > 0) {
    const r = await runPack(o, list, allow);
    refuseSecrets(outcome, r.secrets);
    outcome.bytesIn = r.bytesIn;
    return outcome;
  }

  const finalPath = path.join(o.outDir, o.fileName ?? archiveName(o.plugin));
  await removeStalePartials(finalPath);
  let tmp: AtomicFile;
  try {
    tmp = await openAtomic(finalPath);
  } catch (err) {
    throw (
      outputDirError(err, { action: `write to ${o.outDir}`, dir: o.outDir, flag: '--out <dir>', suffix: '; nothing was written' }) ??
      new WorkFailedError(`cannot write to ${o.outDir} (${errnoCode(err) ?? (err as Error).message})`, {
        code: 'CANNOT_WRITE',
        hint: 'check that the output folder is writable, or pass --out <dir>',
        cause: err,
      })
    );
  }
  try {
    const hash = createHash('sha256');
    let size = 0;
    // Double-buffered sink: collect about 1 MiB, then write it while the next is prepared.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let inflight: Promise<void> = Promise.resolve();
    let writeError: { error: unknown } | undefined;
    const flush = async () => {
      await inflight;
      if (writeError) throw writeError.error;
      if (pending.length === 0) return;
      const bufs = pending;
      pending = [];
      pendingBytes = 0;
      inflight = writeAll(tmp.handle, bufs).then(
        () => undefined,
        (err: unknown) => {
          writeError = { error: err };
        },
      );
    };
    const r = await runPack(o, list, allow, async (chunk) => {
      hash.update(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= 1024 * 1024) await flush();
    });
    await flush();
    await flush();
    outcome.bytesIn = r.bytesIn;
    if (r.secrets.length > 0) {
      refuseSecrets(outcome, r.secrets);
      await tmp.abort();
      return outcome;
    }
    if (!r.written) throw new Error('pack wrote no archive');
    const sha256 = hash.digest('hex');
    const packed: PackedFacts = { integrity: r.integrity, ...r.written, sha256, size };
    await o.beforeCommit?.(tmp.tempPath, packed);
    const sha256Path = `${finalPath}.sha256`;
    // Never leave a stale checksum next to a new archive.
    await fs.rm(sha256Path, { force: true });
    await tmp.commit();
    await writeFileAtomic(sha256Path, `${sha256}  ${path.basename(finalPath)}\n`);
    if (o.env) await writeSourceRecord(o.env, o.projectDir, list.files, r.integrity);
    const { members } = packed;
    outcome.archive = { path: finalPath, sha256Path, sha256, size, contentsSha256: members[members.length - 1].sha256, members };
    return outcome;
  } catch (err) {
    await tmp.abort();
    const mapped =
      err instanceof CliError
        ? undefined
        : outputDirError(err, { action: `write the archive to ${o.outDir}`, dir: o.outDir, flag: '--out <dir>', suffix: '; nothing was written' });
    throw mapped ?? err;
  }
}

/** Generated members join the list; a project file of the same folder is a problem (the generated ones win nowhere silently). */
function addExtra(list: FileList, extra: readonly PackFile[] | undefined): void {
  if (!extra?.length) return;
  const dirs = new Set(extra.map((f) => f.path.split('/')[0]));
  for (const f of list.files) {
    const top = f.path.split('/')[0];
    if (dirs.has(top) && f.path.includes('/')) {
      list.problems.push({ code: 'RESERVED_NAME', path: f.path, message: `${f.path}: ${top}/ is reserved for the wheels build --wheels packs` });
    }
  }
  list.files.push(...extra);
}

/** Secrets found in the content: recorded, and their files' decisions say "refused" (not "kept"). */
function refuseSecrets(outcome: BuildOutcome, found: SecretFinding[]): void {
  outcome.secrets.push(...found);
  const rules = new Map<string, string[]>();
  for (const s of found) rules.set(s.file, [...(rules.get(s.file) ?? []), s.rule]);
  for (const d of outcome.list.decisions) {
    const r = rules.get(d.path.normalize('NFC'));
    if (r && d.action === 'kept') Object.assign(d, { action: 'refused', rule: `secret: ${r.join(', ')}` });
  }
}

async function runPack(o: BuildArchiveOptions, list: FileList, allow: ReadonlySet<string>, sink?: (chunk: Buffer) => Promise<void>) {
  try {
    return await pack({
      files: list.files,
      plugin: o.plugin,
      sink,
      mtime: o.mtime,
      level: o.level,
      allowSecrets: allow,
      signal: o.signal,
      onProgress: o.onProgress,
    });
  } catch (err) {
    if (o.signal?.aborted) throw new CancelledError('build cancelled; no archive was written');
    if (err instanceof PackReadError) {
      throw new WorkFailedError(err.message, {
        code: err.code === 'CHANGED' ? 'FILE_CHANGED' : 'UNREADABLE',
        hint: err.code === 'CHANGED' ? 'run the build again when nothing is writing to the project' : `make ${err.file} readable, or add it to .pluginignore`,
        cause: err,
      });
    }
    throw err;
  }
}

/** writev until every byte is written (a short write is rare on a regular file, but allowed). */
async function writeAll(handle: fs.FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    const total = rest.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await handle.writev(rest);
    if (bytesWritten >= total) return;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

/** Files from outside the project into the list; one whose entry path the project already has is a problem (nothing is built). */
function addExtraFiles(list: FileList, extra: readonly (PackFile & { rule: string })[]): void {
  const have = new Set(list.files.map((f) => f.path));
  for (const { rule, ...f } of extra) {
    if (have.has(f.path)) {
      list.problems.push({ code: 'LIBRARY_CLASH', path: f.path, message: `${f.path} is both a file of the plugin and of ${rule}: rename one of them` });
      continue;
    }
    list.files.push(f);
    list.decisions.push({ path: f.path, action: 'kept', rule });
  }
  list.files.sort((a, b) => compareNames(a.path, b.path));
}
