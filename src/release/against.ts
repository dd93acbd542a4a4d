/**
 * The base a permission diff is computed against: an archive on disk
 * (`validate --against dist/x-1.0.0.zip`) or the latest version published
 * on the marketplace (`--against published`, `marketplace submit`, `check
 * --profile release`). Then the gate: newly required permissions stop a
 * submission unless each is accepted by flag or at a terminal prompt.
 */
import { userPath, type Ctx } from '../io/context.js';
import { CliError, NetworkError, UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { fsError } from '../io/fs-errors.js';
import { openRegularFile } from '../io/read-file.js';
import { askSelect } from '../io/prompt.js';
import { dependencySummary, diffDependencies, type DependencySummary } from './deps-diff.js';
import {
  describeDiff,
  diffSummaries,
  manifestSummary,
  unaccepted,
  type AgainstResult,
  type DiffBase,
  type ManifestDiff,
  type ManifestSummary,
} from './diff.js';

export type { AgainstResult, DiffBase } from './diff.js';
import { latestPublished } from './published.js';
import type { Manifest } from '../core/manifest/types.js';
import { inline } from '../io/terminal.js';

async function archiveSummary(ctx: Ctx, given: string): Promise<{ file: string; summary: ManifestSummary; dependencies: DependencySummary }> {
  const file = userPath(ctx, given);
  const hint = "pass an earlier plugin archive (.zip), or 'published' for the marketplace's latest version";
  try {
    // The one reader's check: a FIFO, socket, device or folder is refused before the zip reader opens it.
    const { handle } = await openRegularFile(file, { shown: `--against ${given}`, usage: true, hint });
    await handle.close();
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`--against ${given}: no such archive`, { code: 'AGAINST_NOT_FOUND', hint });
    throw fsError(err, `read --against ${given}`) ?? err;
  }
  const { verifyArchive } = await import('../core/package/verify.js');
  const report = await verifyArchive(file);
  if (!report.manifest) {
    const first = report.findings.find((f) => f.severity === 'error');
    throw new WorkFailedError(`--against ${given}: the archive holds no valid config/plugin.yaml${first ? ` (${first.message})` : ''}`, {
      code: 'AGAINST_NO_MANIFEST',
      hint: 'pass an archive made by `plexichat-plugin build`',
    });
  }
  const dependencies = dependencySummary(report.manifest.dependencies?.packages, report.wheels);
  return { file: given, summary: manifestSummary(report.manifest), dependencies };
}

/**
 * The project's dependencies now: the manifest's packages and, when there is
 * a pylock.toml, its runtime packages (the dev group is never packed).
 */
export async function currentDependencies(dir: string, packages: readonly unknown[] | undefined): Promise<DependencySummary> {
  const { readLock } = await import('../deps/lock.js');
  const lock = await readLock(dir).catch((err: unknown) => {
    if (err instanceof CliError && err.code === 'LOCK_NOT_FOUND') return undefined;
    throw err;
  });
  const runtime = lock?.packages.filter((p) => !/'dev' in dependency_groups/.test(p.marker ?? ''));
  return dependencySummary(packages, runtime);
}

/** The latest published version's summary; undefined when nothing is published. Errors when it cannot be known. */
export async function publishedBase(ctx: Ctx, name: string): Promise<{ base: DiffBase; summary?: ManifestSummary }> {
  const found = await latestPublished(ctx, name);
  if (found.state === 'unavailable') {
    if (found.code === 'NO_MARKETPLACE') {
      throw new UsageError(`cannot compare with the published version: ${found.reason}`, {
        code: 'NO_MARKETPLACE_URL',
        hint: 'pass --marketplace <url> or set PLEXICHAT_MARKETPLACE_URL',
      });
    }
    throw new NetworkError(found.reason, { code: 'UNREACHABLE', hint: 'check the marketplace URL and your connection, then try again' });
  }
  if (found.state === 'none') return { base: { kind: 'none', marketplace: found.marketplace } };
  if (!found.summary) {
    throw new NetworkError(
      `the marketplace at ${found.marketplace} does not say what ${name} ${found.version} asks for (no manifest summary in GET /plugins/${name})`,
      {
        code: 'NO_MANIFEST_SUMMARY',
        hint: 'the marketplace predates manifest summaries (docs/marketplace-api.md); compare with an archive instead: --against <file.zip>',
      },
    );
  }
  return { base: { kind: 'published', marketplace: found.marketplace, version: found.version }, summary: found.summary };
}

/** `--against <archive.zip | published>` for the current manifest (and its `dependencies.packages`, for the SBOM's changes; `deps`, the dependency diff). */
export async function diffAgainst(
  ctx: Ctx,
  against: string,
  current: ManifestSummary,
  packages?: readonly unknown[],
  deps?: DependencySummary,
): Promise<AgainstResult> {
  let r: AgainstResult;
  if (against === 'published') {
    const { base, summary } = await publishedBase(ctx, current.name);
    r = summary ? { base, diff: diffSummaries(summary, current) } : { base };
  } else {
    const { file, summary, dependencies } = await archiveSummary(ctx, against);
    r = { base: { kind: 'archive', file, version: summary.version }, diff: diffSummaries(summary, current) };
    if (deps) r.dependencies = diffDependencies(dependencies, deps);
  }
  const sbom = await sbomAgainst(ctx, r.base, current.name, against === 'published' ? undefined : userPath(ctx, against), packages);
  return sbom ? { ...r, sbomDiff: sbom } : r;
}

/**
 * The base's SBOM (beside the archive, or the one the marketplace serves for
 * the published version) against the components a build lists now (the
 * declared dependencies). Undefined when the base has no SBOM.
 */
export async function sbomAgainst(ctx: Ctx, base: DiffBase, name: string, archivePath: string | undefined, packages?: readonly unknown[]) {
  const [{ sbomComponents, componentsOf, diffComponents }, { declaredDependencies, MAX_SBOM_BYTES }] = await Promise.all([
    import('../attest/sbom-diff.js'),
    import('../attest/sbom.js'),
  ]);
  let text: string | undefined;
  if (base.kind === 'archive' && archivePath) {
    const { readIfExists, sbomFileOf } = await import('../attest/files.js');
    text = (await readIfExists(sbomFileOf(archivePath), MAX_SBOM_BYTES).catch(() => undefined))?.toString('utf8');
  } else if (base.kind === 'published') {
    const { withSession } = await import('../marketplace/session.js');
    text = await withSession(ctx, { token: 'none' }, ({ client }) => client.attestationFile(name, base.version, 'sbom', MAX_SBOM_BYTES))
      .then((b) => b.toString('utf8'))
      .catch(() => undefined);
  }
  if (text === undefined) return undefined;
  try {
    return diffComponents(sbomComponents(text), componentsOf(declaredDependencies(packages)));
  } catch {
    return undefined;
  }
}

export interface GateOutcome {
  /** Newly required permissions, all accepted (by flag or prompt). */
  accepted: string[];
  /** How each was accepted. */
  via: Record<string, 'flag' | 'prompt'>;
}

/**
 * Newly required permissions stop the caller (exit 1, NEW_PERMISSION,
 * naming each) unless every one is accepted with --accept-permission or,
 * on an interactive terminal only, confirmed at a prompt whose default is
 * no. Removed permissions and moves to optional never stop anything.
 */
export async function permissionGate(ctx: Ctx, diff: ManifestDiff, acceptedByFlag: readonly string[]): Promise<GateOutcome> {
  const via: GateOutcome['via'] = {};
  for (const p of diff.newlyRequired) if (acceptedByFlag.includes(p)) via[p] = 'flag';
  let missing = unaccepted(diff, acceptedByFlag);
  if (missing.length > 0 && ctx.interactive) {
    for (const line of describeDiff(diff)) ctx.out.info(`  ${inline(line)}`);
    const answer = await askSelect(ctx, {
      flag: '--accept-permission',
      message: `${diff.to.name} ${diff.to.version} newly requires ${missing.join(', ')}; every admin who updates will be asked to grant ${missing.length === 1 ? 'it' : 'them'}. Submit anyway?`,
      choices: [
        { value: 'no', name: 'No, stop here' },
        { value: 'yes', name: `Yes, I accept ${missing.join(', ')}` },
      ],
      default: 'no',
    });
    if (answer === 'yes') {
      for (const p of missing) via[p] = 'prompt';
      missing = [];
    }
  }
  if (missing.length > 0) {
    throw new WorkFailedError(
      `${diff.to.name} ${diff.to.version} newly requires ${missing.length === 1 ? 'permission' : 'permissions'} ${missing.join(', ')} (not required by ${diff.from.version})`,
      {
        code: 'NEW_PERMISSION',
        hint: `if that is intended, pass ${missing.map((p) => `--accept-permission ${p}`).join(' ')}; or make ${missing.length === 1 ? 'it' : 'them'} optional in config/plugin.yaml`,
        details: { permissions: missing, diff },
      },
    );
  }
  return { accepted: diff.newlyRequired, via };
}

/** The diff as `submit` sends it in the listing (`permission_diff`) and prints it under --json. */
export type SentDiff = ManifestDiff & { accepted: string[] };

/**
 * `marketplace submit`'s gate: the current manifest against the latest
 * published version. Null when nothing is published yet (a first version
 * asks for nothing new) or when the marketplace does not say what the
 * published version asks for (a warning says so).
 */
export async function submitGate(ctx: Ctx, acceptedByFlag: readonly string[], manifest?: Manifest): Promise<SentDiff | null> {
  const { currentManifest } = await import('../marketplace/project.js');
  const current = manifestSummary(manifest ?? (await currentManifest(ctx)));
  let found: Awaited<ReturnType<typeof publishedBase>>;
  try {
    found = await publishedBase(ctx, current.name);
  } catch (err) {
    if (err instanceof NetworkError && err.code === 'NO_MANIFEST_SUMMARY') {
      ctx.out.warn(`${err.message}: new permissions could not be checked`);
      return null;
    }
    throw err;
  }
  if (!found.summary) return null;
  const diff = diffSummaries(found.summary, current);
  const gate = await permissionGate(ctx, diff, acceptedByFlag);
  return { ...diff, accepted: gate.accepted };
}
