/**
 * `check --all`'s documents: one SARIF log with one run per plugin (each
 * run's paths relative to the repository root, its automationDetails id
 * naming the plugin, so code scanning keeps the runs apart), and one set
 * of GitHub annotations (paths from the root too). Pure.
 */
import type { Log, Run } from 'sarif';
import { annotation } from '../check/github.js';
import { SARIF_SCHEMA_URI, toSarif } from '../check/sarif.js';
import { allFindings, type CheckReport } from '../check/types.js';
import { fromRoot } from './operations.js';

export interface PluginReport {
  name: string;
  /** The plugin's folder relative to the root. */
  path: string;
  report: CheckReport;
}

/** The report with every finding's file relative to the root. */
function rooted(p: PluginReport): CheckReport {
  return { ...p.report, checks: p.report.checks.map((c) => ({ ...c, findings: c.findings.map((f) => fromRoot(f, p.path)) })) };
}

/** root: the workspace root as a file: URI ending in '/'. */
export function mergedSarif(reports: readonly PluginReport[], o: { toolVersion: string; root: string }): Log {
  const runs: Run[] = reports.map((p) => {
    const [run] = toSarif(rooted(p), o).runs;
    return { ...run, automationDetails: { id: `plexichat-plugin/check/${p.name}/` }, properties: { ...run.properties, path: p.path } };
  });
  return { $schema: SARIF_SCHEMA_URI, version: '2.1.0', runs };
}

export function mergedAnnotations(reports: readonly PluginReport[]): string[] {
  return reports.flatMap((p) =>
    allFindings(rooted(p))
      .filter((f) => !f.suppressed)
      .map((f) => annotation({ level: f.level, file: f.file, line: f.line, column: f.column, message: `${p.name}: ${f.ruleId} ${f.message}` })),
  );
}
