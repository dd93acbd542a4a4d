/**
 * The dependency diff on the development marketplace: what a submission's
 * archive declares (dependencies.packages) and packs (wheels/index.json)
 * is kept beside its manifest summary, and compared with the latest
 * published version's, for the reviewer (`marketplace status`). The rule is
 * release/deps-diff.ts, the one the CLI applies; kept apart from the
 * permission diff so either can change alone.
 */
import { dependencySummary, diffDependencies, type DependencyDiff, type DependencySummary } from '../release/deps-diff.js';
import type { VerifyReport } from '../core/package/verify.js';

/** What a verified archive says of its Python packages. */
export function archiveDependencies(report: Pick<VerifyReport, 'manifest' | 'wheels'>): DependencySummary | undefined {
  return report.manifest ? dependencySummary(report.manifest.dependencies?.packages, report.wheels) : undefined;
}

function storedDependencies(stored: unknown): DependencySummary | undefined {
  const d = (stored as { dependencies?: unknown } | null)?.dependencies as DependencySummary | undefined;
  return d && typeof d === 'object' && typeof d.packages === 'object' && typeof d.hasLock === 'boolean' ? d : undefined;
}

/** The diff between the published version's stored summary and this submission's (undefined when either does not say). */
export function dependencyDiffWithPublished(publishedSummary: unknown, current: DependencySummary | undefined): DependencyDiff | undefined {
  const before = storedDependencies(publishedSummary);
  return before && current ? diffDependencies(before, current) : undefined;
}
