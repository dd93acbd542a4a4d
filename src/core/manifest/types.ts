/**
 * The manifest model: config/plugin.yaml as the runbook writes it. The type
 * is generated from its JSON Schema (schemas/files/plugin.schema.json), so
 * what is required here is what the validator requires.
 */
export type { Manifest } from './schema-types.generated.js';

export type Severity = 'error' | 'warning';

/** One finding, always with a location a user can jump to. */
export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. MANIFEST_SYNTAX, UNKNOWN_HOOK, UNDECLARED_PERMISSION. */
  code: string;
  message: string;
  /** How to fix it. */
  hint?: string;
  /** Path relative to the project root, with forward slashes. */
  file: string;
  /** 1-based; 0 when the finding is about the whole file. */
  line: number;
  column: number;
}

export const MANIFEST_PATH = 'config/plugin.yaml';
/** Larger manifests are refused before parsing (alias bombs, junk): by `validate`, `verify` and the marketplace. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
