/**
 * SIGNATURE_UNCHECKED is said only where the user can act on it (issue 20
 * #15): `verify` without --key/--keyring names its own flags; `check`,
 * `marketplace prepare` and `submit` (no such flag: the marketplace checks
 * the signer) say nothing, on every run, for a developer with a key.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

async function signedProject() {
  const name = uniqueName('sigu');
  const dir = await tempDir({}, 'pxp-sigu-');
  await writeSources(dir, { name });
  const env = { ...(await isolatedEnv()), PLEXICHAT_CACHE_DIR: 'off' };
  expect((await runMain(['keys', 'generate'], { cwd: dir, env })).exitCode).toBe(0);
  const b = await runMain(['build'], { cwd: dir, env });
  expect(b.exitCode, b.stderr).toBe(0);
  expect(b.stdout).toMatch(/signed +key /);
  return { dir, env, zip: path.join(dir, 'dist', `${name}-1.0.0.zip`) };
}

describe('SIGNATURE_UNCHECKED', () => {
  it('verify without a key: the warning names verify’s own flags, which exist', async () => {
    const { dir, env, zip } = await signedProject();
    const r = await runMain(['verify', zip], { cwd: dir, env });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/who signed it was not checked: pass --key <pubkey-file> or --keyring <file> \[SIGNATURE_UNCHECKED\]/);
    const help = await runMain(['verify', '--help'], { cwd: dir, env });
    expect(help.stdout).toMatch(/--key <pubkey-file>/);
    expect(help.stdout).toMatch(/--keyring <file>/);
    const pub = path.join(String(env.XDG_CONFIG_HOME), 'plexichat-plugin', 'signing-key.pem.pub');
    const checked = await runMain(['verify', zip, '--key', pub], { cwd: dir, env });
    expect(checked.exitCode).toBe(0);
    expect(checked.stderr).not.toMatch(/SIGNATURE_UNCHECKED/);
  });

  it('prepare, with a signed archive beside it: no warning it has no flag for (text and --json)', async () => {
    const { dir, env } = await signedProject();
    const r = await runMain(['marketplace', 'prepare'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/SIGNATURE_UNCHECKED|not checked|--keyring/);
    const j = await runMain(['marketplace', 'prepare', '--json'], { cwd: dir, env });
    expect(j.stdout).not.toMatch(/SIGNATURE_UNCHECKED/);
  });

  it('check on every run for a developer with a key: no SIGNATURE_UNCHECKED in any step (text and --json)', async () => {
    const { dir, env } = await signedProject();
    const r = await runMain(['check', '--json'], { cwd: dir, env });
    expect(r.stdout).not.toMatch(/SIGNATURE_UNCHECKED/);
    const doc = JSON.parse(r.stdout);
    const rules = doc.checks.flatMap((c: { findings: { ruleId: string }[] }) => c.findings.map((f) => f.ruleId));
    expect(rules.filter((id: string) => /SIGNATURE/.test(id))).toEqual([]);
  }, 120_000);
});
