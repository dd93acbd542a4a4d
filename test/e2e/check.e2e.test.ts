/**
 * `plexichat-plugin check`: the CI gate over a real scaffold (real pytest,
 * real build and verify), skipped never passed, SARIF 2.1.0 valid against
 * the official schema, exact GitHub annotation lines, and the project
 * config that sets a rule's level or turns it off with a reason.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { requires } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { offline, useScaffold } from '../helpers/scaffold.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';

const require = createRequire(import.meta.url);

/** A fresh scaffold (init --yes), made once and copied per test. */
const scaffoldCopy = useScaffold('checked_plugin', 'pxp-check-');
/** The scaffold with its docs written (an untouched docs/README.md is docs/UNEDITED: see its own test). */
const WRITTEN_README = '# Checked Plugin\n\nCounts the messages sent in each channel.\n\n## Settings\n\n`greeting`: the text of the status endpoint.\n';
const copy = (files: Record<string, string> = {}) => scaffoldCopy({ 'docs/README.md': WRITTEN_README, ...files });

/** The scaffold with four problems at known places. */
async function broken(): Promise<string> {
  const dir = await copy();
  const manifest = path.join(dir, 'config/plugin.yaml');
  await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('category: "utility"', 'category: "utilty"'));
  const readme = path.join(dir, 'docs/README.md');
  const lines = (await fs.readFile(readme, 'utf8')).split('\n');
  lines[2] = 'TODO: say what it does';
  await fs.writeFile(readme, lines.join('\n'));
  await fs.writeFile(path.join(dir, 'CHANGELOG.md'), '# Changelog\n\n## [0.0.9] - 2026-01-01\n\n- Older.\n');
  return dir;
}

function sarifValidator() {
  const Ajv = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
  const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
  const schema = JSON.parse(require('node:fs').readFileSync(fileURLToPath(new URL('../vendor/sarif-schema-2.1.0.json', import.meta.url)), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('check --profile pr', () => {
  it("the untouched scaffold's docs/README.md is docs/UNEDITED: a warning on pr, an error on release", async () => {
    const dir = await scaffoldCopy();
    const pr = await runMain(['--json', 'check'], { cwd: dir, env: offline });
    const docs = JSON.parse(pr.stdout).checks.find((c: { id: string }) => c.id === 'docs');
    expect(docs).toMatchObject({ status: 'passed', summary: 'docs/README.md is the unedited template' });
    expect(docs.findings).toEqual([expect.objectContaining({ ruleId: 'docs/UNEDITED', level: 'warning', file: 'docs/README.md', line: 1 })]);
    expect(docs.findings[0].message).toBe('docs/README.md is the unedited minimal template that init wrote');
    const release = await runMain(['check', '--profile', 'release', '--allow-skipped'], { cwd: dir, env: offline });
    expect(release.exitCode).toBe(1);
    expect(release.stdout).toMatch(/✖ docs\s+failed\s+docs\/README\.md is the unedited template/);
    expect(release.stdout).toContain('error docs/UNEDITED docs/README.md is the unedited minimal template that init wrote');
    // Any edit of its own text counts as written.
    const edited = await scaffoldCopy({ 'docs/README.md': `${await fs.readFile(path.join(dir, 'docs/README.md'), 'utf8')}\nIt also counts edits.\n` });
    const after = await runMain(['--json', 'check'], { cwd: edited, env: offline });
    expect(JSON.parse(after.stdout).checks.find((c: { id: string }) => c.id === 'docs').findings).toEqual([]);
  });

  it('passes on a fresh scaffold with no marketplace, each check reported', async (ctx) => {
    requires(ctx, 'bandit'); // the security step passes only where bandit runs
    const dir = await copy();
    const before = await listFiles(dir);
    const r = await runMain(['check'], { cwd: dir, env: offline });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^check --profile pr: checked_plugin 0\.1\.0\n/);
    for (const id of ['validate', 'test', 'build', 'verify', 'changelog', 'docs']) expect(r.stdout).toMatch(new RegExp(`✔ ${id}\\s+passed`));
    expect(r.stdout).toMatch(/✔ security\s+passed\s+bandit \(.+\): 0 findings, failing at high severity and above/);
    expect(r.stdout).toContain('✔ check passed: 0 errors, 0 warnings, 0 skipped');
    expect(r.stdout).not.toMatch(/^ {2}. (version|permissions) /m);
    // check writes nothing into the project but pytest's caches (the verified archive was built in a temp dir).
    const caches = (f: string) => /(^|\/)(__pycache__|\.pytest_cache)\//.test(f);
    expect((await listFiles(dir)).filter((f) => !caches(f))).toEqual(before.filter((f) => !caches(f)));
  });

  it('--json: one document with every check, its status and findings', async (ctx) => {
    requires(ctx, 'bandit'); // the security step passes only where bandit runs
    const dir = await copy();
    const r = await runMain(['--json', 'check'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, profile: 'pr', ok: true, plugin: { name: 'checked_plugin', version: '0.1.0' } });
    expect(doc.checks.map((c: { id: string; status: string }) => `${c.id}:${c.status}`)).toEqual([
      'validate:passed',
      'security:passed',
      'test:passed',
      'build:passed',
      'verify:passed',
      'changelog:passed',
      'docs:passed',
    ]);
    expect(doc.checks[1].findings).toEqual([]);
    expect(doc.counts).toEqual({ error: 0, warning: 0, note: 0, suppressed: 0, skipped: 0 });
  });
});

describe('check --profile release', () => {
  it('with no marketplace and no signing key: reports the skipped checks and the missing key, and fails; --allow-skipped with a key passes', async (ctx) => {
    requires(ctx, 'bandit'); // the security step passes only where bandit runs
    const dir = await copy();
    const home = await tempDir({}, 'pxp-check-home-');
    const env = { ...offline, XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined };
    const r = await runMain(['check', '--profile', 'release'], { cwd: dir, env });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/- version\s+skipped\s+no marketplace is configured/);
    expect(r.stdout).toMatch(/- permissions\s+skipped\s+no marketplace is configured/);
    expect(r.stdout).toContain('- error version/SKIPPED check version was skipped: no marketplace is configured');
    expect(r.stdout).toContain('- error permissions/SKIPPED check permissions was skipped');
    expect(r.stdout).not.toContain('security/SKIPPED');
    expect(r.stdout).toContain('- error attest/NO_SIGNING_KEY a release needs signed build provenance, and no signing key is configured');
    expect(r.stdout).toContain('✖ check failed: 3 errors, 0 warnings, 2 skipped');
    expect(await listFiles(dir)).not.toContainEqual(expect.stringMatching(/\.(cdx\.json|intoto\.jsonl)$/));

    const key = await runMain(['keys', 'generate'], { cwd: home, env });
    expect(key.exitCode, key.stderr).toBe(0);
    const allowed = await runMain(['--json', 'check', '--profile', 'release', '--allow-skipped'], { cwd: dir, env });
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    const doc = JSON.parse(allowed.stdout);
    expect(doc.checks.filter((c: { status: string }) => c.status === 'skipped').map((c: { id: string }) => c.id)).toEqual(['version', 'permissions']);
    expect(doc.checks.find((c: { id: string }) => c.id === 'attest')).toMatchObject({
      status: 'passed',
      summary: expect.stringMatching(/^SBOM and provenance signed with key [0-9a-f]{16} \(SLSA Build L1/),
    });
    expect(doc.counts).toMatchObject({ error: 0, warning: 2, skipped: 2 });
  });
});

describe('check findings and formats', () => {
  it('--format github prints exact annotation lines', async (ctx) => {
    requires(ctx, 'bandit'); // the security step passes only where bandit runs
    const dir = await broken();
    const r = await runMain(['check', '--format', 'github'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      "::error file=config/plugin.yaml,line=10,col=13::validate/UNKNOWN_CATEGORY unknown category 'utilty' (did you mean 'utility'?)",
      '::warning::build/SKIPPED check build was skipped: validate reported errors; build refuses to pack until they are fixed',
      '::warning::verify/SKIPPED check verify was skipped: build did not pass, so there is no archive to verify',
      '::error file=CHANGELOG.md,line=1::changelog/NO_SECTION CHANGELOG.md has no section for 0.1.0',
      '::error file=docs/README.md,line=3::docs/PLACEHOLDER docs/README.md still holds TODO',
      '',
    ]);
    expect(r.stderr).toContain('check failed: 3 errors, 2 warnings, 2 skipped');
  });

  it('--format sarif is valid SARIF 2.1.0 (official schema), with rules, locations and the config suppression', async (ctx) => {
    requires(ctx, 'bandit'); // the security step passes only where bandit runs
    const dir = await broken();
    await fs.writeFile(
      path.join(dir, '.plexichat.yaml'),
      'check:\n  rules:\n    docs/PLACEHOLDER:\n      severity: off\n      reason: the README is written by the docs team\n',
    );
    const r = await runMain(['check', '--format', 'sarif', '--output', 'check.sarif'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('wrote check.sarif (sarif): check failed, 2 errors');
    const log = JSON.parse(await fs.readFile(path.join(dir, 'check.sarif'), 'utf8'));
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);

    const run = log.runs[0];
    expect(run.tool.driver.name).toBe('plexichat-plugin');
    expect(run.originalUriBaseIds.SRCROOT.uri).toBe(pathToFileURL(`${dir}/`).href);
    const byRule = (id: string) => run.results.find((x: { ruleId: string }) => x.ruleId === id);
    expect(byRule('validate/UNKNOWN_CATEGORY')).toMatchObject({
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'config/plugin.yaml', uriBaseId: 'SRCROOT' }, region: { startLine: 10, startColumn: 13 } } }],
    });
    expect(byRule('docs/PLACEHOLDER').suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'the README is written by the docs team' },
    ]);
    expect(run.tool.driver.rules[byRule('changelog/NO_SECTION').ruleIndex].id).toBe('changelog/NO_SECTION');
    expect(run.properties.checks.find((c: { id: string }) => c.id === 'security').status).toBe('passed');

    // A fresh scaffold's SARIF (no error results) is valid too.
    const clean = await runMain(['check', '--format', 'sarif'], { cwd: await copy(), env: offline });
    expect(clean.exitCode).toBe(0);
    expect(validate(JSON.parse(clean.stdout)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('.plexichat.yaml: levels and reasoned offs decide the exit code', async () => {
    const dir = await broken();
    await fs.writeFile(
      path.join(dir, '.plexichat.yaml'),
      [
        '# CI settings for check',
        'check:',
        '  rules:',
        '    validate/UNKNOWN_CATEGORY: warning',
        '    changelog/NO_SECTION:',
        '      severity: off',
        '      reason: the changelog is written at release time',
        '    docs/PLACEHOLDER: {severity: note}',
        '',
      ].join('\n'),
    );
    const r = await runMain(['--json', 'check'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stdout).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.config).toBe('.plexichat.yaml');
    const findings = doc.checks.flatMap((c: { findings: unknown[] }) => c.findings);
    expect(findings).toContainEqual(expect.objectContaining({ ruleId: 'validate/UNKNOWN_CATEGORY', level: 'warning', configuredFrom: 'error' }));
    expect(findings).toContainEqual(
      expect.objectContaining({ ruleId: 'changelog/NO_SECTION', suppressed: { reason: 'the changelog is written at release time' } }),
    );
    expect(findings).toContainEqual(expect.objectContaining({ ruleId: 'docs/PLACEHOLDER', level: 'note' }));
    expect(doc.counts).toMatchObject({ error: 0, suppressed: 1 });
  });

  it.each([
    ['check:\n  rules:\n    docs/PLACEHOLDER: off\n', '.plexichat.yaml:3:5: rule docs/PLACEHOLDER is turned off without a reason'],
    ['check:\n  rules:\n    docs/PLACEHOLDER: loud\n', '.plexichat.yaml:3:5: rule docs/PLACEHOLDER: severity must be one of error, warning, note, off'],
    ['check:\n  rules:\n    placeholder: warning\n', '.plexichat.yaml:3:5: "placeholder" is not a rule id'],
    ['check:\n  rulez: {}\n', '.plexichat.yaml:2:3: unknown key check.rulez'],
    ['check: [\n', '.plexichat.yaml:2:1:'],
  ])('a bad config is a usage error naming file:line:col (%j)', async (text, message) => {
    const dir = await copy();
    await fs.writeFile(path.join(dir, '.plexichat.yaml'), text);
    const r = await runMain(['check'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`error: ${message}`);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it.each([
    [['check', '--profile', 'nightly'], '--profile must be one of pr, release'],
    [['check', '--format', 'xml'], '--format must be one of text, json, sarif, github'],
    [['--json', 'check', '--format', 'sarif'], '--json and --format sarif ask for two different documents'],
    [['check', '--output', 'x.txt'], '--output needs --format json, sarif or github'],
  ])('%j → exit 2', async (args, message) => {
    const dir = await copy();
    const r = await runMain(args, { cwd: dir, env: offline });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
