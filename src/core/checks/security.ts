/**
 * bandit's findings as validate's diagnostics (pure): `BANDIT_<test id>` at
 * the finding's line, severity from bandit's: HIGH an error, MEDIUM a
 * warning, LOW a note; with `--fail-on medium|low` those at or above that
 * level are errors too. A code-pattern review, not secret detection: the
 * messages say what bandit says and no more.
 */
import type { Diagnostic } from '../manifest/types.js';

/** One bandit finding, as src/python/bandit.ts reads it from bandit's JSON. */
export type BanditSeverity = 'LOW' | 'MEDIUM' | 'HIGH';

export interface BanditFinding {
  /** B602 ... */
  test: string;
  name: string;
  severity: BanditSeverity;
  confidence: string;
  message: string;
  moreInfo?: string;
  file: string;
  line: number;
  column: number;
}

export type FailOn = 'low' | 'medium' | 'high';
export const FAIL_ON: readonly FailOn[] = ['low', 'medium', 'high'];

const RANK: Record<BanditSeverity, number> = { LOW: 0, MEDIUM: 1, HIGH: 2 };
/** A finding that never fails validation (bandit's LOW, below --fail-on): listed under Notes. */
export type Note = Omit<Diagnostic, 'severity'> & { severity: 'info' };

const OWN = { LOW: 'info', MEDIUM: 'warning', HIGH: 'error' } as const;

export function banditDiagnostic(f: BanditFinding, failOn: FailOn): Diagnostic | Note {
  const failing = RANK[f.severity] >= FAIL_ON.indexOf(failOn);
  const about = [`bandit ${f.test}`, f.name, `${f.severity.toLowerCase()} severity, ${f.confidence.toLowerCase()} confidence`].filter(Boolean).join(', ');
  return {
    severity: failing ? 'error' : OWN[f.severity],
    code: `BANDIT_${f.test}`,
    message: `${f.message} (${about})`,
    hint: `review this code${f.moreInfo ? ` (${f.moreInfo})` : ''}; if it is safe as written, end the line with '# nosec ${f.test}'`,
    file: f.file,
    line: f.line,
    column: f.column,
  };
}

export function banditMissing(tried: string[]): Diagnostic {
  return {
    severity: 'error',
    code: 'BANDIT_NOT_FOUND',
    message: `--security needs bandit, which was not found (tried ${tried.length ? tried.join(', ') : 'no interpreter or bandit on PATH'})`,
    hint: 'install it: sudo apt-get install -y bandit  (Debian/Ubuntu)  or  python3 -m pip install bandit; or run validate without --security',
    file: 'src',
    line: 0,
    column: 0,
  };
}

export function banditSkipped(s: { file: string; reason: string }): Diagnostic {
  return {
    severity: 'warning',
    code: 'BANDIT_SKIPPED_FILE',
    message: `bandit could not check ${s.file}${s.reason ? `: ${s.reason}` : ''}`,
    hint: 'fix the file so it parses; the security review skipped it',
    file: s.file,
    line: 0,
    column: 0,
  };
}
