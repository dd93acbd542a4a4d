/**
 * The permission and capability diff: `validate --against <archive>` and
 * `--against published`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { manifestYaml, writeSources } from './marketplace-plugin.js';
import { cli, ok } from './permission-diff-helpers.js';

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
