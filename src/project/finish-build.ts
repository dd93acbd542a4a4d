/**
 * What follows the archive of every build, `build` and `prepare/submit
 * --rebuild` alike: the SBOM beside it, the signature when a key is
 * configured, and the signed provenance then. When one of them cannot be
 * written, the archive and everything written beside it go too, so a build
 * never ends as a success without them.
 */
import path from 'node:path';
import { WorkFailedError, errnoCode } from '../errors.js';
import { outputDirError } from '../io/fs-errors.js';
import type { ManifestView } from '../attest/files.js';
import type { SbomDependency } from '../attest/sbom.js';
import { finishBuildSignature, signatureFileOf, type SigningKey } from '../signing/files.js';

export interface BuiltArchive {
  archive: string;
  sha256File?: string;
  sha256: string;
  size: number;
  /** The integrity listing's sha256, for the signature. */
  contentsSha256: string;
  members: { path: string; sha256: string }[];
  manifest: ManifestView;
  plugin: { name: string; version: string };
  /** The SBOM's libraries when not the manifest's declared ones (build --wheels: the packed wheels). */
  dependencies?: SbomDependency[];
}

export interface FinishOptions {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  key: SigningKey | undefined;
  parameters: { plugin: { name: string; version: string }; includeTests: boolean; allowSecrets: string[]; sourceDateEpoch: number | null };
  startedOn: number;
  now: number;
  /** How the output folder is named in a message (e.g. `--out <dir>`). */
  flag: string;
}

export interface Finished {
  sbom: { file: string };
  signature?: { file: string; keyId: string; keySource: string };
  provenance?: { file: string; keyId: string; slsaLevel: string; commit?: string };
}

export async function finishBuild(built: BuiltArchive, o: FinishOptions): Promise<Finished> {
  const attest = await import('../attest/files.js');
  const input = {
    archive: built.archive,
    sha256: built.sha256,
    members: built.members,
    manifest: built.manifest,
    dependencies: built.dependencies,
    parameters: o.parameters,
    projectDir: o.projectDir,
    env: o.env,
    startedOn: o.startedOn,
    now: o.now,
  };
  const sbom = await writeBeside(built, 'the SBOM', o.flag, () => attest.writeSbom(input));
  const out: Finished = { sbom: { file: sbom.file } };
  // A signature that cannot be written takes the archive with it (finishBuildSignature), and the SBOM too.
  const doc = await finishBuildSignature(built, o.key, o.now).catch(async (err: unknown) => {
    await attest.removeStale(sbom.file);
    throw err;
  });
  if (doc && o.key) {
    const key = o.key;
    out.signature = { file: signatureFileOf(built.archive), keyId: doc.key_id, keySource: key.source };
    out.provenance = await writeBeside(built, 'the provenance', o.flag, () => attest.writeProvenance(input, sbom, key), [
      sbom.file,
      signatureFileOf(built.archive),
    ]);
  } else {
    await attest.removeStale(attest.provenanceFileOf(built.archive));
  }
  return out;
}

async function writeBeside<T>(
  built: { archive: string; sha256File?: string },
  what: string,
  flag: string,
  write: () => Promise<T>,
  also: string[] = [],
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const { removeStale, provenanceFileOf, sbomFileOf } = await import('../attest/files.js');
    const files = [built.archive, built.sha256File, sbomFileOf(built.archive), provenanceFileOf(built.archive), ...also];
    await Promise.all(files.filter((f): f is string => Boolean(f)).map((f) => removeStale(f)));
    const dir = path.dirname(built.archive);
    throw (
      outputDirError(err, { action: `write ${what}`, dir, flag, suffix: '; the archive was removed' }) ??
      new WorkFailedError(`cannot write ${what} beside the archive (${errnoCode(err) ?? (err as Error).message}); the archive was removed`, {
        code: 'CANNOT_WRITE',
        hint: 'check that the output folder is writable, then build again',
        cause: err,
      })
    );
  }
}
