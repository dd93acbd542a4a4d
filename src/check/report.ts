/**
 * One plugin's check report: the checks run (runner.ts), a skipped check
 * made a finding (an error under --profile release unless --allow-skipped),
 * the project config (.plexichat.yaml) applied, the counts. Shared by
 * `check` in a plugin folder and `check --all` over a workspace.
 */
import path from 'node:path';
import type { Ctx } from '../io/context.js';
import { CliError, UsageError, errnoCode } from '../errors.js';
import { readRegularText } from '../io/read-file.js';
import { applyConfig, CONFIG_FILE, ConfigError, parseCheckConfig, type CheckConfig } from './config.js';
import { runChecks } from './runner.js';
import { allFindings, type CheckOutcome, type CheckReport, type Finding, type Profile } from './types.js';

/** Larger than this is not a check config. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadCheckConfig(dir: string): Promise<{ config: CheckConfig; file?: string }> {
  let text: string;
  try {
    text = await readRegularText(path.join(dir, CONFIG_FILE), { shown: CONFIG_FILE, maxBytes: MAX_CONFIG_BYTES });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { config: { rules: {} } };
    if (err instanceof CliError) throw err;
    throw new UsageError(`cannot read ${CONFIG_FILE} (${errnoCode(err) ?? (err as Error).message})`, {
      code: 'CONFIG_UNREADABLE',
      hint: 'check the file permissions',
    });
  }
  try {
    return { config: parseCheckConfig(text), file: CONFIG_FILE };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, { code: 'CONFIG_INVALID', hint: err.hint });
    throw err;
  }
}

export interface CheckReportOptions {
  profile: Profile;
  allowSkipped?: boolean;
  acceptPermissions: string[];
  onCheck?: (c: CheckOutcome, i: number, n: number) => void;
}

/** An unsuppressed error: what makes check fail. */
export function counts(f: Finding): boolean {
  return !f.suppressed && f.level === 'error';
}

/** Run the checks of the plugin at ctx.cwd and make its report. */
export async function checkReport(ctx: Ctx, o: CheckReportOptions): Promise<CheckReport> {
  const { config, file } = await loadCheckConfig(ctx.cwd);
  const { plugin, checks } = await runChecks(ctx, { profile: o.profile, acceptPermissions: o.acceptPermissions }, o.onCheck ?? (() => undefined));
  // A skipped check is a finding: a warning, or an error under --profile release.
  for (const c of checks) {
    if (c.status !== 'skipped') continue;
    const level = o.profile === 'release' && !o.allowSkipped ? 'error' : 'warning';
    c.findings.push({
      ruleId: `${c.id}/SKIPPED`,
      level,
      message: `check ${c.id} was skipped: ${c.summary}`,
      hint: level === 'error' ? 'make it runnable, or pass --allow-skipped to accept a release without it' : undefined,
    });
  }
  for (const c of checks) {
    c.findings = c.findings.map((f) => applyConfig(f, config));
    if (c.status !== 'skipped') c.status = c.findings.some(counts) ? 'failed' : 'passed';
  }
  const all = allFindings({ checks });
  const tally = (level: Finding['level']) => all.filter((f) => !f.suppressed && f.level === level).length;
  return {
    profile: o.profile,
    ok: !all.some(counts),
    plugin,
    allowSkipped: Boolean(o.allowSkipped),
    ...(file ? { config: file } : {}),
    checks,
    counts: {
      error: tally('error'),
      warning: tally('warning'),
      note: tally('note'),
      suppressed: all.filter((f) => f.suppressed).length,
      skipped: checks.filter((c) => c.status === 'skipped').length,
    },
  };
}
