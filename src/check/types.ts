/** The shapes of `check`: findings with stable rule ids, checks with a status, the report. */
import { formatDiagnostic } from '../core/manifest/format.js';

export type Level = 'error' | 'warning' | 'note';
export type Status = 'passed' | 'failed' | 'skipped';
export type Profile = 'pr' | 'release';
export const PROFILES: readonly Profile[] = ['pr', 'release'];
export const FORMATS = ['text', 'json', 'sarif', 'github'] as const;
export type Format = (typeof FORMATS)[number];

/** The checks, in the order they run. `release` marks the ones only --profile release runs. */
export const CHECKS = [
  { id: 'validate', title: 'manifest and code checks (validate)', release: false },
  { id: 'security', title: 'security lint of src/ (validate --security)', release: false },
  { id: 'test', title: "the plugin's tests (test)", release: false },
  { id: 'build', title: 'what would be packed (build --dry-run)', release: false },
  { id: 'verify', title: 'a built archive, as the marketplace checks it (verify)', release: false },
  { id: 'changelog', title: 'a CHANGELOG.md section for this version', release: false },
  { id: 'docs', title: 'docs/README.md written (not the template text)', release: false },
  { id: 'version', title: 'the version is greater than the published one', release: true },
  { id: 'permissions', title: 'newly required permissions accepted', release: true },
  { id: 'attest', title: 'an SBOM and signed build provenance (SLSA Build L1)', release: true },
] as const;
export type CheckId = (typeof CHECKS)[number]['id'];

export interface Finding {
  /** Stable: `<check>/<CODE>`, e.g. validate/UNKNOWN_HOOK, changelog/NO_SECTION, test/SKIPPED. */
  ruleId: string;
  level: Level;
  message: string;
  hint?: string;
  /** Relative to the project root, forward slashes. */
  file?: string;
  /** 1-based; absent when the finding has no position in a file. */
  line?: number;
  column?: number;
  /** Set when the project config turned the rule off (it no longer counts). */
  suppressed?: { reason: string };
  /** Set when the project config changed the level: the level the check gave. */
  configuredFrom?: Level;
}

export interface CheckOutcome {
  id: CheckId;
  title: string;
  status: Status;
  /** One line: what was found, or why it was skipped. */
  summary: string;
  findings: Finding[];
  durationMs: number;
  /** Check-specific data (the permission diff, test counts ...). */
  data?: Record<string, unknown>;
}

export interface CheckReport {
  profile: Profile;
  /** True when no error-level finding remains (after the project config). */
  ok: boolean;
  plugin: { name: string; version: string };
  allowSkipped: boolean;
  /** The project config file that was applied, if any. */
  config?: string;
  checks: CheckOutcome[];
  counts: { error: number; warning: number; note: number; suppressed: number; skipped: number };
}

/** Every finding of a report, in check order. */
export function allFindings(r: Pick<CheckReport, 'checks'>): Finding[] {
  return r.checks.flatMap((c) => c.findings);
}

/** One finding as a diagnostic line (file:line:column severity code message, and its hint); a note says note. */
export function findingText(f: Finding): string {
  const text = formatDiagnostic({
    severity: f.level === 'note' ? 'warning' : f.level,
    code: f.ruleId,
    message: f.message,
    hint: f.hint,
    file: f.file ?? '-',
    line: f.line ?? 0,
    column: f.column ?? 0,
  });
  return f.level === 'note' ? text.replace(' warning ', ' note ') : text;
}
