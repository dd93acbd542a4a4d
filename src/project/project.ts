/**
 * One plugin project, loaded once per command run: its manifest's bytes
 * and parse, the file list the archive would hold, and the validation
 * (the manifest rules and the one Python scan), each computed on first use
 * and kept. `check` hands one Project to every step, and `build`,
 * `validate`, `prepare` and `submit` take it instead of reading the files
 * again. Nothing here is cached across runs (a test running `main` twice
 * in one process gets two projects).
 */
import { createHash } from 'node:crypto';
import type { ParsedManifest } from '../core/manifest/index.js';
import type { ProjectSources } from './types.js';
import type { ValidationReport } from './validate.js';

export interface Project extends ProjectSources {
  /** validate's report with the default options (no --strict, no --security), run once. */
  validation(): Promise<ValidationReport>;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

export function loadProject(dir: string, env: NodeJS.ProcessEnv): Project {
  const manifestBytes = once(async () => (await import('../core/manifest/read.js')).readManifestFile(dir));
  // Once validation is asked for, the manifest's modules (yaml, semver, the schema) load only after the
  // Python scan has started, so that process starts up while they load instead of after.
  let scanGate: Promise<void> | undefined;
  let scanStarted = () => {};
  const project: Project = {
    dir,
    env,
    manifestBytes,
    manifest: once(async () => {
      await scanGate;
      const [{ parseManifest, MANIFEST_PATH }, bytes] = await Promise.all([import('../core/manifest/index.js'), manifestBytes()]);
      return parseManifest(bytes, MANIFEST_PATH);
    }),
    files: once(async () => (await import('../core/package/file-list.js')).listProjectFiles(dir)),
    validation: once(async () => {
      scanGate = new Promise<void>((resolve) => (scanStarted = resolve));
      try {
        return await (await import('./validate.js')).validateProject(dir, { env, project, onScanStarted: scanStarted });
      } finally {
        scanStarted();
      }
    }),
    manifestSha256: once(async () =>
      createHash('sha256')
        .update(await manifestBytes())
        .digest('hex'),
    ),
  };
  return project;
}

/** The project's parsed manifest with its digest, as verifyArchive takes it (undefined when it cannot be read). */
export async function parsedOf(project: ProjectSources): Promise<{ sha256: string; parsed: ParsedManifest } | undefined> {
  try {
    return { sha256: await project.manifestSha256(), parsed: await project.manifest() };
  } catch {
    return undefined;
  }
}
