/**
 * The permission and capability diff: `validate --against <archive>` and
 * `--against published`.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { manifestYaml, writeSources } from './marketplace-plugin.js';
import { cli, ok, publishVersion } from './permission-diff-helpers.js';

const offline = { PLEXICHAT_MARKETPLACE_URL: undefined };

/** Rewrite the manifest's permissions/hooks blocks (manifestYaml's layout). */
async function setManifest(dir: string, name: string, version: string, perms: { required: string[]; optional: string[] }, hooks: string[]) {
  const base = manifestYaml(name, version).replace(/permissions:[\s\S]*$/, '');
  const text = `${base}permissions:\n  required: [${perms.required.join(', ')}]\n  optional: [${perms.optional.join(', ')}]\nhooks:\n${hooks.map((h) => `  - ${h}\n`).join('')}`;
  await fs.writeFile(path.join(dir, 'config/plugin.yaml'), text);
}

describe('validate --against <archive>', () => {
  it('lists permissions added, removed and moved, and hooks added, in text and --json', async () => {
    const name = 'diff_plugin';
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name, version: '1.0.0' });
    await setManifest(dir, name, '1.0.0', { required: ['message_read', 'channel_read'], optional: ['user_data_read'] }, ['message_sent']);
    await ok(dir, ['build'], offline);
    const old = 'dist/diff_plugin-1.0.0.zip';
    await setManifest(dir, name, '1.1.0', { required: ['message_read', 'admin_access', 'user_data_read'], optional: [] }, ['message_sent', 'user_login']);

    const r = await cli(dir, ['validate', '--against', old], offline);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      [
        `changes since ${old} (1.0.0):`,
        '  + permission admin_access (required)  NEW REQUIRED PERMISSION',
        '  ~ permission user_data_read: optional -> required  NEW REQUIRED PERMISSION',
        '  - permission channel_read (was required)',
        '  + hook user_login',
      ].join('\n'),
    );

    const j = await cli(dir, ['--json', 'validate', '--against', old], offline);
    const doc = JSON.parse(j.stdout);
    expect(doc.against.base).toEqual({ kind: 'archive', file: old, version: '1.0.0' });
    expect(doc.against.diff).toMatchObject({
      from: { name, version: '1.0.0' },
      to: { name, version: '1.1.0' },
      permissions: {
        added: [{ name: 'admin_access', to: 'required' }],
        removed: [{ name: 'channel_read', from: 'required' }],
        moved: [{ name: 'user_data_read', from: 'optional', to: 'required' }],
      },
      hooks: { added: ['user_login'], removed: [] },
      endpoints: { added: [], removed: [] },
      newlyRequired: ['admin_access', 'user_data_read'],
      unchanged: false,
    });
  });

  it('no change says so', async () => {
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name: 'same_plugin', version: '1.0.0' });
    await ok(dir, ['build'], offline);
    const r = await ok(dir, ['validate', '--against', 'dist/same_plugin-1.0.0.zip'], offline);
    expect(r.stdout).toContain('  no change in permissions, hooks or endpoints since 1.0.0');
  });

  it.each([
    [['--against', 'nope.zip'], 2, '--against nope.zip: no such archive'],
    [['--against', 'published'], 2, 'cannot compare with the published version: no marketplace is configured'],
  ])('validate %j → exit %i', async (args, code, message) => {
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name: 'bad_against', version: '1.0.0' });
    const r = await cli(dir, ['validate', ...args], offline);
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toContain(message);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('a file that is not a plugin archive: exit 1', async () => {
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name: 'bad_zip', version: '1.0.0' });
    await fs.writeFile(path.join(dir, 'old.zip'), '<html>not a zip</html>');
    const r = await cli(dir, ['validate', '--against', 'old.zip'], offline);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('--against old.zip: the archive holds no valid config/plugin.yaml');
  });
});

describe('the permission diff against the development marketplace', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s));

  async function published(name: string, perms: { required: string[]; optional: string[] }) {
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name, version: '1.0.0' });
    await setManifest(dir, name, '1.0.0', perms, ['message_sent']);
    const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: srv.developer });
    await publishVersion(dir, env, srv.reviewer);
    return { dir, env };
  }

  /** The project at 1.1.0 with these permissions (and its CHANGELOG section). */
  async function nextVersion(dir: string, name: string, perms: { required: string[]; optional: string[] }) {
    await setManifest(dir, name, '1.1.0', perms, ['message_sent']);
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '\n## [1.1.0] - 2026-12-01\n\n- Next.\n');
  }

  it('v1 [message_read] published; v1.1 adding admin_access: refused without the flag, accepted with it, the diff in status', async () => {
    const name = uniqueName('perm');
    const { dir, env } = await published(name, { required: ['message_read'], optional: [] });
    await nextVersion(dir, name, { required: ['message_read', 'admin_access'], optional: [] });
    await ok(dir, ['build'], env);

    const refused = await cli(dir, ['marketplace', 'submit'], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`error: ${name} 1.1.0 newly requires permission admin_access (not required by 1.0.0)`);
    expect(refused.stderr).toContain('hint: if that is intended, pass --accept-permission admin_access');
    expect(refused.stderr).toContain('  + permission admin_access (required)  NEW REQUIRED PERMISSION');
    expect(hasStackTrace(refused.stderr)).toBe(false);
    expect(srv.countSubmissions(name)).toBe(1);
    const refusedJson = await cli(dir, ['--json', 'marketplace', 'submit'], env);
    expect(JSON.parse(refusedJson.stdout).error).toMatchObject({ code: 'NEW_PERMISSION', exitCode: 1, permissions: ['admin_access'] });

    const accepted = await ok(dir, ['--json', 'marketplace', 'submit', '--accept-permission', 'admin_access'], env);
    const sub = JSON.parse(accepted.stdout);
    expect(sub.permissionDiff).toMatchObject({
      from: { version: '1.0.0' },
      to: { version: '1.1.0' },
      newlyRequired: ['admin_access'],
      accepted: ['admin_access'],
    });
    expect(srv.countSubmissions(name)).toBe(2);

    // The reviewer sees the diff the server computed, and what the developer accepted.
    const status = await ok(dir, ['marketplace', 'status', sub.submission.id], { ...env, PLEXICHAT_TOKEN: srv.reviewer });
    expect(status.stdout).toMatch(new RegExp(`^${sub.submission.id}  ${name} 1\\.1\\.0  pending`));
    expect(status.stdout).toContain(
      '\n  changes since 1.0.0 (the latest published version):\n    + permission admin_access (required)  NEW REQUIRED PERMISSION (accepted by the developer)\n',
    );
    const statusJson = JSON.parse((await ok(dir, ['--json', 'marketplace', 'status', sub.submission.id], env)).stdout);
    expect(statusJson.submission.permissionDiff).toMatchObject({
      newlyRequired: ['admin_access'],
      permissions: { added: [{ name: 'admin_access', to: 'required' }] },
    });
    expect(statusJson.submission.acceptedPermissions).toEqual(['admin_access']);
    expect(statusJson.submission.manifest.permissions).toEqual({ required: ['admin_access', 'message_read'], optional: [] });

    // The marketplace exposes the published version's manifest summary.
    const info = await fetch(`${srv.api}/plugins/${name}`).then((r) => r.json());
    expect(info.versions[0]).toMatchObject({
      version: '1.0.0',
      manifest: { name, version: '1.0.0', permissions: { required: ['message_read'], optional: [] }, hooks: ['message_sent'] },
    });

    // validate --against published reads that summary.
    const against = await ok(dir, ['validate', '--against', 'published'], env);
    expect(against.stdout).toContain(`changes since 1.0.0, published on ${srv.url}:\n  + permission admin_access (required)  NEW REQUIRED PERMISSION`);
  });

  it('on a terminal a prompt asks, and its default is no', async () => {
    const { runTty } = await import('../helpers/run-tty.js');
    const name = uniqueName('perm_tty');
    const { dir, env } = await published(name, { required: ['message_read'], optional: [] });
    await nextVersion(dir, name, { required: ['message_read', 'admin_access'], optional: [] });
    await ok(dir, ['build'], env);

    const no = runTty(['marketplace', 'submit'], { cwd: dir, env });
    await no.expect('Submit anyway?');
    expect(no.output).toContain('+ permission admin_access (required)  NEW REQUIRED PERMISSION');
    no.send('\r');
    const refused = await no.done();
    expect(refused.exitCode, refused.output).toBe(1);
    expect(refused.output).toContain('newly requires permission admin_access');
    expect(srv.countSubmissions(name)).toBe(1);

    const yes = runTty(['marketplace', 'submit'], { cwd: dir, env });
    await yes.expect('Submit anyway?');
    yes.send('\x1b[B');
    await yes.expect('Yes, I accept admin_access');
    yes.send('\r');
    const accepted = await yes.done();
    expect(accepted.exitCode, accepted.output).toBe(0);
    expect(accepted.output).toContain(`Submitted ${name} 1.1.0 for review`);
    expect(accepted.output).toContain('accepted: admin_access');
    expect(srv.countSubmissions(name)).toBe(2);
  });

  it('moving a permission to optional or removing one never stops submit', async () => {
    const name = uniqueName('perm_less');
    const { dir, env } = await published(name, { required: ['message_read', 'user_data_read'], optional: ['channel_read'] });
    await nextVersion(dir, name, { required: [], optional: ['message_read'] });
    await ok(dir, ['build'], env);
    const r = await ok(dir, ['--json', 'marketplace', 'submit'], env);
    const sub = JSON.parse(r.stdout);
    expect(sub.permissionDiff).toMatchObject({
      newlyRequired: [],
      accepted: [],
      permissions: {
        moved: [{ name: 'message_read', from: 'required', to: 'optional' }],
        removed: [
          { name: 'channel_read', from: 'optional' },
          { name: 'user_data_read', from: 'required' },
        ],
      },
    });
  });

  it('check --profile release: version and permissions against what is published', async () => {
    const name = uniqueName('perm_check');
    const { dir, env } = await published(name, { required: ['message_read'], optional: [] });
    await setManifest(dir, name, '1.0.0', { required: ['message_read', 'admin_access'], optional: [] }, ['message_sent']);
    await fs.mkdir(path.join(dir, 'tests'), { recursive: true });
    await fs.writeFile(path.join(dir, 'tests', 'test_plugin.py'), 'def test_runs():\n    assert True\n');

    const r = await cli(dir, ['--json', 'check', '--profile', 'release', '--allow-skipped'], env);
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout);
    const byId = (id: string) => doc.checks.find((c: { id: string }) => c.id === id);
    expect(byId('version')).toMatchObject({ status: 'failed', findings: [{ ruleId: 'version/NOT_NEWER', file: 'config/plugin.yaml', line: 3 }] });
    expect(byId('permissions')).toMatchObject({ status: 'failed', findings: [{ ruleId: 'permissions/NEW_PERMISSION', file: 'config/plugin.yaml' }] });

    await nextVersion(dir, name, { required: ['message_read', 'admin_access'], optional: [] });
    // A release also needs a signing key for its provenance (the attest check).
    const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const accepted = await cli(dir, ['check', '--profile', 'release', '--allow-skipped', '--accept-permission', 'admin_access'], {
      ...env,
      PLEXICHAT_SIGNING_KEY: key,
    });
    expect(accepted.exitCode, accepted.stdout).toBe(0);
    expect(accepted.stdout).toMatch(/✔ version\s+passed\s+1\.1\.0 > 1\.0\.0 \(published\)/);
    expect(accepted.stdout).toMatch(/✔ permissions\s+passed\s+newly required since 1\.0\.0: admin_access \(accepted: admin_access\)/);
  });
});
