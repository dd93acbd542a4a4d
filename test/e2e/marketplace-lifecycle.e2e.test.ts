/**
 * The whole lifecycle through the real CLI, as the runbook writes it:
 * init → validate → test → build → marketplace prepare / submit / status /
 * review / publish / info, against the development marketplace on
 * 127.0.0.1:0; and `npm run demo`'s script, which does the same on its own
 * `marketplace serve` process.
 */
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv } from './marketplace-helpers.js';

let srv!: DevServer;
useDevServer((s) => (srv = s));

describe('the plugin lifecycle', () => {
  it('init → validate → test → build → prepare → submit → review → status → publish → info', async () => {
    const root = await tempDir();
    const name = 'lifecycle_plugin';
    const dir = path.join(root, name);
    const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: srv.url });
    const outputs: CliResult[] = [];
    const cli = async (args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}) => {
      const r = await runCli(args, { cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, input: opts.input });
      outputs.push(r);
      expect(r.exitCode, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      return r;
    };

    await cli(['init', name, '--name', name, '--category', 'analytics', '--template', 'analytics', '--yes'], { cwd: root });
    await cli(['validate']);
    await cli(['test']);
    await cli(['build']);
    const version = (await fs.readFile(path.join(dir, 'config', 'plugin.yaml'), 'utf8')).match(/version: "([^"]+)"/)![1];
    const zip = path.join(dir, 'dist', `${name}-${version}.zip`);

    await cli(['marketplace', 'login', '--token-stdin'], { input: srv.developer });
    // The runbook's four lines, exactly as written (plus a reviewer in between).
    const prepared = await cli(['marketplace', 'prepare']);
    expect(prepared.stdout).toContain(`Wrote dist/${name}-${version}.listing.json`);
    const submitted = await cli(['--json', 'marketplace', 'submit']);
    const { id } = JSON.parse(submitted.stdout).submission;
    const pending = await cli(['marketplace', 'status']);
    expect(pending.stdout).toContain(`${id}  ${name} ${version}  pending`);

    await cli(['marketplace', 'review', id, '--approve', '--notes', 'ship it'], { env: { PLEXICHAT_TOKEN: srv.reviewer } });
    const waited = await cli(['marketplace', 'status', '--wait', '--timeout', '30']);
    expect(waited.stdout).toMatch(/approved/);
    const published = await cli(['marketplace', 'publish']);
    expect(published.stdout).toContain(`Published ${name} ${version} on the stable channel (${id})`);
    const info = await cli(['--json', 'marketplace', 'info', name]);
    expect(JSON.parse(info.stdout).versions).toEqual([expect.objectContaining({ version, channel: 'stable' })]);

    // What the marketplace serves is byte-identical to what build wrote.
    const res = await fetch(`${srv.api}/plugins/${name}/versions/${version}/download`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(await fs.readFile(zip))).toBe(true);

    for (const r of outputs) {
      for (const t of [srv.developer, srv.reviewer]) {
        expect(r.stdout).not.toContain(t);
        expect(r.stderr).not.toContain(t);
      }
    }
  }, 180_000);

  it('npm run demo: every step passes and nothing is left behind', async () => {
    const script = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
    const r = await execa(process.execPath, [script], { reject: false, env: { NO_COLOR: '1' }, timeout: 120_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/all 17 steps passed/);
    for (const step of [
      'init',
      'validate',
      'test',
      'check',
      'keys generate',
      'build',
      'verify',
      'deploy render',
      'login',
      'keys add',
      'prepare',
      'submit',
      'review',
      'status',
      'publish',
      'info',
      'download',
    ]) {
      expect(r.stdout).toContain(`✔ ${step}:`);
    }
    const root = /working in (\S+)/.exec(r.stdout)![1];
    await expect(fs.stat(root)).rejects.toThrow();
  }, 180_000);
});
