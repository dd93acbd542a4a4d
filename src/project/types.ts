/**
 * What the operations read of a project value (project/project.ts makes
 * it): a module of its own, so validate.ts can take one without importing
 * its maker.
 */
import type { ParsedManifest } from '../core/manifest/index.js';
import type { FileList } from '../core/package/file-list.js';

export interface ProjectSources {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** config/plugin.yaml's bytes; rejects as readManifestFile does (MANIFEST_NOT_FOUND, ...). */
  manifestBytes(): Promise<Buffer>;
  /** The manifest, parsed once. */
  manifest(): Promise<ParsedManifest>;
  /** sha256 of the manifest's bytes (to match them with what an archive holds). */
  manifestSha256(): Promise<string>;
  /** The files the archive would hold with the default options (validate's source files come from here). */
  files(): Promise<FileList>;
}
