/**
 * The --json contract (docs/json.md): every command's document, on success
 * and on failure, validated against the JSON Schema the package ships in
 * schemas/ (additionalProperties: false, required fields), so a field
 * cannot vanish or appear unnoticed. The marketplace commands run against
 * the real development server.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { createProgram } from '../../src/cli/program.js';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { requires } from '../helpers/requires.js';
import { hasStackTrace, type CliResult } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir, writeTree } from '../helpers/temp-project.js';
import { cleanupAll, startCli } from './dev-fixture.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';

const SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));
const SHARED = ['common', 'error'];

const ajv = new Ajv2020({ strict: true, allErrors: true });
const schemaFiles = fs
  .readdirSync(SCHEMAS)
  .filter((f) => f.endsWith('.schema.json'))
  .sort();
const schemas = new Map<string, Record<string, unknown>>();
for (const f of schemaFiles) {
  const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, f), 'utf8')) as Record<string, unknown>;
  schemas.set(f.replace(/\.schema\.json$/, ''), schema);
  ajv.addSchema(schema);
}

/** Which document schemas a run of this file validated something against. */
const exercised = new Set<string>();

/** Field names anywhere in doc that are not camelCase (the manifest's user-chosen map keys aside). */
function notCamel(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => notCamel(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const here = `${at}.${k}`;
    if (/^\.manifest\.(settings|resources)$/.test(here)) return [];
    return [...(/^[a-z][a-zA-Z0-9]*$/.test(k) ? [] : [here]), ...notCamel(v, here)];
  });
}

/**
 * The one document on stdout: valid against schemas/<name>.schema.json, all
 * field names camelCase, and either the command's result (exit 0, or 1 for
 * a verdict such as failing tests) or `{ error }` with the exit code it names.
 */
function expectDoc(name: string, r: CliResult, want: { exit: number; error?: string }): Record<string, unknown> {
  const shown = `${name}: exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.exitCode, shown).toBe(want.exit);
  expect(hasStackTrace(r.stderr), shown).toBe(false);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document\n${shown}`);
  }
  return checkDoc(name, doc, want, shown);
}

function checkDoc(name: string, doc: Record<string, unknown>, want: { exit: number; error?: string }, shown: string): Record<string, unknown> {
  const validate = ajv.getSchema(`${name}.schema.json`);
  expect(validate, `no schema ${name}.schema.json`).toBeDefined();
  const valid = validate!(doc);
  const why = (validate!.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
  expect(valid, `${why}\n${shown}`).toBe(true);
  exercised.add(name);
  expect(Object.keys(doc)[0], 'schemaVersion comes first').toBe('schemaVersion');
  expect(doc.schemaVersion).toBe(1);
  expect(notCamel(doc), shown).toEqual([]);
  if (want.error) {
    const error = doc.error as { code: string; exitCode: number };
    expect(error?.code, shown).toBe(want.error);
    expect(error.exitCode).toBe(want.exit);
  } else if (!('event' in doc)) {
    // (A dev event says what it is in `event`; its own `error` field is the event's, e.g. reload_failed.)
    expect(doc, shown).not.toHaveProperty('error');
  }
  return doc;
}

let env: Record<string, string | undefined>;
let root: string;

/** The CLI with --json in dir (through `main`, in-process: the document is main's), with an isolated config (no marketplace unless given). */
function json(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliResult> {
  return runMain(['--json', ...args], { cwd: opts.cwd ?? root, env: { ...env, ...opts.env }, input: opts.input });
}

/** A fresh plugin project from the minimal template. */
async function project(name = uniqueName('contract')): Promise<string> {
  const r = await json(['init', name, '--name', name, '--category', 'utility', '--yes']);
  expect(r.exitCode, r.stderr).toBe(0);
  return path.join(root, name);
}

beforeAll(async () => {
  env = await isolatedEnv();
  root = await tempDir({}, 'pxp-contract-');
});

afterAll(async () => {
  cleanupAll();
  await fsp.rm(root, { recursive: true, force: true });
});

describe('the --json contract: the CLI boundary', () => {
  it('--version, --help, a group without its subcommand, an unknown command or flag', async () => {
    expectDoc('cli-version', await json(['--version']), { exit: 0 });
    for (const args of [['--help'], ['build', '--help'], ['help', 'marketplace'], ['marketplace', 'keys', '--help']]) {
      expectDoc('help', await json(args), { exit: 0 });
    }
    const group = expectDoc('help', await json(['marketplace']), { exit: 2, error: 'MISSING_SUBCOMMAND' });
    expect((group.error as { subcommands: unknown[] }).subcommands.length).toBeGreaterThan(5);
    expectDoc('help', await json(['nonexist']), { exit: 2, error: 'USAGE' });
    expectDoc('help', await json(['build', '--no-such-flag']), { exit: 2, error: 'USAGE' });
  });

  it('completion', async () => {
    expectDoc('completion', await json(['completion', 'bash']), { exit: 0 });
    expectDoc('completion', await json(['completion', 'tcsh']), { exit: 2, error: 'UNKNOWN_SHELL' });
  });
});

describe('the --json contract: project commands', () => {
  it('init', async () => {
    const name = uniqueName('init');
    const doc = expectDoc('init', await json(['init', name, '--name', name, '--category', 'utility', '--yes']), { exit: 0 });
    expect(doc).toMatchObject({ name, template: 'minimal', replaced: [] });
    const again = expectDoc('init', await json(['init', name, '--name', name, '--category', 'utility', '--yes', '--force']), { exit: 0 });
    expect(again.backup).toEqual(expect.any(String));
    expectDoc('init', await json(['init', 'x', '--name', 'Bad-Name', '--category', 'utility', '--yes']), { exit: 2, error: 'INVALID_NAME' });
    expectDoc('init', await json(['init', name, '--name', name, '--category', 'utility', '--yes']), { exit: 1, error: 'DIRECTORY_NOT_EMPTY' });
  });

  it('workspace: validate and build over two plugins, one failing; --affected with no change; no workspace', async () => {
    const ws = await tempDir({ 'plexichat-workspace.yaml': 'plugins: [plugins/*]\n' });
    for (const n of ['ws_one', 'ws_two']) {
      const r = await json(['init', `plugins/${n}`, '--name', n, '--category', 'utility', '--yes'], { cwd: ws });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const ok = expectDoc('workspace', await json(['validate', '--all'], { cwd: ws }), { exit: 0 });
    expect(ok).toMatchObject({ command: 'validate', ok: true, selection: { mode: 'all' } });
    const built = expectDoc('workspace', await json(['build', '--plugin', 'ws_two', '--no-sign'], { cwd: ws }), { exit: 0 });
    expect((built.plugins as unknown[]).length).toBe(1);
    const manifest = path.join(ws, 'plugins', 'ws_one', 'config', 'plugin.yaml');
    await fsp.writeFile(manifest, (await fsp.readFile(manifest, 'utf8')).replace(/version: "[^"]+"/, 'version: "nope"'));
    const bad = expectDoc('workspace', await json(['build'], { cwd: ws }), { exit: 1 });
    expect((bad.plugins as { error?: { code: string } }[])[0].error?.code).toBe('VALIDATION_FAILED');
    expectDoc('workspace', await json(['validate', '--affected'], { cwd: ws }), { exit: 2, error: 'USAGE' });
    expectDoc('workspace', await json(['validate', '--all'], { cwd: await tempDir() }), { exit: 2, error: 'NO_WORKSPACE' });
  });

  it('workspace: deploy render and its --check, version over two plugins; a one-plugin flag refused', async () => {
    const ws = await tempDir({ 'plexichat-workspace.yaml': 'plugins: [plugins/*]\n' });
    for (const n of ['ws_one', 'ws_two']) {
      const r = await json(['init', `plugins/${n}`, '--name', n, '--category', 'utility', '--yes'], { cwd: ws });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const rendered = expectDoc('workspace', await json(['deploy', 'render', '--all'], { cwd: ws }), { exit: 0 });
    expect(rendered).toMatchObject({ command: 'deploy render', ok: true });
    await fsp.rm(path.join(ws, 'plugins', 'ws_two', 'Dockerfile'));
    const drift = expectDoc('workspace', await json(['deploy', 'render', '--check'], { cwd: ws }), { exit: 1 });
    expect((drift.plugins as { exitCode: number }[]).map((p) => p.exitCode)).toEqual([0, 1]);
    const bumped = expectDoc('workspace', await json(['version', 'patch', '--plugin', 'ws_one', '--dry-run'], { cwd: ws }), { exit: 0 });
    expect(bumped).toMatchObject({ command: 'version', plugins: [{ name: 'ws_one', result: { from: '0.1.0', to: '0.1.1', dryRun: true } }] });
    expectDoc('workspace', await json(['deploy', 'render', '--all', '--image', 'registry.example.com/x'], { cwd: ws }), { exit: 2, error: 'USAGE' });
  });

  it('validate: a valid plugin, one with errors (a verdict, exit 1), no plugin at all', async (ctx) => {
    const dir = await project();
    const ok = expectDoc('validate', await json(['validate'], { cwd: dir }), { exit: 0 });
    expect(ok).toMatchObject({ ok: true, codeChecks: 'ran' });
    const built = expectDoc('build', await json(['build', '--no-sign'], { cwd: dir }), { exit: 0 });
    const against = expectDoc('validate', await json(['validate', '--against', built.archive as string], { cwd: dir }), { exit: 0 });
    expect(against.against).toMatchObject({ base: { kind: 'archive' }, diff: { unchanged: true } });
    const manifest = path.join(dir, 'config', 'plugin.yaml');
    const text = await fsp.readFile(manifest, 'utf8');
    await fsp.writeFile(manifest, text.replace(/version: "[^"]+"/, 'version: "nope"'));
    const bad = expectDoc('validate', await json(['validate'], { cwd: dir }), { exit: 1 });
    expect(bad.ok).toBe(false);
    expectDoc('validate', await json(['validate', '--fail-on', 'low'], { cwd: dir }), { exit: 2, error: 'USAGE' });
    const empty = await tempDir();
    expectDoc('validate', await json(['validate'], { cwd: empty }), { exit: 1, error: 'MANIFEST_NOT_FOUND' });
    // Last, as it needs a tool the machine may lack: --security runs bandit.
    requires(ctx, 'bandit');
    await fsp.writeFile(manifest, text);
    const sec = expectDoc('validate', await json(['validate', '--security'], { cwd: dir }), { exit: 0 });
    expect(sec.security).toMatchObject({ tool: 'bandit' });
  });

  it('sdk wheel', async () => {
    const out = await tempDir();
    const doc = expectDoc('sdk-wheel', await json(['sdk', 'wheel', '--out', out]), { exit: 0 });
    expect(doc).toMatchObject({ name: expect.stringMatching(/^plexichat_plugin_sdk-.+-py3-none-any\.whl$/), requires: ['PyYAML>=5.1'] });
    expect(doc.wheel).toBe(path.join(out, doc.name as string));
    const file = path.join(await tempDir(), 'a-file');
    await fsp.writeFile(file, '');
    expectDoc('sdk-wheel', await json(['sdk', 'wheel', '--out', file]), { exit: 1, error: 'CANNOT_WRITE' });
  });

  it('deps lock, deps sync: their documents on failure (their results are checked against the same schemas in deps.e2e)', async () => {
    const dir = await project();
    expectDoc('deps-lock', await json(['deps', 'lock', '--check'], { cwd: dir }), { exit: 1, error: 'LOCK_NOT_FOUND' });
    expectDoc('deps-sync', await json(['deps', 'sync'], { cwd: dir }), { exit: 1, error: 'LOCK_NOT_FOUND' });
    expectDoc('deps-lock', await json(['deps', 'lock', '--python-version', 'x'], { cwd: dir }), { exit: 2, error: 'USAGE' });
  });

  it('test: passing, failing tests (a verdict, exit 1), tests that cannot be collected (an error)', async () => {
    const dir = await project();
    const passed = expectDoc('test', await json(['test'], { cwd: dir }), { exit: 0 });
    expect(passed).toMatchObject({ ok: true, exitCode: 0, failed: 0 });
    await writeTree(dir, { tests: { 'test_fails.py': 'def test_fails():\n    assert 1 == 2\n' } });
    const failed = expectDoc('test', await json(['test'], { cwd: dir }), { exit: 1 });
    expect(failed).toMatchObject({ ok: false, exitCode: 1, failed: 1 });
    await writeTree(dir, { tests: { 'test_broken.py': 'import no_such_module_for_the_contract\n' } });
    const broken = expectDoc('test', await json(['test'], { cwd: dir }), { exit: 1, error: 'COLLECTION_ERROR' });
    expect((broken.error as { collectionErrors: string[] }).collectionErrors).toHaveLength(1);
    expectDoc('test', await json(['test'], { cwd: await tempDir() }), { exit: 1, error: 'MANIFEST_NOT_FOUND' });
  });

  it('build, its dry run with --explain, a build that fails, and verify of what it made', async () => {
    const dir = await project();
    const key = path.join(root, `${path.basename(dir)}.pem`);
    expectDoc('keys-generate', await json(['keys', 'generate', '--out', key]), { exit: 0 });
    expectDoc('keys-generate', await json(['keys', 'generate', '--out', key]), { exit: 1, error: 'KEY_EXISTS' });
    const built = expectDoc('build', await json(['build', '--sign', '--key', key], { cwd: dir }), { exit: 0 });
    expect(built.signature).toMatchObject({ keyId: expect.any(String) });
    const dry = expectDoc('build', await json(['build', '--dry-run', '--explain'], { cwd: dir }), { exit: 0 });
    expect(dry).toMatchObject({ dryRun: true, list: expect.any(Array), explain: expect.any(Array) });

    const archive = built.archive as string;
    const verified = expectDoc('verify', await json(['verify', archive, '--key', `${key}.pub`]), { exit: 0 });
    expect(verified.signature).toMatchObject({ status: 'verified', keyId: expect.any(String), createdAt: expect.any(String) });
    const unsigned = path.join(root, 'unsigned.zip');
    await fsp.copyFile(archive, unsigned);
    const refused = expectDoc('verify', await json(['verify', unsigned, '--key', `${key}.pub`]), { exit: 1 });
    expect(refused).toMatchObject({ ok: false, signature: { status: 'failed', code: 'SIGNATURE_MISSING' } });
    expectDoc('verify', await json(['verify', path.join(root, 'missing.zip')]), { exit: 1, error: 'ARCHIVE_NOT_FOUND' });

    const manifest = path.join(dir, 'config', 'plugin.yaml');
    await fsp.writeFile(manifest, (await fsp.readFile(manifest, 'utf8')).replace(/version: "[^"]+"/, 'version: "nope"'));
    expectDoc('build', await json(['build'], { cwd: dir }), { exit: 1, error: 'VALIDATION_FAILED' });
    expectDoc('build', await json(['build', '--sign', '--key', path.join(root, 'no-key.pem')], { cwd: dir }), { exit: 2, error: 'KEY_FILE_UNREADABLE' });
  });

  it('version', async () => {
    const dir = await project();
    const dry = expectDoc('version', await json(['version', 'minor', '--dry-run', '--note', 'More'], { cwd: dir }), { exit: 0 });
    expect(dry).toMatchObject({ dryRun: true, published: { checked: false } });
    expectDoc('version', await json(['version', 'patch'], { cwd: dir }), { exit: 0 });
    expectDoc('version', await json(['version', 'sideways'], { cwd: dir }), { exit: 2, error: 'USAGE' });
  });

  it('check: the report, and a bad flag', async () => {
    const dir = await project();
    const report = expectDoc('check', await json(['check'], { cwd: dir }), { exit: 0 });
    expect(report).toMatchObject({ ok: true, profile: 'pr' });
    // --format json is the same document as --json.
    const out = path.join(dir, 'check.json');
    expect((await runMain(['check', '--format', 'json', '--output', out], { cwd: dir, env })).exitCode).toBe(0);
    checkDoc('check', JSON.parse(await fsp.readFile(out, 'utf8')) as Record<string, unknown>, { exit: 0 }, 'check --format json');
    const release = expectDoc('check', await json(['check', '--profile', 'release'], { cwd: dir }), { exit: 1 });
    expect(release.ok).toBe(false);
    expectDoc('check', await json(['check', '--profile', 'nightly'], { cwd: dir }), { exit: 2, error: 'USAGE' });
  });

  it('deploy render: written, --check out of date (a verdict, exit 1), a bad flag', async () => {
    const dir = await project();
    const stale = expectDoc('deploy-render', await json(['deploy', 'render', '--check'], { cwd: dir }), { exit: 1 });
    expect(stale).toMatchObject({ check: true, upToDate: false });
    expectDoc('deploy-render', await json(['deploy', 'render', '--helm'], { cwd: dir }), { exit: 0 });
    const fresh = expectDoc('deploy-render', await json(['deploy', 'render', '--helm', '--check'], { cwd: dir }), { exit: 0 });
    expect(fresh.upToDate).toBe(true);
    expectDoc('deploy-render', await json(['deploy', 'render', '--env', 'moon'], { cwd: dir }), { exit: 2, error: 'USAGE' });
  });

  it('dev: one document per line, each with schemaVersion; a refused flag is one error document', async () => {
    const dir = await project();
    const dev = startCli(dir, ['--json', 'dev', '--port', '0'], env as Record<string, string>);
    const ready = (await dev.waitFor((e) => e.event === 'ready', { timeoutMs: 30_000 })) as { url: string };
    await dev.waitFor((e) => e.event === 'validated', { timeoutMs: 30_000 });
    // A request, a hook, a log line, a reload and a reload that fails: each is an event.
    await fetch(`${ready.url}/api/v1/${path.basename(dir)}/status`, { headers: { 'X-PlexiChat-Permissions': 'message_read' } });
    await fetch(`${ready.url}/__dev/hooks/message_sent`, { method: 'POST', body: '{}' });
    const plugin = path.join(dir, 'src', 'plugin.py');
    const source = await fsp.readFile(plugin, 'utf8');
    await fsp.writeFile(plugin, `${source}\nimport logging\nlogging.getLogger("contract").warning("reloaded")\n`);
    await dev.waitFor((e) => e.event === 'reloaded', { timeoutMs: 30_000 });
    await fsp.writeFile(plugin, `${source}\nthis is not python(\n`);
    await dev.waitFor((e) => e.event === 'reload_failed', { timeoutMs: 30_000 });
    const stopped = await dev.stop('SIGTERM');
    expect(stopped.code, dev.stderr).toBe(0);
    const lines = dev.stdoutText.trim().split('\n');
    for (const line of lines) checkDoc('dev', JSON.parse(line) as Record<string, unknown>, { exit: 0 }, line);
    expect(new Set(dev.events.map((e) => e.event))).toEqual(
      new Set(['ready', 'validated', 'request', 'hook', 'log', 'reloaded', 'reload_failed', 'stopping', 'stopped']),
    );
    expectDoc('dev', await json(['dev', '--host', '0.0.0.0'], { cwd: dir }), { exit: 2, error: 'USAGE' });
  });
});

describe('the --json contract: marketplace commands against the development marketplace', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s));
  let dir: string;
  let name: string;
  let mp: Record<string, string | undefined>;
  const dev = () => ({ ...mp, PLEXICHAT_TOKEN: srv.developer });
  const reviewer = () => ({ ...mp, PLEXICHAT_TOKEN: srv.reviewer });

  beforeAll(async () => {
    mp = { ...(await isolatedEnv()), PLEXICHAT_MARKETPLACE_URL: srv.url };
    name = uniqueName('market');
    dir = await project(name);
  });

  it('login, whoami, logout', async () => {
    const login = expectDoc('marketplace-login', await json(['marketplace', 'login', '--token-stdin'], { env: mp, input: srv.developer }), { exit: 0 });
    expect(login).toMatchObject({ role: 'developer' });
    expectDoc('marketplace-login', await json(['marketplace', 'login', '--token-stdin'], { env: mp, input: 'pcx_not_a_token' }), {
      exit: 4,
      error: 'UNAUTHORIZED',
    });
    expectDoc('marketplace-whoami', await json(['marketplace', 'whoami'], { env: mp }), { exit: 0 });
    expectDoc('marketplace-logout', await json(['marketplace', 'logout'], { env: mp }), { exit: 0 });
    expectDoc('marketplace-logout', await json(['marketplace', 'logout'], { env: mp }), { exit: 0 });
    expectDoc('marketplace-whoami', await json(['marketplace', 'whoami'], { env: mp }), { exit: 4, error: 'NOT_LOGGED_IN' });
  });

  it('keys add, list, revoke', async () => {
    const key = path.join(root, `${name}-market.pem`);
    expect((await json(['keys', 'generate', '--out', key])).exitCode).toBe(0);
    const added = expectDoc('marketplace-keys-add', await json(['marketplace', 'keys', 'add', `${key}.pub`, '--expires', '2099-01-01'], { env: dev() }), {
      exit: 0,
    });
    const keyId = (added.key as { keyId: string }).keyId;
    expectDoc('marketplace-keys-add', await json(['marketplace', 'keys', 'add', `${key}.pub`], { env: dev() }), { exit: 0 });
    expectDoc('marketplace-keys-add', await json(['marketplace', 'keys', 'add', path.join(root, 'none.pub')], { env: dev() }), {
      exit: 2,
      error: 'KEY_FILE_UNREADABLE',
    });
    const listed = expectDoc('marketplace-keys-list', await json(['marketplace', 'keys', 'list'], { env: dev() }), { exit: 0 });
    expect(listed.keys).toEqual([expect.objectContaining({ keyId })]);
    expectDoc('marketplace-keys-list', await json(['marketplace', 'keys', 'list'], { env: mp }), { exit: 4, error: 'NOT_LOGGED_IN' });
    const revoked = expectDoc('marketplace-keys-revoke', await json(['marketplace', 'keys', 'revoke', keyId], { env: dev() }), { exit: 0 });
    expect(revoked.key).toMatchObject({ keyId, revokedAt: expect.any(String) });
    expectDoc('marketplace-keys-revoke', await json(['marketplace', 'keys', 'revoke', 'xyz'], { env: dev() }), { exit: 2, error: 'USAGE' });
  });

  it('keys rollover, marketplace keys rollover', async () => {
    const [from, to] = [path.join(root, `${name}-old.pem`), path.join(root, `${name}-new.pem`)];
    for (const k of [from, to]) expect((await json(['keys', 'generate', '--out', k])).exitCode).toBe(0);
    expect((await json(['marketplace', 'keys', 'add', `${from}.pub`], { env: dev() })).exitCode).toBe(0);
    const made = expectDoc('keys-rollover', await json(['keys', 'rollover', '--from', from, '--to', to]), { exit: 0 });
    expectDoc('keys-rollover', await json(['keys', 'rollover', '--from', from, '--to', to]), { exit: 1, error: 'FILE_EXISTS' });
    expectDoc('keys-rollover', await json(['keys', 'rollover', '--from', from]), { exit: 2, error: 'USAGE' });
    const rolled = expectDoc('marketplace-keys-rollover', await json(['marketplace', 'keys', 'rollover', made.file as string], { env: dev() }), { exit: 0 });
    expect(rolled.rolledOver).toMatchObject({ keyId: made.oldKeyId, rolledOverTo: made.newKeyId });
    expectDoc('marketplace-keys-rollover', await json(['marketplace', 'keys', 'rollover', path.join(root, 'none.json')], { env: dev() }), {
      exit: 2,
      error: 'KEY_FILE_UNREADABLE',
    });
  });

  it('prepare, submit, status, review, publish, info, download', async () => {
    const notReady = expectDoc('marketplace-prepare', await json(['marketplace', 'prepare'], { cwd: dir, env: dev() }), { exit: 1 });
    expect(notReady.ok).toBe(false);
    expectDoc('marketplace-submit', await json(['marketplace', 'submit'], { cwd: dir, env: dev() }), { exit: 1, error: 'LISTING_INCOMPLETE' });
    await writeTree(dir, { docs: { 'README.md': `# ${name}\n\nCounts the messages sent in each channel.\n` } });
    expect((await json(['build', '--no-sign'], { cwd: dir })).exitCode).toBe(0);
    const prepared = expectDoc('marketplace-prepare', await json(['marketplace', 'prepare'], { cwd: dir, env: dev() }), { exit: 0 });
    expect(prepared).toMatchObject({ ok: true, listing: { longDescription: expect.any(String) } });

    const submitted = expectDoc('marketplace-submit', await json(['marketplace', 'submit'], { cwd: dir, env: dev() }), { exit: 0 });
    const id = (submitted.submission as { id: string }).id;
    expect(submitted).toMatchObject({ existing: false, submission: { id, state: 'pending' } });
    expectDoc('marketplace-submit', await json(['marketplace', 'submit'], { cwd: dir, env: dev() }), { exit: 0 });
    expectDoc('marketplace-status', await json(['marketplace', 'status'], { cwd: dir, env: dev() }), { exit: 0 });
    expectDoc('marketplace-status', await json(['marketplace', 'status', id], { cwd: dir, env: dev() }), { exit: 0 });
    expectDoc('marketplace-status', await json(['marketplace', 'status', 'sub_0000000000000000'], { cwd: dir, env: dev() }), {
      exit: 1,
      error: 'SUBMISSION_NOT_FOUND',
    });
    expectDoc('marketplace-publish', await json(['marketplace', 'publish', id], { cwd: dir, env: dev() }), { exit: 1, error: 'NOT_APPROVED' });

    expectDoc('marketplace-review', await json(['marketplace', 'review', id, '--reject'], { env: reviewer() }), { exit: 2, error: 'USAGE' });
    expectDoc('marketplace-review', await json(['marketplace', 'review', id, '--approve'], { env: dev() }), { exit: 4, error: 'FORBIDDEN_ROLE' });
    const reviewed = expectDoc('marketplace-review', await json(['marketplace', 'review', id, '--approve', '--notes', 'fine'], { env: reviewer() }), {
      exit: 0,
    });
    expect(reviewed).toMatchObject({ decision: 'approve', submission: { state: 'approved' } });
    const waited = expectDoc('marketplace-status', await json(['marketplace', 'status', '--wait', '--timeout', '30'], { cwd: dir, env: dev() }), { exit: 0 });
    expect(waited).toMatchObject({ waited: true, submission: { state: 'approved' } });

    const published = expectDoc('marketplace-publish', await json(['marketplace', 'publish'], { cwd: dir, env: dev() }), { exit: 0 });
    expect(published).toMatchObject({ changed: true, submission: { state: 'published', publishedAt: expect.any(String) } });
    expectDoc('marketplace-publish', await json(['marketplace', 'publish'], { cwd: dir, env: dev() }), { exit: 0 });
    const info = expectDoc('marketplace-info', await json(['marketplace', 'info', name], { env: mp }), { exit: 0 });
    expect(info.versions).toEqual([expect.objectContaining({ version: '0.1.0', publishedAt: expect.any(String) })]);
    expectDoc('marketplace-info', await json(['marketplace', 'info', 'no_such_plugin_here'], { env: mp }), { exit: 1, error: 'PLUGIN_NOT_FOUND' });

    const into = await tempDir();
    const downloaded = expectDoc('marketplace-download', await json(['marketplace', 'download', name, '--out', into], { env: mp }), { exit: 0 });
    expect(downloaded).toMatchObject({ version: '0.1.0', countersignature: { keyId: expect.any(String) }, publisher: null });
    expectDoc('marketplace-download', await json(['marketplace', 'download', `${name}@9.9.9`, '--out', into], { env: mp }), {
      exit: 1,
      error: 'VERSION_NOT_FOUND',
    });

    // The static registry: a mirror of the published version, read back through --registry; index refuses a missing --to.
    const reg = path.join(await tempDir(), 'registry');
    const mirrored = expectDoc('marketplace-mirror', await json(['marketplace', 'mirror', '--from', String(mp.PLEXICHAT_MARKETPLACE_URL), '--to', reg, name]), {
      exit: 0,
    });
    expect(mirrored).toMatchObject({ plugins: [{ name, versions: ['0.1.0'] }], unchanged: 0 });
    expectDoc('marketplace-mirror', await json(['marketplace', 'mirror', '--to', reg]), { exit: 2, error: 'USAGE' });
    expectDoc('marketplace-info', await json(['marketplace', 'info', name, '--registry', `file://${reg}`]), { exit: 0 });
    expectDoc('marketplace-download', await json(['marketplace', 'download', name, '--registry', `file://${reg}`, '--out', await tempDir()]), { exit: 0 });
    expectDoc('marketplace-index', await json(['marketplace', 'index', '--data-dir', reg]), { exit: 2, error: 'USAGE' });
    expectDoc('marketplace-index', await json(['marketplace', 'index', '--data-dir', reg, '--to', path.join(reg, 'again')]), {
      exit: 2,
      error: 'NO_MARKETPLACE_DATA',
    });

    // The next version: an archive verify refuses is an error; a --wait that ends in a rejection is a verdict (exit 1).
    expect((await json(['version', 'minor', '--note', 'More'], { cwd: dir, env: mp })).exitCode).toBe(0);
    expect((await json(['build', '--no-sign'], { cwd: dir })).exitCode).toBe(0);
    const junk = path.join(dir, 'dist', 'junk.zip');
    await fsp.writeFile(junk, 'not a zip\n');
    expectDoc('marketplace-prepare', await json(['marketplace', 'prepare', '--archive', junk], { cwd: dir, env: dev() }), {
      exit: 1,
      error: 'ARCHIVE_REFUSED',
    });
    expectDoc('marketplace-submit', await json(['marketplace', 'submit', '--archive', junk], { cwd: dir, env: dev() }), { exit: 1, error: 'ARCHIVE_REFUSED' });
    const next = expectDoc('marketplace-submit', await json(['marketplace', 'submit'], { cwd: dir, env: dev() }), { exit: 0 });
    const nextId = (next.submission as { id: string }).id;
    const rejected = expectDoc('marketplace-review', await json(['marketplace', 'review', nextId, '--reject', '--notes', 'not yet'], { env: reviewer() }), {
      exit: 0,
    });
    expect(rejected).toMatchObject({ decision: 'reject', submission: { state: 'rejected', notes: 'not yet' } });
    const verdict = expectDoc('marketplace-status', await json(['marketplace', 'status', '--wait', '--timeout', '30'], { cwd: dir, env: dev() }), { exit: 1 });
    expect(verdict).toMatchObject({ waited: true, submission: { id: nextId, state: 'rejected' } });
  });

  it('serve: the start-up document, and a refused start', async () => {
    const data = await tempDir();
    const serve = startCli(root, ['--json', 'marketplace', 'serve', '--port', '0', '--data-dir', data], env as Record<string, string>);
    await serve.waitFor(() => true, { timeoutMs: 30_000 });
    await serve.stop('SIGTERM');
    checkDoc('marketplace-serve', JSON.parse(serve.stdoutText) as Record<string, unknown>, { exit: 0 }, serve.stdoutText);
    expectDoc(
      'marketplace-serve',
      await json(['marketplace', 'serve', '--data-dir', data, '--developer-token', 'pcx_same_token_twice', '--reviewer-token', 'pcx_same_token_twice']),
      { exit: 2, error: 'BAD_TOKENS' },
    );
  });

  it('migrate: the schema and sweep document, a copy, and a refused setting', async () => {
    const data = await tempDir();
    const swept = expectDoc('marketplace-migrate', await json(['marketplace', 'migrate', '--data-dir', data, '--sweep']), { exit: 0 });
    expect(swept).toMatchObject({ storageSchema: expect.any(Number), swept: { temps: 0, orphans: 0 }, copy: null });
    const copied = expectDoc('marketplace-migrate', await json(['marketplace', 'migrate', '--from', data, '--to', path.join(data, 'copy')]), { exit: 0 });
    expect(copied).toMatchObject({ copy: { archives: 0, rows: { submissions: 0 } } });
    expectDoc('marketplace-migrate', await json(['marketplace', 'migrate', '--database', 'postgres://u:pw@127.0.0.1/db', '--blobs', 's3://bucket/p']), {
      exit: 2,
      error: 'SECRET_ON_COMMAND_LINE',
    });
  });
});

describe('the --json contract: the schemas', () => {
  /** schemas/<command path joined by ->.schema.json for every command that runs (groups print help). */
  function commandSchemas(): string[] {
    const program = createProgram('0.0.0', async () => undefined);
    const names: string[] = [];
    const walk = (cmd: Command, prefix: string[]) => {
      for (const c of cmd.commands) {
        const p = [...prefix, c.name()];
        if (c.commands.length) walk(c, p);
        else names.push(p.join('-'));
      }
    };
    walk(program, []);
    return names;
  }

  it('every command has a schema, and every schema is a document of a command or the boundary', () => {
    const commands = commandSchemas();
    const documents = [...schemas.keys()].filter((n) => !SHARED.includes(n));
    // workspace: validate/test/build/check over the plugins of a workspace (docs/workspace.md).
    expect(documents.sort()).toEqual([...commands, 'cli-version', 'help', 'workspace'].sort());
  });

  it('docs/json.md names every document schema', () => {
    const doc = fs.readFileSync(fileURLToPath(new URL('../../docs/json.md', import.meta.url)), 'utf8');
    const documents = [...schemas.keys()].filter((n) => !SHARED.includes(n));
    expect(documents.filter((n) => !doc.includes(`| \`${n}\` |`))).toEqual([]);
  });

  it('every object in every schema says whether other fields may appear', () => {
    const open: string[] = [];
    const walk = (s: unknown, at: string) => {
      if (Array.isArray(s)) return s.forEach((x, i) => walk(x, `${at}[${i}]`));
      if (s === null || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (o.properties !== undefined && o.additionalProperties === undefined && o.unevaluatedProperties === undefined) open.push(at);
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    for (const [n, s] of schemas) walk(s, n);
    expect(open).toEqual([]);
  });

  it('every document schema was validated against by the runs above (when the whole file runs)', () => {
    const documents = [...schemas.keys()].filter((n) => !SHARED.includes(n));
    expect(documents.filter((n) => !exercised.has(n))).toEqual([]);
  });
});
