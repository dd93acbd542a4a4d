/**
 * The checks of `check`, in order, each composed of the operations the
 * commands use (project/validate.ts, python/run-tests.ts, project/build.ts,
 * project/verify.ts) over one project value loaded once (project/project.ts):
 * the manifest is parsed once, the Python scan runs once, the archive is
 * built once into a temp folder and inflated once, by the verify step.
 * What each returns or throws becomes findings with stable rule ids. A
 * check that cannot run says why and is `skipped`, never `passed`. Only
 * pytest's own output is shown (on stderr), so stdout carries only the report.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import semver from 'semver';
import type { Ctx } from '../io/context.js';
import { CancelledError, CliError, errnoCode } from '../errors.js';
import { readRegularText } from '../io/read-file.js';
import { changelogSection, findPlaceholders } from '../core/listing.js';
import type { ParsedManifest } from '../core/manifest/index.js';
import type { Diagnostic, Manifest } from '../core/manifest/types.js';
import { describeDiff, diffSummaries, manifestSummary, unaccepted } from '../release/diff.js';
import { latestPublished, type PublishedLookup } from '../release/published.js';
import { CHECKS, type CheckId, type CheckOutcome, type Finding, type Profile } from './types.js';
import { loadProject, parsedOf, type Project } from '../project/project.js';
import type { ProjectBuild } from '../project/build.js';
import { valueText } from '../io/value-text.js';

export interface RunChecksOptions {
  profile: Profile;
  /** Newly required permissions accepted for the release profile's permission check. */
  acceptPermissions: string[];
}

type Partial = Omit<CheckOutcome, 'id' | 'title' | 'durationMs'>;

/** What a check needs from the ones before it. */
interface State {
  project: Project;
  parsed: ParsedManifest;
  manifest?: Manifest;
  name: string;
  version: string;
  validateFailed: boolean;
  buildFailed: boolean;
  /** The build step's archive (in a temp folder), for the verify step. */
  built?: { archive: string; outcome: ProjectBuild };
  /** The temp folder the archive was built in, removed when check ends. */
  tmp?: string;
  published?: Promise<PublishedLookup>;
}

const skipped = (summary: string): Partial => ({ status: 'skipped', summary, findings: [] });

function fromError(check: CheckId, err: unknown): Finding[] {
  if (err instanceof CancelledError) throw err;
  if (!(err instanceof CliError)) throw err;
  return [{ ruleId: `${check}/${err.code}`, level: 'error', message: err.message.split('\n')[0], ...(err.hint ? { hint: err.hint } : {}) }];
}

function done(findings: Finding[], passed: string, failed = passed): Partial {
  const errors = findings.filter((f) => f.level === 'error').length;
  return { status: errors ? 'failed' : 'passed', summary: errors ? failed : passed, findings };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/** A validate diagnostic (or a bandit note) as a finding of this check, at its place. */
function fromDiagnostic(
  check: CheckId,
  d: Pick<Diagnostic, 'code' | 'message' | 'hint' | 'file' | 'line' | 'column'> & { severity: keyof typeof LEVEL },
): Finding {
  return {
    ruleId: `${check}/${d.code}`,
    level: LEVEL[d.severity],
    message: d.message,
    ...(d.hint ? { hint: d.hint } : {}),
    file: d.file,
    ...(d.line ? { line: d.line } : {}),
    ...(d.column ? { column: d.column } : {}),
  };
}

async function validateCheck(st: State): Promise<Partial> {
  let r: Awaited<ReturnType<Project['validation']>>;
  try {
    r = await st.project.validation();
  } catch (err) {
    st.validateFailed = true;
    const findings = fromError('validate', err);
    return done(findings, '', findings[0].message);
  }
  st.validateFailed = !r.ok;
  const findings: Finding[] = [...r.errors, ...r.warnings].map((d) => fromDiagnostic('validate', d));
  const counts = `${plural(r.errors.length, 'error')}, ${plural(r.warnings.length, 'warning')}`;
  return done(findings, counts);
}

/** validate --security's review (bandit over the files the archive holds), as findings; skipped when bandit is not found. */
async function securityCheck(ctx: Ctx, st: State): Promise<Partial> {
  const { reviewSecurity } = await import('../project/validate.js');
  let r: Awaited<ReturnType<typeof reviewSecurity>>;
  try {
    r = await reviewSecurity(ctx.cwd, { env: ctx.env, failOn: 'high', project: st.project });
  } catch (err) {
    const findings = fromError('security', err);
    return done(findings, '', findings[0].message);
  }
  const missing = r.diagnostics.find((d) => d.code === 'BANDIT_NOT_FOUND');
  if (missing) return skipped(`${missing.message}${missing.hint ? ` (${missing.hint})` : ''}`);
  const findings: Finding[] = r.diagnostics.map((d) => fromDiagnostic('security', d));
  const how = `bandit (${r.summary.command?.join(' ') ?? 'bandit'})`;
  const summary = `${how}: ${plural(r.summary.findings, 'finding')}, failing at ${r.summary.failOn} severity and above`;
  return {
    ...done(findings, summary, summary),
    data: { tool: r.summary.tool, command: r.summary.command, findings: r.summary.findings, failOn: r.summary.failOn },
  };
}

const NO_PYTHON = new Set(['PYTHON_NOT_FOUND', 'PYTEST_NOT_FOUND', 'PYTHON_TOO_OLD']);

async function testCheck(ctx: Ctx, st: State): Promise<Partial> {
  const [{ runTests, manifestData }, { location }] = await Promise.all([import('../python/run-tests.js'), import('../core/manifest/format.js')]);
  try {
    // The manifest check already parsed; pytest's output on stderr, quiet, so stdout carries only the report.
    const manifest = async () => manifestData(await st.project.manifest(), location);
    const r = await runTests({}, ctx, { manifest, sink: ctx.out.stderr, quiet: true });
    const counts = `${r.passed} passed${r.failed ? `, ${r.failed} failed` : ''}${r.errors ? `, ${plural(r.errors, 'error')}` : ''}`;
    const findings: Finding[] =
      r.exitCode === 0
        ? []
        : [{ ruleId: 'test/FAILED', level: 'error', message: `tests failed: ${counts}`, hint: 'run `plexichat-plugin test` to see the failures' }];
    return {
      ...done(findings, counts, `tests failed: ${counts}`),
      data: { passed: r.passed, failed: r.failed, errors: r.errors, skipped: r.skipped, total: r.total },
    };
  } catch (err) {
    if (err instanceof CliError && NO_PYTHON.has(err.code)) return skipped(`${err.message}${err.hint ? ` (${err.hint})` : ''}`);
    const findings = fromError('test', err);
    return done(findings, '', findings[0].message);
  }
}

interface BuildDetails {
  secrets?: { file: string; line: number; rule: string; description: string }[];
  problems?: { code: string; path?: string; message: string }[];
}

function buildFindings(check: 'build' | 'verify', err: unknown): Finding[] {
  if (err instanceof CliError) {
    const d = (err.details ?? {}) as BuildDetails;
    if (err.code === 'SECRET_FOUND' && d.secrets?.length) {
      return d.secrets.map((s) => ({
        ruleId: `${check}/SECRET_FOUND`,
        level: 'error' as const,
        message: `likely secret [${s.rule}] ${s.description}`,
        hint: err.hint,
        file: s.file,
        ...(s.line > 0 ? { line: s.line } : {}),
      }));
    }
    if (d.problems?.length) {
      return d.problems.map((p) => ({
        ruleId: `${check}/${p.code}`,
        level: 'error' as const,
        message: p.message,
        hint: err.hint,
        ...(p.path ? { file: p.path } : {}),
      }));
    }
  }
  return fromError(check, err);
}

/** The archive, built once into a temp folder: what the build step reports and the verify step reads. */
async function buildCheck(ctx: Ctx, st: State): Promise<Partial> {
  if (st.validateFailed) {
    st.buildFailed = true;
    return skipped('validate reported errors; build refuses to pack until they are fixed');
  }
  const { buildProject } = await import('../project/build.js');
  st.tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-check-'));
  try {
    // In a workspace, the archive holds the shared libraries the plugin imports, as build packs them.
    const { workspaceLibraryFiles } = await import('../workspace/env.js');
    const extraFiles = await workspaceLibraryFiles(ctx.cwd);
    const outcome = await buildProject({
      projectDir: ctx.cwd,
      outDir: st.tmp,
      env: ctx.env,
      stdio: ctx.stdio?.(),
      signal: ctx.signal,
      project: st.project,
      extraFiles,
    });
    st.built = { archive: outcome.outcome.archive!.path, outcome };
    const findings: Finding[] = outcome.warnings.map((w) => ({ ruleId: 'build/PACK_WARNING', level: 'warning', message: w }));
    return done(findings, `${plural(outcome.outcome.list.files.length, 'file')} would be packed`);
  } catch (err) {
    st.buildFailed = true;
    const findings = buildFindings('build', err);
    return done(findings, '', `${plural(findings.length, 'problem')}: nothing can be packed`);
  }
}

/** The built archive through verify's checks, read from disk: each member inflated once. */
async function verifyCheck(st: State): Promise<Partial> {
  if (st.buildFailed || !st.built) return skipped('build did not pass, so there is no archive to verify');
  const { verifyArchiveFile } = await import('../project/verify.js');
  const v = await verifyArchiveFile({ file: st.built.archive, shown: path.basename(st.built.archive), parsedManifest: await parsedOf(st.project) });
  const findings: Finding[] = v.findings.map((f) => ({
    ruleId: `verify/${f.code}`,
    level: f.severity,
    message: f.entry !== undefined ? `${JSON.stringify(f.entry)}: ${f.message}` : f.message,
  }));
  return {
    ...done(findings, `archive OK (${v.entries} entries, sha256 ${v.sha256.slice(0, 12)}…)`, 'the marketplace would refuse the archive'),
    data: { sha256: v.sha256, size: v.size },
  };
}

/** A text file without its BOM; undefined when it does not exist. */
function readText(file: string): Promise<string | undefined> {
  // The one reader: a FIFO, socket, device or folder is refused at once, never read.
  return readRegularText(file, { shown: path.basename(file) }).then(
    (t) => t,
    (err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    },
  );
}

/** A file a step reads; a FIFO, socket, device or folder in its place fails the step (with what to do), not the whole run. */
async function readStep(check: CheckId, file: string): Promise<string | undefined | Partial> {
  try {
    return await readText(file);
  } catch (err) {
    const findings = fromError(check, err);
    return done(findings, '', findings[0].message);
  }
}

async function changelogCheck(ctx: Ctx, st: State): Promise<Partial> {
  const file = 'CHANGELOG.md';
  const got = await readStep('changelog', path.join(ctx.cwd, file));
  if (typeof got === 'object') return got;
  const text = got;
  const v = st.version;
  const hint = `add a section "## [${v}] - YYYY-MM-DD" that says what changed (plexichat-plugin version writes one)`;
  if (text === undefined) return done([{ ruleId: 'changelog/MISSING', level: 'error', message: 'CHANGELOG.md is missing', hint, file }], '', 'no CHANGELOG.md');
  const section = changelogSection(text, v);
  if (section === undefined) {
    return done(
      [{ ruleId: 'changelog/NO_SECTION', level: 'error', message: `CHANGELOG.md has no section for ${v}`, hint, file, line: 1 }],
      '',
      `no section for ${v}`,
    );
  }
  const lines = text.split(/\r?\n/);
  // The heading line: the same rule (changelogSection) applied to each heading alone.
  const line = lines.findIndex((l) => /^#{1,6}\s/.test(l) && changelogSection(l, v) !== undefined) + 1;
  if (section === '') {
    return done(
      [
        {
          ruleId: 'changelog/EMPTY_SECTION',
          level: 'error',
          message: `the CHANGELOG.md section for ${v} is empty`,
          hint: 'say what changed in this version',
          file,
          line,
        },
      ],
      '',
      'the section is empty',
    );
  }
  const findings: Finding[] = findPlaceholders(section).map((p) => ({
    ruleId: 'changelog/PLACEHOLDER',
    level: 'error',
    message: `the CHANGELOG.md section for ${v} still holds ${p.what}`,
    hint: 'replace the template text',
    file,
    line: line + lines.slice(line).findIndex((l) => findPlaceholders(l).some((q) => q.what === p.what)) + 1,
  }));
  return done(findings, `section for ${v} found`, 'the section holds template text');
}

/**
 * The template README `init` wrote, untouched: every template's
 * docs/README.md as a pattern in which each `{{…}}` matches any text on its
 * line (the name, title, description and version it was rendered with).
 */
async function unedited(text: string): Promise<string | undefined> {
  const { listTemplates } = await import('../core/scaffold.js');
  const norm = (t: string) => t.replace(/\r\n/g, '\n').trim();
  for (const t of await listTemplates()) {
    let tpl: string;
    try {
      tpl = await fs.readFile(path.join(t.dir, 'docs', 'README.md'), 'utf8');
    } catch {
      continue;
    }
    const pattern = norm(tpl)
      .split(/\{\{[^}]*\}\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^\\n]*');
    if (new RegExp(`^${pattern}$`).test(norm(text))) return t.name;
  }
  return undefined;
}

async function docsCheck(ctx: Ctx, profile: Profile): Promise<Partial> {
  const file = 'docs/README.md';
  const got = await readStep('docs', path.join(ctx.cwd, file));
  if (typeof got === 'object') return got;
  const text = got;
  if (text === undefined) {
    return done(
      [
        {
          ruleId: 'docs/MISSING',
          level: 'error',
          message: 'docs/README.md is missing',
          hint: 'write it: it becomes the long description on the marketplace',
          file,
        },
      ],
      '',
      'docs/README.md is missing',
    );
  }
  if (text.trim() === '') {
    return done(
      [
        {
          ruleId: 'docs/EMPTY',
          level: 'error',
          message: 'docs/README.md is empty',
          hint: 'describe the plugin, its settings and its permissions',
          file,
          line: 1,
        },
      ],
      '',
      'docs/README.md is empty',
    );
  }
  const template = await unedited(text);
  if (template !== undefined) {
    // A warning on a pull request, an error for a release: the marketplace would show the template as the plugin's description.
    return done(
      [
        {
          ruleId: 'docs/UNEDITED',
          level: profile === 'release' ? 'error' : 'warning',
          message: `docs/README.md is the unedited ${template} template that init wrote`,
          hint: 'describe what your plugin does, its settings and permissions: it becomes the long description on the marketplace',
          file,
          line: 1,
        },
      ],
      'docs/README.md is the unedited template',
    );
  }
  const findings: Finding[] = findPlaceholders(text).map((p) => ({
    ruleId: 'docs/PLACEHOLDER',
    level: 'error',
    message: `docs/README.md still holds ${p.what}`,
    hint: 'replace the template text before publishing',
    file,
    line: p.line,
  }));
  return done(findings, 'docs/README.md written', 'docs/README.md holds template text');
}

function lookup(ctx: Ctx, st: State): Promise<PublishedLookup> {
  st.published ??= latestPublished(ctx, st.name);
  return st.published;
}

/** The lookup, or the step failed with what the marketplace got wrong (a published version that is not semver). */
async function lookupOrFail(ctx: Ctx, st: State, check: CheckId): Promise<PublishedLookup | Partial> {
  try {
    return await lookup(ctx, st);
  } catch (err) {
    const findings = fromError(check, err);
    return done(findings, '', findings[0].message);
  }
}

async function versionCheck(ctx: Ctx, st: State): Promise<Partial> {
  const found = await lookupOrFail(ctx, st, 'version');
  if (!('state' in found)) return found;
  if (found.state === 'unavailable') return skipped(found.reason);
  if (found.state === 'none') return { status: 'passed', summary: `nothing of ${st.name} is published on ${found.marketplace} yet`, findings: [] };
  if (semver.valid(st.version) && semver.gt(st.version, found.version)) {
    return { status: 'passed', summary: `${st.version} > ${found.version} (published)`, findings: [] };
  }
  const pos = st.parsed.locator?.pos(['plugin', 'version']);
  return done(
    [
      {
        ruleId: 'version/NOT_NEWER',
        level: 'error',
        message: `${st.version} is not greater than ${found.version}, the latest published version on ${found.marketplace}`,
        hint: `bump it: plexichat-plugin version ${semver.inc(found.version, 'patch')} (or minor/major)`,
        file: 'config/plugin.yaml',
        ...(pos?.line ? { line: pos.line, column: pos.column } : {}),
      },
    ],
    '',
    `${st.version} is not above the published ${found.version}`,
  );
}

async function permissionsCheck(ctx: Ctx, st: State, accepted: string[]): Promise<Partial> {
  if (!st.manifest) return skipped('the manifest has errors (see validate), so its permissions cannot be compared');
  const found = await lookupOrFail(ctx, st, 'permissions');
  if (!('state' in found)) return found;
  if (found.state === 'unavailable') return skipped(found.reason);
  if (found.state === 'none')
    return { status: 'passed', summary: `nothing published yet on ${found.marketplace}: no earlier permissions to compare with`, findings: [] };
  if (!found.summary) return skipped(`the marketplace at ${found.marketplace} does not expose the manifest summary of ${st.name} ${found.version}`);
  const diff = diffSummaries(found.summary, manifestSummary(st.manifest));
  const required = st.manifest.permissions?.required ?? [];
  const findings: Finding[] = unaccepted(diff, accepted).map((p) => {
    const pos = st.parsed.locator?.pos(['permissions', 'required', required.indexOf(p)]);
    return {
      ruleId: 'permissions/NEW_PERMISSION',
      level: 'error',
      message: `${st.version} newly requires permission ${p} (not required by the published ${found.version})`,
      hint: `if that is intended, pass --accept-permission ${p}; or make it optional`,
      file: 'config/plugin.yaml',
      ...(pos?.line ? { line: pos.line, column: pos.column } : {}),
    };
  });
  const lines = describeDiff(diff);
  const acceptedHere = diff.newlyRequired.filter((p) => accepted.includes(p));
  const summary =
    diff.newlyRequired.length === 0
      ? `no newly required permission since ${found.version}`
      : `newly required since ${found.version}: ${diff.newlyRequired.join(', ')}${acceptedHere.length ? ` (accepted: ${acceptedHere.join(', ')})` : ''}`;
  return { ...done(findings, summary, summary), data: { diff, changes: lines, accepted: acceptedHere } };
}

/**
 * Release only: the archive built in the temp folder gets the SBOM and the
 * signed provenance a release build writes (with the key `build` would
 * sign with), and verify's attestation checks accept them. A release
 * without a signing key cannot carry provenance: an error, not a skip.
 */
async function attestCheck(ctx: Ctx, st: State): Promise<Partial> {
  if (st.buildFailed || !st.built?.outcome.outcome.archive || !st.tmp) return skipped('build did not pass, so there is no archive to attest');
  const [{ findSigningKey, SIGNING_KEY_ENV }, attest, { checkAttestations }, { trustedKey }] = await Promise.all([
    import('../signing/files.js'),
    import('../attest/files.js'),
    import('../attest/verify.js'),
    import('../signing/keyring.js'),
  ]);
  let key;
  try {
    key = await findSigningKey({ env: ctx.env });
  } catch (err) {
    return done(fromError('attest', err), '');
  }
  if (!key) {
    return done(
      [
        {
          ruleId: 'attest/NO_SIGNING_KEY',
          level: 'error',
          message: 'a release needs signed build provenance, and no signing key is configured',
          hint: `set ${SIGNING_KEY_ENV} (one line) or create a key with \`plexichat-plugin keys generate\`; then \`plexichat-plugin build --sign\``,
        },
      ],
      '',
      'no signing key',
    );
  }
  const { outcome, manifest } = st.built.outcome;
  const archive = outcome.archive!;
  const now = ctx.clock.now();
  const input = {
    archive: archive.path,
    sha256: archive.sha256,
    members: archive.members,
    manifest,
    parameters: { plugin: st.built.outcome.plugin, includeTests: false, allowSecrets: [], sourceDateEpoch: null },
    projectDir: ctx.cwd,
    env: ctx.env,
    startedOn: now,
    now,
  };
  const sbom = await attest.writeSbom(input);
  await attest.writeProvenance(input, sbom, key);
  const { createPublicKey } = await import('node:crypto');
  const c = await checkAttestations({
    sbomFile: sbom.file,
    sbomShown: path.basename(sbom.file),
    provenanceFile: attest.provenanceFileOf(archive.path),
    provenanceShown: path.basename(attest.provenanceFileOf(archive.path)),
    archiveName: path.basename(archive.path),
    archive: {
      sha256: archive.sha256,
      members: new Map(archive.members.map((m) => [m.path, m])),
      plugin: st.built.outcome.plugin,
      packages: manifest.dependencies?.packages,
    },
    keys: [trustedKey(createPublicKey(key.privateKey))],
  });
  const findings: Finding[] = [
    ...key.warnings.map((w) => ({ ruleId: 'attest/KEY_WARNING', level: 'warning' as const, message: w })),
    ...c.findings.map((f) => ({ ruleId: `attest/${f.code}`, level: f.severity, message: f.message })),
  ];
  return done(findings, `SBOM and provenance signed with key ${key.keyId} (SLSA Build L1: signed on this machine)`, 'the attestations do not verify');
}

/** Run the profile's checks in order; `onDone` is told after each one. */
export async function runChecks(
  ctx: Ctx,
  opts: RunChecksOptions,
  onDone: (c: CheckOutcome, index: number, total: number) => void = () => undefined,
): Promise<{ plugin: { name: string; version: string }; checks: CheckOutcome[] }> {
  const project = loadProject(ctx.cwd, ctx.env);
  const parsed = await project.manifest();
  const plugin = (parsed.data?.plugin ?? {}) as { name?: unknown; version?: unknown };
  const st: State = {
    project,
    parsed,
    manifest: parsed.manifest,
    name: typeof plugin.name === 'string' ? plugin.name : '',
    version: typeof plugin.version === 'string' ? plugin.version : valueText(plugin.version ?? ''),
    validateFailed: false,
    buildFailed: false,
  };
  const chosen = CHECKS.filter((c) => opts.profile === 'release' || !c.release);
  // Every check starts at once (pytest, bandit and the build overlap); one that needs another's
  // outcome waits for it. They are reported in order, each as soon as it and those before it are done.
  const started = new Map<CheckId, Promise<CheckOutcome>>();
  const after = (id: CheckId) => (chosen.some((c) => c.id === id) ? start(id).then(() => undefined) : Promise.resolve());
  const impl: Record<CheckId, () => Promise<Partial>> = {
    validate: () => validateCheck(st),
    security: () => securityCheck(ctx, st),
    test: () => testCheck(ctx, st),
    build: () => after('validate').then(() => buildCheck(ctx, st)),
    verify: () => after('build').then(() => verifyCheck(st)),
    changelog: () => changelogCheck(ctx, st),
    docs: () => docsCheck(ctx, opts.profile),
    version: () => versionCheck(ctx, st),
    permissions: () => permissionsCheck(ctx, st, opts.acceptPermissions),
    attest: () => after('verify').then(() => attestCheck(ctx, st)),
  };
  function start(id: CheckId): Promise<CheckOutcome> {
    let p = started.get(id);
    if (!p) {
      const c = CHECKS.find((x) => x.id === id)!;
      const t0 = ctx.clock.now();
      p = impl[id]().then((r) => ({ id: c.id, title: c.title, ...r, durationMs: ctx.clock.now() - t0 }));
      p.catch(() => undefined); // awaited in order below
      started.set(id, p);
    }
    return p;
  }
  const checks: CheckOutcome[] = [];
  try {
    for (const c of chosen) void start(c.id); // each has its rejection handled in start(); awaited in order below
    for (const [i, c] of chosen.entries()) {
      const outcome = await start(c.id);
      checks.push(outcome);
      onDone(outcome, i, chosen.length);
    }
  } finally {
    // Nothing outlives check: what still runs after a failure is awaited before the temp folder goes.
    await Promise.allSettled(started.values());
    if (st.tmp) await fs.rm(st.tmp, { recursive: true, force: true });
  }
  return { plugin: { name: st.name, version: st.version }, checks };
}
