/**
 * prepare and submit against the real development marketplace on
 * 127.0.0.1:0: re-runs, conflicts, ownership, retries after 503 and lost
 * answers, dropped connections, hangs, proxies and concurrency.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, useDevServer, type DevServer } from '../helpers/dev-server.js';
import { BIN, hasStackTrace, runCli, type CliResult } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { runTty } from '../helpers/run-tty.js';
import { tempDir } from '../helpers/temp-project.js';
import { eventually, isolatedEnv, startProxy, uniqueName } from './marketplace-helpers.js';
import { build, craftArchive, pluginProject, writeSources } from './marketplace-plugin.js';

let srv!: DevServer;

useDevServer((s) => (srv = s));

async function submit(dir: string, extra: string[] = [], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runMain(['--json', 'marketplace', 'submit', ...extra], {
    cwd: dir,
    env: await isolatedEnv({ ...srv.env(srv.developer), ...env }),
  });
}

function noTokens(r: CliResult): void {
  for (const t of [srv.developer, srv.developer2, srv.reviewer]) {
    expect(r.stdout).not.toContain(t);
    expect(r.stderr).not.toContain(t);
  }
}

describe('marketplace prepare', () => {
  it('writes dist/<name>-<version>.listing.json from the manifest, README, CHANGELOG and archive', async () => {
    const name = uniqueName('prep');
    const dir = await pluginProject({ name, version: '1.2.0' });
    const r = await runMain(['marketplace', 'prepare'], { cwd: dir, env: await isolatedEnv() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote dist/${name}-1.2.0.listing.json`);
    const listing = JSON.parse(await fs.readFile(path.join(dir, 'dist', `${name}-1.2.0.listing.json`), 'utf8'));
    const sha = (await fs.readFile(path.join(dir, 'dist', `${name}-1.2.0.zip.sha256`), 'utf8')).split(' ')[0];
    expect(listing).toMatchObject({
      name,
      version: '1.2.0',
      description: 'Counts messages per channel',
      changelog: '### Added\n- First version.',
      category: 'utility',
      permissions: { required: ['message_read'], optional: [] },
      archive: { file: `${name}-1.2.0.zip`, sha256: sha },
    });
    expect(listing.long_description).toContain('Counts the messages sent in each channel.');
  });

  it('lists everything missing, exit 1, and writes nothing', async () => {
    const name = uniqueName('prep');
    const dir = await pluginProject({ name, version: '2.0.0', readme: 'TODO: write me\n', changelog: '## [1.0.0]\n- old\n' });
    await fs.rm(path.join(dir, 'dist'), { recursive: true });
    const r = await runMain(['marketplace', 'prepare'], { cwd: dir, env: await isolatedEnv() });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/not ready: 3 problems/);
    expect(r.stderr).toMatch(/docs\/README\.md:1 still holds TODO/);
    expect(r.stderr).toMatch(/CHANGELOG\.md has no entry for version 2\.0\.0/);
    expect(r.stderr).toMatch(/no archive yet: dist\/.*\.zip does not exist/);
    expect(r.stderr).toMatch(/plexichat-plugin build/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    await expect(fs.stat(path.join(dir, 'dist'))).rejects.toThrow();

    const j = await runMain(['--json', 'marketplace', 'prepare'], { cwd: dir, env: await isolatedEnv() });
    expect(j.exitCode).toBe(1);
    expect(JSON.parse(j.stdout).problems.map((p: { code: string }) => p.code)).toEqual(['PLACEHOLDER', 'NO_CHANGELOG_ENTRY', 'NO_ARCHIVE']);
  });

  it('outside a plugin directory: exit 1 naming config/plugin.yaml', async () => {
    const dir = await isolatedEnv();
    const r = await runMain(['marketplace', 'prepare'], { cwd: dir.HOME, env: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/config\/plugin\.yaml not found/);
  });
});

describe('marketplace submit', () => {
  it('submits, then finds the existing submission for the same archive, and refuses a different archive', async () => {
    const name = uniqueName('sub');
    const dir = await pluginProject({ name });
    const first = await submit(dir);
    expect(first.exitCode, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout);
    expect(doc).toMatchObject({ submission: { state: 'pending' }, existing: false, plugin: name, version: '1.0.0' });
    expect(doc.submission.id).toMatch(/^sub_[0-9a-f]{16}$/);
    noTokens(first);
    // the listing was prepared on the way
    await fs.stat(path.join(dir, 'dist', `${name}-1.0.0.listing.json`));

    const again = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${name} 1.0.0 was already submitted with this archive: ${doc.submission.id}`);
    expect(srv.countSubmissions(name)).toBe(1);

    // Same version, different bytes.
    await writeSources(dir, { name, payload: randomBytes(64) });
    await build(dir);
    const clash = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(clash.exitCode).toBe(1);
    expect(clash.stderr).toMatch(/version 1\.0\.0 of \S+ was already submitted with a different archive; bump the version \(request id req_[0-9a-f]+\)/);
    expect(hasStackTrace(clash.stderr)).toBe(false);
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('an archive changed after build: caught before upload, or by the digest check, never stored', async () => {
    const name = uniqueName('changed');
    const dir = await pluginProject({ name });
    const zip = path.join(dir, 'dist', `${name}-1.0.0.zip`);
    const bytes = await fs.readFile(zip);
    bytes[bytes.length - 30] ^= 0xff; // same size, other bytes
    await fs.writeFile(zip, bytes);
    // The archive is now newer than its .sha256: hashed, compared, refused before any upload.
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/does not match dist\/\S+\.zip\.sha256 \(changed after build\?\)/);

    // A .sha256 that looks fresh but is wrong (copied with its times, touched): submit hashes the
    // archive anyway, in the same run as verify's checks, so this is caught before upload too.
    const stale = await fs.readFile(`${zip}.sha256`);
    await writeSources(dir, { name, payload: randomBytes(64) });
    await build(dir);
    await fs.writeFile(`${zip}.sha256`, stale);
    const future = new Date(Date.now() + 60_000);
    await fs.utimes(`${zip}.sha256`, future, future);
    const r2 = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toMatch(/does not match dist\/\S+\.zip\.sha256 \(changed after build\?\)/);
    expect(r2.stderr).toMatch(/plexichat-plugin build/);
    expect(srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name))).toEqual([]);
    expect(srv.countSubmissions(name)).toBe(0);
  });

  it("a second developer cannot submit to another's plugin (exit 4, its own message)", async () => {
    const name = uniqueName('owned');
    const dir = await pluginProject({ name });
    expect((await submit(dir)).exitCode).toBe(0);
    await writeSources(dir, { name, version: '1.1.0' });
    await build(dir);
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer2)) });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/HTTP 403 NOT_OWNER/);
    expect(r.stderr).toMatch(/belongs to another developer/);
    expect(srv.countSubmissions(name)).toBe(1);
    noTokens(r);
  });

  it('draws a progress bar on a terminal and plain lines otherwise', async () => {
    const name = uniqueName('bar');
    const dir = await pluginProject({ name, payload: randomBytes(6 * 1024 * 1024) });
    const tty = runTty(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    const r = await tty.done();
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(new RegExp(`uploading ${name}-1\\.0\\.0\\.zip \\S+ \\d+% \\| [\\d.]+ \\S+ of 6\\.\\d MiB`));
    expect(r.output).toContain(`Submitted ${name} 1.0.0 for review`);

    await writeSources(dir, { name, version: '1.0.1', payload: randomBytes(6 * 1024 * 1024) });
    await build(dir);
    const plain = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(
      /uploading \S+-1\.0\.1\.zip \(6\.\d MiB with its listing\)\n {2}25% .*\n {2}50% .*\n {2}75% .*\n {2}sent; the marketplace is checking the archive/,
    );
    // eslint-disable-next-line no-control-regex -- no ANSI escape in plain output
    expect(plain.stderr).not.toMatch(/\x1b\[/);
  });

  it('a reviewer token cannot submit (exit 4)', async () => {
    const dir = await pluginProject({ name: uniqueName('revsub') });
    const r = await submit(dir, [], { PLEXICHAT_TOKEN: srv.reviewer });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/HTTP 403 FORBIDDEN_ROLE/);
  });

  it('no token: exit 4 before anything is uploaded', async () => {
    const dir = await pluginProject({ name: uniqueName('notok') });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env()) });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/not logged in/);
  });

  it('an archive whose manifest disagrees with the listing: 422, exit 1 with the findings, nothing stored', async () => {
    const name = uniqueName('bad');
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name, version: '1.0.1' });
    await craftArchive(dir, { name, version: '1.0.1' });
    // sources say 1.0.0, but the archive inside says 1.0.1
    await fs.rename(path.join(dir, 'dist', `${name}-1.0.1.zip`), path.join(dir, 'dist', `${name}-1.0.0.zip`));
    await fs.rm(path.join(dir, 'dist', `${name}-1.0.1.zip.sha256`));
    await writeSources(dir, { name, version: '1.0.0' });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/HTTP 422 INVALID_ARCHIVE/);
    expect(r.stderr).toMatch(/version 1\.0\.1, expected 1\.0\.0/);
    expect(srv.countSubmissions(name)).toBe(0);
  });

  it('503 with Retry-After is retried with the same Idempotency-Key', async () => {
    const name = uniqueName('busy');
    const dir = await pluginProject({ name });
    srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter: 1 });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/HTTP 503 UNAVAILABLE \(request id req_[0-9a-f]+\) on attempt 1 of 5; retrying in 1\.\ds/);
    const tries = srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name));
    expect(tries.map((q) => q.status)).toEqual([503, 201]);
    expect(new Set(tries.map((q) => q.idempotencyKey)).size).toBe(1);
    expect(tries[0].idempotencyKey).toBeTruthy();
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('a 503 that never ends: exit 3 after the retries, naming the status and request id', async () => {
    const dir = await pluginProject({ name: uniqueName('down') });
    srv.injectFault({ route: 'submit', kind: 'status', status: 503, retryAfter: 0, times: Infinity });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/error: could not upload the archive: HTTP 503 UNAVAILABLE: .* \(request id req_[0-9a-f]+\)/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('a lost answer followed by a retry leaves exactly one submission', async () => {
    const name = uniqueName('lost');
    const dir = await pluginProject({ name });
    srv.injectFault({ route: 'submit', kind: 'drop-after-commit' });
    const r = await submit(dir);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ submission: { state: 'pending' }, existing: false, attempts: 2 });
    expect(srv.countSubmissions(name)).toBe(1);
  });

  it('a connection dropped mid-upload leaves nothing behind; the retry lands exactly one submission', async () => {
    const name = uniqueName('drop');
    const dir = await pluginProject({ name, payload: randomBytes(2 * 1024 * 1024) });
    const proxy = await startProxy({ dropAfterBytes: 512 * 1024, dropConnections: 1 });
    try {
      const r = await submit(dir, [], { HTTP_PROXY: proxy.url });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/on attempt 1 of 5; retrying/);
      expect(JSON.parse(r.stdout).attempts).toBe(2);
      expect(srv.countSubmissions(name)).toBe(1);
      await eventually(async () => (await srv.tempFiles()).length === 0);
    } finally {
      await proxy.close();
    }
  });

  it('a connection that always drops mid-upload: exit 3, no submission, no stored archive, no temp file', async () => {
    const name = uniqueName('alwaysdrop');
    const dir = await pluginProject({ name, payload: randomBytes(1024 * 1024) });
    const before = (await srv.storedArchives()).length;
    const proxy = await startProxy({ dropAfterBytes: 256 * 1024 });
    try {
      const r = await submit(dir, [], { HTTP_PROXY: proxy.url });
      expect(r.exitCode).toBe(3);
      expect(JSON.parse(r.stdout).error.code).toBe('NETWORK');
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(srv.countSubmissions(name)).toBe(0);
      await eventually(async () => (await srv.tempFiles()).length === 0);
      expect((await srv.storedArchives()).length).toBe(before);
    } finally {
      await proxy.close();
    }
  });

  it('Ctrl-C during the upload: exit 130, nothing stored, no temp file left on the server', async () => {
    const name = uniqueName('sigint');
    const dir = await pluginProject({ name, payload: randomBytes(2 * 1024 * 1024) });
    const proxy = await startProxy({ stallAfterBytes: 512 * 1024 });
    try {
      const child = execa(process.execPath, [BIN, 'marketplace', 'submit'], {
        cwd: dir,
        env: { ...(await isolatedEnv(srv.env(srv.developer))), HTTP_PROXY: proxy.url, NO_COLOR: '1', CI: '1' },
        reject: false,
        timeout: 60_000,
      });
      // The upload has reached the server (its temp file exists) and hangs there.
      await eventually(async () => (await srv.tempFiles()).length > 0);
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(hasStackTrace(String(r.stderr))).toBe(false);
      await proxy.close();
      await eventually(async () => (await srv.tempFiles()).length === 0);
      expect(srv.countSubmissions(name)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('a server that never answers: a clear error within --timeout, exit 3', async () => {
    const name = uniqueName('hang');
    const dir = await pluginProject({ name });
    srv.injectFault({ route: 'submit', kind: 'hang', times: Infinity });
    const r = await runCli(['marketplace', 'submit', '--timeout', '2'], {
      cwd: dir,
      env: await isolatedEnv(srv.env(srv.developer)),
      timeout: 30_000,
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/timed out after 2s trying to upload the archive/);
    expect(r.stderr).toMatch(/--timeout/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('honours HTTP_PROXY for every request, and NO_PROXY excludes the host', async () => {
    const dir = await pluginProject({ name: uniqueName('proxied') });
    const proxy = await startProxy();
    try {
      const host = new URL(srv.url).host;
      const r = await submit(dir, [], { HTTP_PROXY: proxy.url });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(proxy.requests).toContain(host);
      const seen = proxy.requests.length;

      const who = await runMain(['marketplace', 'whoami'], { env: await isolatedEnv({ ...srv.env(srv.developer), http_proxy: proxy.url }) });
      expect(who.exitCode, who.stderr).toBe(0);
      expect(proxy.requests.length).toBeGreaterThan(seen);

      const direct = proxy.requests.length;
      const r2 = await runMain(['marketplace', 'whoami'], {
        env: await isolatedEnv({ ...srv.env(srv.developer), HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }),
      });
      expect(r2.exitCode, r2.stderr).toBe(0);
      expect(proxy.requests.length).toBe(direct);
    } finally {
      await proxy.close();
    }
  });

  it('20 concurrent submits of different plugins all land', async () => {
    const names = Array.from({ length: 20 }, () => uniqueName('conc'));
    const dirs = await Promise.all(names.map((name) => pluginProject({ name })));
    const env = await isolatedEnv(srv.env(srv.developer));
    const results = await Promise.all(dirs.map((cwd) => runMain(['--json', 'marketplace', 'submit'], { cwd, env })));
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const ids = new Set(results.map((r) => JSON.parse(r.stdout).submission.id));
    expect(ids.size).toBe(20);
    for (const name of names) expect(srv.countSubmissions(name)).toBe(1);
  }, 240_000);
});

describe('marketplace submit: upload limit', () => {
  let small: DevServer;
  beforeAll(async () => {
    small = await startDevServer({ maxUploadBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('an archive over the limit: 413, exit 1 stating the limit, and the server stays up', async () => {
    const name = uniqueName('big');
    const dir = await pluginProject({ name, payload: randomBytes(256 * 1024) });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(small.env(small.developer)) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/HTTP 413 PAYLOAD_TOO_LARGE/);
    // The limit is stated (by the server message, or by the client from error.limit_bytes).
    expect(r.stderr).toMatch(/HTTP 413 PAYLOAD_TOO_LARGE: [^\n]*(\d+(\.\d+)? ?(MB|MiB|KiB|bytes))/);
    expect(small.countSubmissions(name)).toBe(0);
    const who = await runMain(['marketplace', 'whoami'], { env: await isolatedEnv(small.env(small.developer)) });
    expect(who.exitCode).toBe(0);
  });
});
