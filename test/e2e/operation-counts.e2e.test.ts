/**
 * Counted, not guessed: what one run reads again. The debug counters
 * (src/io/counters.ts) count manifest parses, archive members inflated and
 * whole archives hashed.
 * - `check` on the analytics template parses the manifest once and
 *   inflates each member of its archive once;
 * - `build` then `marketplace submit` against the development marketplace:
 *   build inflates nothing (the writer knows what it packed), submit
 *   inflates each member once and hashes the archive once, and the server
 *   inflates each member once and hashes the upload once.
 * The client runs as a process (its counts written to PLEXICHAT_DEBUG_COUNTS
 * when it exits); the server runs in this process, so its counts are read
 * here.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { counts, resetCounts } from '../../src/io/counters.js';
import { RACY_MS } from '../../src/core/package/source-record.js';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s));

/** Run the CLI as a process; its counters as it wrote them on exit. */
async function counted(args: string[], cwd: string, env: Record<string, string | undefined>) {
  const file = path.join(await tempDir({}, 'pxp-counts-'), 'counts.jsonl');
  const r = await runCli(args, { cwd, env: { ...env, PLEXICHAT_DEBUG_COUNTS: file } });
  const lines = (await fs.readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  expect(lines, `one record from ${args.join(' ')}:\n${r.stderr}`).toHaveLength(1);
  return { r, counts: (JSON.parse(lines[0]) as { counts: Record<string, number> }).counts };
}

/** Members of an archive: its files and the integrity listing (build --json counts the files). */
async function members(dir: string): Promise<number> {
  const r = await runMain(['--json', 'build', '--dry-run'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { files: number }).files + 1;
}

describe('work done once', () => {
  it('check on the analytics template: the manifest parsed once, each archive member inflated once', async () => {
    const root = await tempDir({}, 'pxp-counts-');
    const init = await runMain(['init', 'counted', '--name', 'counted_plugin', '--category', 'analytics', '--template', 'analytics', '--yes'], {
      cwd: root,
      env: { PLEXICHAT_MARKETPLACE_URL: undefined },
    });
    expect(init.exitCode, init.stderr).toBe(0);
    const dir = path.join(root, 'counted');
    const n = await members(dir);
    const { r, counts: c } = await counted(['--json', 'check'], dir, {
      PLEXICHAT_MARKETPLACE_URL: undefined,
      PLEXICHAT_TOKEN: undefined,
      PLEXICHAT_CACHE_DIR: 'off',
    });
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string }[] };
    expect(report.checks.find((x) => x.id === 'verify')?.status, r.stderr).toBe('passed');
    expect(c['manifest.parse']).toBe(1);
    expect(c['archive.inflate']).toBe(n);
    expect(c['archive.hash']).toBe(1);
  });

  it('build then submit: build inflates nothing; submit inflates each member once and hashes once; the server likewise', async () => {
    const name = uniqueName('counted');
    const dir = await tempDir({}, 'pxp-counts-');
    await writeSources(dir, { name, version: '1.0.0' });
    const env = await isolatedEnv(srv.env(srv.developer));
    const n = await members(dir);

    const built = await counted(['build'], dir, env);
    expect(built.r.exitCode, built.r.stderr).toBe(0);
    expect(built.counts['archive.inflate'] ?? 0).toBe(0);
    expect(built.counts['archive.hash'] ?? 0).toBe(0);
    expect(built.counts['manifest.parse']).toBe(1);

    resetCounts();
    const sent = await counted(['marketplace', 'submit'], dir, env);
    expect(sent.r.exitCode, sent.r.stderr).toBe(0);
    expect(sent.counts['archive.inflate']).toBe(n);
    expect(sent.counts['archive.hash']).toBe(1);
    expect(sent.counts['manifest.parse']).toBe(1);

    const server = counts();
    expect(server['archive.inflate']).toBe(n);
    expect(server['archive.hash']).toBe(1);
  });

  it('build then submit: sources settled before the build are not read again; a file edited, copied over or touched since is', async () => {
    const name = uniqueName('counted');
    const dir = await tempDir({}, 'pxp-counts-');
    await writeSources(dir, { name, version: '1.0.0' });
    const env = await isolatedEnv({ ...srv.env(srv.developer), PLEXICHAT_CACHE_DIR: path.join(dir, '..', `${path.basename(dir)}-cache`) });
    // A file changed within RACY_MS of the build's listing is never trusted by its stamp: let them settle.
    await new Promise((r) => setTimeout(r, RACY_MS + 200));
    const built = await counted(['build'], dir, env);
    expect(built.r.exitCode, built.r.stderr).toBe(0);

    const prepared = await counted(['marketplace', 'prepare'], dir, env);
    expect(prepared.r.exitCode, prepared.r.stderr).toBe(0);
    expect(prepared.counts['source.hash'] ?? 0).toBe(0);

    // Same size, same modification time, other bytes: the change time moved, so it is read, and refused as stale.
    const file = path.join(dir, 'src', 'plugin.py');
    const st = await fs.stat(file);
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('class', 'clasz'));
    await fs.utimes(file, st.atime, st.mtime);
    const stale = await counted(['marketplace', 'prepare'], dir, env);
    expect(stale.r.exitCode).toBe(1);
    expect(stale.r.stderr).toContain('src/plugin.py changed since it was built');
    expect(stale.counts['source.hash']).toBeGreaterThanOrEqual(1);

    // The original bytes back (a restore): read again, and fresh again; the other files still are not read.
    await fs.writeFile(file, text);
    await fs.utimes(file, st.atime, st.mtime);
    const restored = await counted(['marketplace', 'prepare'], dir, env);
    expect(restored.r.exitCode, restored.r.stderr).toBe(0);
    expect(restored.counts['source.hash']).toBe(1);

    // The record is only a shortcut: without the cache every same-sized file is read.
    const n = await members(dir);
    const uncached = await counted(['marketplace', 'prepare'], dir, { ...env, PLEXICHAT_CACHE_DIR: 'off' });
    expect(uncached.r.exitCode, uncached.r.stderr).toBe(0);
    expect(uncached.counts['source.hash']).toBe(n - 1);
  });

  it('a signed build reads nothing back for its signature', async () => {
    const name = uniqueName('counted');
    const dir = await tempDir({}, 'pxp-counts-');
    await writeSources(dir, { name, version: '1.0.0' });
    const keys = await tempDir({}, 'pxp-counts-keys-');
    const gen = await runMain(['keys', 'generate', '--out', path.join(keys, 'k')], { cwd: dir });
    expect(gen.exitCode, gen.stderr).toBe(0);
    const built = await counted(['build', '--sign', '--key', path.join(keys, 'k')], dir, {});
    expect(built.r.exitCode, built.r.stderr).toBe(0);
    expect(built.counts['archive.inflate'] ?? 0).toBe(0);
    expect(built.counts['archive.hash'] ?? 0).toBe(0);
  });
});
