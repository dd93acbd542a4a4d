/**
 * A check report as SARIF 2.1.0 (OASIS; the tests validate it against the
 * official schema): one run, a rule per rule id seen, a result per finding
 * (suppressed ones carry the config's reason as an external suppression),
 * and each check's status in the run's property bag. Pure.
 */
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { allFindings, CHECKS, type CheckReport, type Finding } from './types.js';

/** The schema's own id (OASIS SARIF 2.1.0, errata 01). */
export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

function title(ruleId: string): string {
  const [check, code] = ruleId.split('/');
  const c = CHECKS.find((x) => x.id === check);
  return `${code.toLowerCase().replace(/_/g, ' ')} (${c ? c.title : check})`;
}

function result(f: Finding, ruleIndex: number): Result {
  const r: Result = {
    ruleId: f.ruleId,
    ruleIndex,
    level: f.level,
    message: { text: f.hint ? `${f.message}. Fix: ${f.hint}` : f.message },
  };
  if (f.file) {
    r.locations = [
      {
        physicalLocation: {
          artifactLocation: { uri: f.file.split('/').map(encodeURIComponent).join('/'), uriBaseId: 'SRCROOT' },
          ...(f.line ? { region: { startLine: f.line, ...(f.column ? { startColumn: f.column } : {}) } } : {}),
        },
      },
    ];
  }
  if (f.suppressed) r.suppressions = [{ kind: 'external', status: 'accepted', justification: f.suppressed.reason }];
  return r;
}

/** `root` is the project directory as a file: URI ending in '/', for SRCROOT. */
export function toSarif(report: CheckReport, opts: { toolVersion: string; root: string }): Log {
  const findings = allFindings(report);
  const ids = [...new Set(findings.map((f) => f.ruleId))];
  const rules: ReportingDescriptor[] = ids.map((id) => ({
    id,
    shortDescription: { text: title(id) },
    defaultConfiguration: { level: findings.find((f) => f.ruleId === id)!.configuredFrom ?? findings.find((f) => f.ruleId === id)!.level },
  }));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'plexichat-plugin',
            semanticVersion: opts.toolVersion,
            version: opts.toolVersion,
            rules,
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: opts.root } },
        invocations: [
          {
            executionSuccessful: true,
            exitCode: report.ok ? 0 : 1,
            toolExecutionNotifications: report.checks
              .filter((c) => c.status === 'skipped')
              .map((c) => ({ level: 'warning' as const, message: { text: `check ${c.id} skipped: ${c.summary}` }, descriptor: { id: `${c.id}/SKIPPED` } })),
          },
        ],
        results: findings.map((f) => result(f, ids.indexOf(f.ruleId))),
        properties: {
          profile: report.profile,
          plugin: report.plugin,
          checks: report.checks.map((c) => ({ id: c.id, status: c.status, summary: c.summary })),
        },
      },
    ],
  };
}
