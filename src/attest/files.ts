/**
 * The attestation files beside an archive, and how build writes them:
 *
 *   dist/<name>-<version>.cdx.json      the SBOM (sbom.ts), every build
 *   dist/<name>-<version>.intoto.jsonl  the provenance envelope (provenance.ts,
 *                                       dsse.ts), one line, signed builds only
 *
 * Written atomically after the archive is in place; a build that does not
 * sign removes a stale envelope, so an envelope beside an archive is always
 * that archive's build's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { cliVersion } from '../io/cli-version.js';
import { INTEGRITY_PATH } from '../core/package/integrity.js';
import { sha256Hex } from '../signing/verify.js';
import type { SigningKey } from '../signing/files.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, type Envelope } from './dsse.js';
import { makeStatement, SLSA_LEVEL } from './provenance.js';
import { declaredDependencies, makeSbom, serializeSbom, type SbomDependency } from './sbom.js';

export const CLI_NAME = 'plexichat-plugin-cli';

/** `x-1.0.0.zip` -> `x-1.0.0<suffix>` (an archive not named .zip: `<archive><suffix>`). */
function besideArchive(archive: string, suffix: string): string {
  return archive.endsWith('.zip') ? `${archive.slice(0, -4)}${suffix}` : `${archive}${suffix}`;
}

export function sbomFileOf(archive: string): string {
  return besideArchive(archive, '.cdx.json');
}

export function provenanceFileOf(archive: string): string {
  return besideArchive(archive, '.intoto.jsonl');
}

/** A file's bytes, undefined when it does not exist (other errors are thrown). */
export async function readIfExists(file: string, maxBytes: number): Promise<Buffer | undefined> {
  try {
    const st = await fs.stat(file);
    if (st.size > maxBytes) throw new Error(`it is over ${maxBytes} bytes`);
    return await fs.readFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The manifest's facts an SBOM and a statement carry. */
export interface ManifestView {
  plugin: { name: string; version: string; description?: string; author?: string };
  metadata?: { license?: string; homepage?: string };
  dependencies?: { core?: string; python?: string; packages?: string[] };
}

export interface BuildAttestationInput {
  archive: string;
  sha256: string;
  /** Every member as written (the integrity listing included: it is dropped here). */
  members: { path: string; sha256: string }[];
  manifest: ManifestView;
  /** The dependencies of the SBOM; default: the manifest's declared ones (a lock will pass its own). */
  dependencies?: SbomDependency[];
  /** The flags of the build, for externalParameters. */
  parameters: Record<string, unknown>;
  projectDir: string;
  env: NodeJS.ProcessEnv;
  startedOn: number;
  now: number;
}

/** Write `<name>-<version>.cdx.json`; returns its path and sha256. */
export async function writeSbom(b: BuildAttestationInput): Promise<{ file: string; sha256: string }> {
  const m = b.manifest;
  const doc = makeSbom({
    plugin: {
      name: m.plugin.name,
      version: String(m.plugin.version),
      description: m.plugin.description,
      author: m.plugin.author,
      license: m.metadata?.license,
      homepage: m.metadata?.homepage,
    },
    archive: { name: path.basename(b.archive), sha256: b.sha256 },
    files: b.members,
    requires: { core: m.dependencies?.core, python: m.dependencies?.python },
    dependencies: b.dependencies ?? declaredDependencies(m.dependencies?.packages),
    tool: { name: CLI_NAME, version: cliVersion() },
    timestamp: new Date(b.now).toISOString(),
    serialNumber: `urn:uuid:${randomUUID()}`,
  });
  const text = serializeSbom(doc);
  const file = sbomFileOf(b.archive);
  await writeFileAtomic(file, text);
  return { file, sha256: sha256Hex(text) };
}

/** The project's git commit and whether tracked files differ from it; undefined outside a git work tree (or without git). */
export async function gitState(projectDir: string, env: NodeJS.ProcessEnv): Promise<{ commit: string; dirty: boolean } | undefined> {
  const { git } = await import('../release/git.js');
  const head = await git(['rev-parse', '--verify', '-q', 'HEAD'], projectDir, env).catch(() => undefined);
  const commit = head?.code === 0 ? head.stdout.trim() : '';
  if (!/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  const status = await git(['status', '--porcelain', '--untracked-files=no'], projectDir, env).catch(() => undefined);
  return { commit, dirty: status?.code !== 0 || status.stdout.trim() !== '' };
}

/** Sign the provenance statement and write `<name>-<version>.intoto.jsonl` (one envelope, one line). */
export async function writeProvenance(
  b: BuildAttestationInput,
  sbom: { file: string; sha256: string },
  key: SigningKey,
): Promise<{ file: string; keyId: string; slsaLevel: string; commit?: string }> {
  const git = await gitState(b.projectDir, b.env);
  const statement = makeStatement({
    subjects: [
      { name: path.basename(b.archive), digest: { sha256: b.sha256 } },
      { name: path.basename(sbom.file), digest: { sha256: sbom.sha256 } },
    ],
    externalParameters: b.parameters,
    files: b.members.filter((m) => m.path !== INTEGRITY_PATH),
    git,
    cli: { name: CLI_NAME, version: cliVersion() },
    node: process.version,
    startedOn: new Date(b.startedOn).toISOString(),
    finishedOn: new Date(b.now).toISOString(),
  });
  const envelope: Envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), key.privateKey, key.keyId);
  const file = provenanceFileOf(b.archive);
  await writeFileAtomic(file, `${JSON.stringify(envelope)}\n`);
  return { file, keyId: key.keyId, slsaLevel: SLSA_LEVEL, ...(git ? { commit: git.commit } : {}) };
}

/** Remove a stale file of an earlier build (absent is fine; a folder in its place is not ours and stays). */
export async function removeStale(file: string): Promise<void> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (st && !st.isDirectory()) await fs.rm(file, { force: true });
}
