/**
 * `check [--profile pr|release] [--format text|json|sarif|github] [--allow-skipped]`:
 * one gate for CI. Runs validate, security, test, build --dry-run, verify of
 * a built archive, the CHANGELOG section and docs/README.md, and with
 * --profile release the published version and the permission diff
 * (src/release/check/runner.ts). A check that cannot run is `skipped`;
 * under --profile release a skipped check is an error unless
 * --allow-skipped. `.plexichat.yaml` (`check.rules`) sets a rule's level or
 * turns it off with a reason. Exit 0 only when no error remains.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { userPath, type Ctx } from '../io/context.js';
import { UsageError } from '../errors.js';
import { cliVersion } from '../io/cli-version.js';
import { jsonDocument } from '../io/json-document.js';
import { probeWrite, writeFileAtomic } from '../io/atomic.js';
import { writingTo, type OutputTarget } from '../io/fs-errors.js';
import { annotation } from '../check/github.js';
import { checkReport } from '../check/report.js';
import { toSarif } from '../check/sarif.js';
import { allFindings, findingText, FORMATS, PROFILES, type CheckOutcome, type CheckReport, type Format, type Profile } from '../check/types.js';
import { inline } from '../io/terminal.js';

export interface CheckOptions {
  profile?: string;
  format?: string;
  allowSkipped?: boolean;
  acceptPermission?: string[];
  /** Write the formatted report to this file instead of stdout. */
  output?: string;
}

export type CheckResult = CheckReport;

/** How each result is rendered: kept beside it, so the --json document is the report alone. */
const rendering = new WeakMap<CheckReport, { format: Format; document?: string; output?: string }>();

/** --output, as io/fs-errors.ts words a failure to write it. */
function outputTarget(given: string): OutputTarget {
  return { action: `write ${given}`, dir: given, flag: '--output <file>', suffix: '; nothing was written' };
}

function pick<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`, { hint: `e.g. ${flag} ${allowed[0]}` });
  }
  return value as T;
}

export async function run(opts: CheckOptions, ctx: Ctx): Promise<CheckResult> {
  const profile = pick<Profile>(opts.profile, PROFILES, '--profile', 'pr');
  let format = pick<Format>(opts.format, FORMATS, '--format', ctx.flags.json ? 'json' : 'text');
  if (ctx.flags.json && format !== 'json') {
    throw new UsageError(`--json and --format ${format} ask for two different documents`, { hint: 'use one: --format json is the same as --json' });
  }
  if (ctx.flags.json) format = 'json';
  if (opts.output && format === 'text')
    throw new UsageError('--output needs --format json, sarif or github', { hint: 'e.g. --format sarif --output check.sarif' });
  const output = opts.output === undefined ? undefined : { file: userPath(ctx, opts.output), at: outputTarget(opts.output) };
  // The checks take a while: a --output that cannot be written fails before they run.
  if (output) await writingTo(output.at, () => probeWrite(output.file));
  // In a workspace, its shared libraries go on PYTHONPATH for the test step (docs/workspace.md).
  const { workspaceEnv } = await import('../workspace/env.js');
  const report: CheckResult = await checkReport(
    { ...ctx, env: await workspaceEnv(ctx.cwd, ctx.env) },
    {
      profile,
      allowSkipped: opts.allowSkipped,
      acceptPermissions: opts.acceptPermission ?? [],
      onCheck: (c, i, n) => ctx.out.info(inline(`[${i + 1}/${n}] ${c.id}: ${c.status}${c.summary ? ` (${c.summary})` : ''}`)),
    },
  );
  const document = format === 'text' ? undefined : await formatted(report, format, ctx);
  if (output && document !== undefined) {
    await writingTo(output.at, () => writeFileAtomic(output.file, document, { makeFolder: true }));
  }
  rendering.set(report, { format, document, output: opts.output });
  return report;
}

/** The report as the document of a format other than text. */
async function formatted(r: CheckReport, format: Exclude<Format, 'text'>, ctx: Ctx): Promise<string> {
  if (format === 'sarif') {
    const log = toSarif(r, { toolVersion: cliVersion(), root: pathToFileURL(`${ctx.cwd}${path.sep}`).href });
    return `${JSON.stringify(log, null, 2)}\n`;
  }
  if (format === 'github')
    return githubLines(r)
      .map((l) => `${l}\n`)
      .join('');
  return `${JSON.stringify(jsonDocument(r), null, 2)}\n`;
}

function githubLines(r: CheckReport): string[] {
  return allFindings(r)
    .filter((f) => !f.suppressed)
    .map((f) => annotation({ level: f.level, file: f.file, line: f.line, column: f.column, message: `${f.ruleId} ${f.message}` }));
}

const MARK: Record<CheckOutcome['status'], string> = { passed: '✔', failed: '✖', skipped: '-' };

function renderText(r: CheckReport, ctx: Ctx): void {
  const { out } = ctx;
  const paint = { passed: out.c.green, failed: out.c.red, skipped: out.c.yellow };
  out.result(inline(`check --profile ${r.profile}: ${r.plugin.name} ${r.plugin.version}${r.config ? ` (rules from ${r.config})` : ''}`));
  const w = Math.max(...r.checks.map((c) => c.id.length));
  for (const c of r.checks) {
    out.result(`  ${paint[c.status](MARK[c.status])} ${c.id.padEnd(w)}  ${paint[c.status](c.status.padEnd(7))}  ${inline(c.summary)}`);
    const changes = c.data?.changes;
    if (Array.isArray(changes)) for (const l of changes) out.result(`      ${inline(String(l))}`);
  }
  const shown = allFindings(r).filter((f) => !f.suppressed);
  if (shown.length) out.result();
  for (const f of shown) out.result(findingText(f));
  const suppressed = allFindings(r).filter((f) => f.suppressed);
  for (const f of suppressed) out.info(inline(`  (off in ${r.config}: ${f.ruleId}: ${f.suppressed!.reason})`));
  out.result();
  const tail = `${r.counts.error} error${r.counts.error === 1 ? '' : 's'}, ${r.counts.warning} warning${r.counts.warning === 1 ? '' : 's'}, ${r.counts.skipped} skipped${r.counts.suppressed ? `, ${r.counts.suppressed} off by ${r.config}` : ''}`;
  out.result(r.ok ? `${out.c.green('✔')} check passed: ${tail}` : `${out.c.red('✖')} check failed: ${tail}`);
}

export function render(r: CheckResult, ctx: Ctx): void {
  const how = rendering.get(r) ?? { format: 'text' as const };
  if (how.output) {
    ctx.out.result(
      inline(
        `wrote ${how.output} (${how.format}): check ${r.ok ? 'passed' : 'failed'}, ${r.counts.error} errors, ${r.counts.warning} warnings, ${r.counts.skipped} skipped`,
      ),
    );
    return;
  }
  if (how.document === undefined) return renderText(r, ctx);
  ctx.out.stdout.write(how.document);
  // The annotations are for the runner; a person reading the log gets the summary on stderr.
  if (how.format === 'github')
    ctx.out.info(`check ${r.ok ? 'passed' : 'failed'}: ${r.counts.error} errors, ${r.counts.warning} warnings, ${r.counts.skipped} skipped`);
}

export function exitCode(r: CheckResult): number {
  return r.ok ? 0 : 1;
}
