/**
 * Build a project: validate it (the manifest rules and the Python code
 * checks) while its files are packed, and commit the archive only when
 * validation passed. Returns what was built with every warning; a failure
 * is a WorkFailedError whose details carry what it is about (diagnostics,
 * problems, secrets), for the command to render. Nothing is printed here.
 *
 * Start-up: validation starts first, so its Python process runs while the
 * packing modules (file list, zip writer, secrets) load; they are imported
 * only after that.
 */
import type { StdioFiles } from '../io/context.js';
import { CliError, UsageError, WorkFailedError } from '../errors.js';
import { formatBytes } from '../io/bytes.js';
import type { Diagnostic, Manifest } from '../core/manifest/types.js';
import type { ValidationReport } from './validate.js';
import { loadProject, parsedOf, type Project } from './project.js';
import type { KnownMembers } from '../core/package/verify.js';
import { MANIFEST_PATH } from '../core/manifest/types.js';
import type { BuildArchiveOptions, BuildOutcome } from '../core/package/build.js';
import type { Decision, FileListProblem } from '../core/package/file-list.js';
import { VERIFY_DEFAULTS } from '../core/package/limits.js';
import type { SecretFinding } from '../core/package/secrets.js';
import type { VerifyFinding } from '../core/package/verify.js';

export interface BuildProjectOptions {
  projectDir: string;
  /** Absolute output folder (it exists unless this is a dry run). */
  outDir: string;
  env: NodeJS.ProcessEnv;
  /** What stdout and stderr are: a file among the project's is never packed. */
  stdio?: StdioFiles;
  includeTests?: boolean;
  /** Paths (relative to the project) allowed although they look like secrets. */
  allowSecrets?: string[];
  dryRun?: boolean;
  /** Keep every path's decision (build --explain). */
  explain?: boolean;
  /** Unix seconds for entry timestamps (SOURCE_DATE_EPOCH). */
  mtime?: number;
  signal: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Packing is done; `checking` when the code checks still run (the archive waits for them). */
  onPacked?: (checking: boolean) => void;
  /** The project loaded once for this run (check shares it between its steps). */
  project?: Project;
  /** Generated members (build --wheels) and the archive's name for a platform variant. */
  extra?: BuildArchiveOptions['extra'];
  fileName?: string;
  /** Files from outside the project packed too (a workspace's shared libraries). */
  extraFiles?: BuildArchiveOptions['extraFiles'];
}

export interface ProjectBuild {
  plugin: { name: string; version: string };
  outcome: BuildOutcome;
  /** Validation warnings (a build with validation errors throws). */
  diagnostics: Diagnostic[];
  /** What the file list skipped, unused --allow-secret values, the marketplace's limits. */
  warnings: string[];
  /** Bytes of the packed files. */
  bytesIn: number;
  /** One line naming the files left out as not part of a plugin (said once), or undefined. */
  leftOut?: string;
  /** The validated manifest (what the SBOM and the provenance say of the plugin). */
  manifest: Manifest;
}

/** What a failed build's error carries in its details, for rendering and --json. */
export interface BuildFailureDetails {
  /** Validation errors (VALIDATION_FAILED), or the validation warnings of a build that failed later. */
  diagnostics?: Diagnostic[];
  warnings?: string[];
  problems?: FileListProblem[];
  secrets?: SecretFinding[];
  /** With --explain: every path seen and the rule that decided it. */
  explain?: Decision[];
  /** What the marketplace's archive checks refuse (ARCHIVE_REFUSED). */
  findings?: VerifyFinding[];
}

export async function buildProject(o: BuildProjectOptions): Promise<ProjectBuild> {
  const { projectDir } = o;
  const project = o.project ?? loadProject(projectDir, o.env);
  // Validation first: it starts the Python scan before the manifest's modules load.
  const validation = project.validation();
  const parsed = project.manifest();
  parsed.catch(() => undefined); // a missing manifest is reported through validation
  // Handled at once (before any await), so a rejection is never "unhandled"; awaited below.
  let validated = false;
  validation.then(
    () => (validated = true),
    () => (validated = true),
  );
  const [{ buildArchive, leftOutLine }, { ownOutputFiles }] = await Promise.all([import('../core/package/build.js'), import('../core/package/own-output.js')]);
  const exclude = ownOutputFiles(o.stdio);
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  // The name and version, to pack while validation still runs (a missing
  // manifest is reported by validation).
  const m = (await parsed.catch(() => undefined))?.manifest;
  // Loaded once the scan runs (the manifest waits for it), for the archive checks at the end.
  const verifying = import('../core/package/verify.js');
  verifying.catch(() => undefined);
  const plugin = m ? { name: m.plugin.name, version: String(m.plugin.version) } : undefined;
  const packing = plugin
    ? buildArchive({
        projectDir,
        outDir: o.outDir,
        plugin,
        includeTests: o.includeTests,
        allowSecrets: o.allowSecrets,
        exclude,
        dryRun: o.dryRun,
        mtime: o.mtime,
        extra: o.extra,
        fileName: o.fileName,
        extraFiles: o.extraFiles,
        signal,
        onProgress: o.onProgress,
        env: o.env,
        beforeCommit: async (tempPath, packed) => {
          o.onPacked?.(!validated);
          // The marketplace's own checks on what was made, while the code checks finish: the
          // central directory as written, each member's facts as the writer computed them (not inflated again).
          // Size quotas differ between marketplaces: they are warnings (limitWarnings), not refusals here.
          const checked = Promise.all([verifying, writerFacts(project, packed), parsedOf(project)]).then(([{ verifyArchive }, known, parsedManifest]) =>
            verifyArchive(tempPath, { expect: plugin, ...NO_QUOTAS, known, parsedManifest }),
          );
          checked.catch(() => undefined);
          const r = await validation;
          if (!r.ok) throw new Error('validation failed');
          const refused = (await checked).findings.filter((f) => f.severity === 'error');
          if (refused.length > 0) throw archiveRefused(refused);
        },
      })
    : undefined;
  packing?.catch(() => undefined); // awaited below

  const abandon = async () => {
    stop.abort();
    await packing?.catch(() => undefined);
  };
  let report: ValidationReport;
  try {
    report = await validation;
  } catch (err) {
    await abandon();
    throw err;
  }
  if (!report.ok || !report.manifest || !packing || !plugin) {
    await abandon();
    throw validationFailed(report);
  }
  const outcome = await packing;
  const warnings = [...outcome.list.warnings, ...outcome.unusedAllows.map((a) => `--allow-secret ${a} matches no packed file`)];
  const bytesIn = outcome.list.files.reduce((n, f) => n + f.size, 0);
  warnings.push(...limitWarnings(outcome, bytesIn));
  const failure = { diagnostics: report.warnings, warnings, ...(o.explain ? { explain: outcome.list.decisions } : {}) };
  if (outcome.list.problems.length > 0) throw problemError(outcome.list.problems, failure);
  if (outcome.secrets.length > 0) throw secretError(outcome.secrets, failure);
  if (o.dryRun) {
    const missing = (await verifying).requiredParts(outcome.list.files.map((f) => f.path));
    if (missing.length > 0) throw archiveRefused(missing, failure);
  }
  return { plugin, outcome, diagnostics: report.warnings, warnings, bytesIn, leftOut: leftOutLine(outcome.list), manifest: report.manifest };
}

/** The writer's facts as verify takes them; the manifest's bytes when they are the ones packed. */
async function writerFacts(
  project: Project,
  packed: { integrity: { path: string; size: number; sha256: string }[]; listingBytes: Buffer },
): Promise<KnownMembers> {
  const members = new Map(packed.integrity.map((f) => [f.path, { size: f.size, sha256: f.sha256 }]));
  const packedManifest = members.get(MANIFEST_PATH);
  const same = packedManifest !== undefined && (await project.manifestSha256().catch(() => undefined)) === packedManifest.sha256;
  return { members, listingBytes: packed.listingBytes, ...(same ? { manifestBytes: await project.manifestBytes() } : {}) };
}

function validationFailed(report: ValidationReport): WorkFailedError {
  const n = report.errors.length;
  const details: BuildFailureDetails = { diagnostics: report.errors };
  return new WorkFailedError(`validation failed with ${n} error${n === 1 ? '' : 's'}; nothing was built`, {
    code: 'VALIDATION_FAILED',
    hint: 'fix the errors above (`plexichat-plugin validate` shows them too), then build again',
    details: { ...details },
  });
}

const NO_QUOTAS = { maxEntries: Number.MAX_SAFE_INTEGER, maxUncompressedBytes: Number.MAX_SAFE_INTEGER, maxArchiveBytes: Number.MAX_SAFE_INTEGER };

/** What the marketplace would refuse (verifyArchive's default limits). */
function limitWarnings(outcome: BuildOutcome, bytesIn: number): string[] {
  const out: string[] = [];
  const entries = outcome.list.files.length + 1;
  if (entries > VERIFY_DEFAULTS.maxEntries) {
    out.push(`${entries} entries: the marketplace accepts at most ${VERIFY_DEFAULTS.maxEntries}; drop files with .pluginignore`);
  }
  if (bytesIn > VERIFY_DEFAULTS.maxUncompressedBytes) {
    out.push(`${formatBytes(bytesIn)} unpacked: the marketplace accepts at most ${formatBytes(VERIFY_DEFAULTS.maxUncompressedBytes)}`);
  }
  if (outcome.archive && outcome.archive.size > VERIFY_DEFAULTS.maxArchiveBytes) {
    out.push(`the archive is ${formatBytes(outcome.archive.size)}: the marketplace accepts at most ${formatBytes(VERIFY_DEFAULTS.maxArchiveBytes)}`);
  }
  return out;
}

const PROBLEM_HINTS: Record<string, string> = {
  SYMLINK_OUTSIDE: 'copy the file into the project, or add the link to .pluginignore',
  SYMLINK_DIR: 'replace the link with a real folder, or add it to .pluginignore',
  UNREADABLE: 'make it readable (or restore the missing file), or add it to .pluginignore',
  NAME_TWIN: 'rename one of them: the archive must unpack on case-insensitive file systems',
  RESERVED_NAME: 'rename the file; build generates this name',
};

/** One line: the last problem (the others are in details.problems), and how many there are. */
function problemError(problems: FileListProblem[], failure: BuildFailureDetails): CliError {
  // The output folder is a flag's value: a usage error (exit 2), said before anything else.
  const out = problems.find((p) => p.code.startsWith('OUT_DIR'));
  if (out) {
    return new UsageError(`${out.message}; nothing was written`, {
      code: out.code,
      hint: 'pass --out with a folder outside the project, or one that holds only build output (the default is dist/)',
      details: { ...failure, problems: [out] },
    });
  }
  const last = problems[problems.length - 1];
  const hint = PROBLEM_HINTS[last.code] ?? 'rename the file (portable names only), or add it to .pluginignore';
  const message = problems.length === 1 ? last.message : `${last.message}; ${problems.length} files cannot be packed; nothing was written`;
  return new WorkFailedError(message, { code: last.code, hint, details: { ...failure, problems } });
}

/** The marketplace would refuse what was packed (`*` or `src/` in .pluginignore): nothing is written. */
function archiveRefused(findings: VerifyFinding[], failure: BuildFailureDetails = {}): WorkFailedError {
  const last = findingLine(findings[findings.length - 1]);
  const message =
    findings.length === 1
      ? `the marketplace would refuse this archive: ${last}; nothing was written`
      : `${last}; the marketplace would refuse this archive for ${findings.length} reasons; nothing was written`;
  return new WorkFailedError(message, {
    code: 'ARCHIVE_REFUSED',
    hint: 'check .pluginignore and --out: `plexichat-plugin build --dry-run --explain` shows what is packed and why',
    details: { ...failure, findings },
  });
}

/** A verify finding as one line: `entry: message`. */
export function findingLine(f: VerifyFinding): string {
  return f.entry && !f.message.includes(f.entry) ? `${f.entry}: ${f.message}` : f.message;
}

/** A finding as one line: `file:line [rule] description`, never the secret itself. */
export function secretLine(s: SecretFinding): string {
  return `${s.file}${s.line > 0 ? `:${s.line}` : ''} [${s.rule}] ${s.description}`;
}

function secretError(secrets: SecretFinding[], failure: BuildFailureDetails): WorkFailedError {
  const last = secretLine(secrets[secrets.length - 1]);
  const message = secrets.length === 1 ? `refusing to pack a likely secret: ${last}` : `${last}; refusing to pack ${secrets.length} likely secrets`;
  return new WorkFailedError(message, {
    code: 'SECRET_FOUND',
    hint: 'remove it, add the file to .pluginignore, or pass --allow-secret <path> if it is not a secret',
    details: { ...failure, secrets },
  });
}

/** SOURCE_DATE_EPOCH as entry timestamps (seconds), or undefined; not a whole number is a usage error. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(v)}`, {
      hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
    });
  }
  return Number(v);
}
