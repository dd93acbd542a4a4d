/**
 * `marketplace serve` as a real process: what it prints, how it stops, how
 * it refuses bad flags.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, hasStackTrace, runCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { api, listingFor, multipart, sha256, submit } from '../helpers/server-zips.js';
import { pluginZip } from '../helpers/zip-fixtures.js';
import { startServer } from '../../src/server/index.js';
import { request } from 'undici';

type Proc = ResultPromise<{ reject: false; env: Record<string, string>; extendEnv: true; stdin: 'ignore' }>;

function spawnServe(args: string[]): Proc {
  return execa(process.execPath, [BIN, 'marketplace', 'serve', ...args], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1' },
    extendEnv: true,
    stdin: 'ignore',
    timeout: 60_000,
  });
}

/** Wait until stdout holds text that `done` accepts; returns it. */
function waitForStdout(proc: Proc, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString('utf8');
      if (done(text)) {
        proc.stdout.off('data', onData);
        resolve(text);
      }
    };
    proc.stdout.on('data', onData);
    proc.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${r.stderr}`)), reject);
  });
}

const parses = (t: string) => {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
};

describe('marketplace serve (process)', () => {
  it('--json prints one document with the URL and generated tokens, serves, and exits 0 on SIGTERM', async () => {
    const dir = await tempDir();
    const proc = spawnServe(['--json', '--port', '0', '--data-dir', path.join(dir, 'data')]);
    const doc = JSON.parse(await waitForStdout(proc, parses)) as {
      url: string;
      api: string;
      dataDir: string;
      tokens: { developer: string[]; reviewer: string };
    };
    expect(doc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(doc.api).toBe(`${doc.url}/api/v1`);
    expect(doc.tokens.developer).toHaveLength(1);
    expect(doc.tokens.developer[0]).toMatch(/^pcx_[A-Za-z0-9_-]{32}$/);
    expect(doc.tokens.reviewer).toHaveLength(1);
    expect(doc.tokens.reviewer[0]).toMatch(/^pcx_/);

    const me = await api(doc.url, 'GET', '/me', { token: doc.tokens.developer[0] });
    expect(me.status).toBe(200);
    expect(me.body.role).toBe('developer');
    expect((await api(doc.url, 'GET', '/me', { token: doc.tokens.reviewer[0] })).body.role).toBe('reviewer');
    expect((await api(doc.url, 'GET', '/me', { token: 'pcx_wrong' })).status).toBe(401);

    proc.kill('SIGTERM');
    const r = await proc;
    expect(r.exitCode).toBe(0);
    // Exactly one JSON document on stdout; request log and shutdown on stderr, never a token.
    expect(JSON.parse(String(r.stdout))).toEqual(doc);
    expect(String(r.stderr)).toContain('marketplace stopped');
    expect(String(r.stderr)).toMatch(/GET \/api\/v1\/me 200/);
    expect(String(r.stderr)).not.toContain(doc.tokens.developer[0]);
    expect(await fs.readdir(path.join(dir, 'data'))).toEqual(expect.arrayContaining(['marketplace.db', 'archives', 'tmp']));
  });

  it('prints the URL and tokens for humans, never prints tokens given by flags, and exits 0 on SIGINT', async () => {
    const dir = await tempDir();
    const given = 'pcx_given_developer_token_123';
    const proc = spawnServe(['--data-dir', dir, '--developer-token', given, '--reviewer-token', 'pcx_given_reviewer_1']);
    const out = await waitForStdout(proc, (t) => /listening on http:\/\/127\.0\.0\.1:\d+\n/.test(t));
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
    expect((await api(url, 'GET', '/me', { token: given })).body.role).toBe('developer');
    proc.kill('SIGINT');
    const r = await proc;
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout) + String(r.stderr)).not.toContain(given);
    expect(String(r.stdout)).not.toContain('token:');
  });

  it('generates one developer and one reviewer token when none are given', async () => {
    const dir = await tempDir();
    const proc = spawnServe(['--data-dir', dir]);
    const out = await waitForStdout(proc, (t) => /reviewer token: +pcx_\S+\n/.test(t));
    const dev = /developer token: (pcx_\S+)/.exec(out)![1];
    const rev = /reviewer token: +(pcx_\S+)/.exec(out)![1];
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
    expect((await api(url, 'GET', '/me', { token: dev })).body.role).toBe('developer');
    expect((await api(url, 'GET', '/me', { token: rev })).body.role).toBe('reviewer');
    proc.kill('SIGTERM');
    expect((await proc).exitCode).toBe(0);
  });

  it('--host, --max-upload-mb, --developer-token and --auto-approve reach the running server', async () => {
    const dir = await tempDir();
    const token = 'pcx_flag_test_developer';
    const proc = spawnServe([
      '--json',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      path.join(dir, 'data'),
      '--max-upload-mb',
      '1',
      '--developer-token',
      token,
      '--auto-approve',
    ]);
    try {
      const doc = JSON.parse(await waitForStdout(proc, parses)) as { url: string; tokens: { developer: string[] } };
      expect(doc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(JSON.stringify(doc)).not.toContain(token); // tokens given as flags are never printed
      const big = pluginZip({ name: 'big_flag_plugin', files: { 'src/blob.bin': randomBytes(1100 * 1024) } });
      const tooBig = await submit(doc.url, token, 'big_flag_plugin', big);
      expect(tooBig.status).toBe(413);
      const ok = await submit(doc.url, token, 'small_flag_plugin', pluginZip({ name: 'small_flag_plugin' }));
      expect(ok.status).toBe(201);
      expect(ok.body.state).toBe('approved');
    } finally {
      proc.kill('SIGTERM');
      expect((await proc).exitCode).toBe(0);
    }
  });

  it('refuses a --host that is no address of this machine (exit 2)', async () => {
    const dir = await tempDir();
    const r = await runCli(['marketplace', 'serve', '--host', '192.0.2.1', '--port', '0', '--data-dir', dir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no such local address');
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('refuses a port in use (exit 1, one line, no stack)', async () => {
    const dir = await tempDir();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['marketplace', 'serve', '--port', String(port), '--data-dir', dir]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(r.stderr).toContain('hint:');
      expect(hasStackTrace(r.stderr)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('refuses a --data-dir that is a file (exit 1) and a bad port (exit 2)', async () => {
    const dir = await tempDir({ 'not-a-dir': 'x' });
    const r = await runCli(['marketplace', 'serve', '--data-dir', path.join(dir, 'not-a-dir')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is not a directory/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const bad = await runCli(['marketplace', 'serve', '--port', '70000', '--data-dir', dir]);
    expect(bad.exitCode).toBe(2);
    const short = await runCli(['marketplace', 'serve', '--developer-token', 'abc', '--data-dir', dir]);
    expect(short.exitCode).toBe(2);
    expect(short.stderr).toContain('at least 8 characters');
  });

  it('refuses a data dir another server is using (exit 1)', async () => {
    const dir = await tempDir();
    const first = await startServer({ dataDir: dir });
    try {
      const r = await runCli(['marketplace', 'serve', '--data-dir', dir]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('another marketplace server is using');
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect((await api(first.url, 'GET', '/health')).status).toBe(200);
    } finally {
      await first.close();
    }
  });

  it('refuses a data dir whose marketplace.db is not a database (exit 1)', async () => {
    const dir = await tempDir({ 'marketplace.db': 'this is not sqlite, just text padding'.repeat(200) });
    const r = await runCli(['marketplace', 'serve', '--data-dir', dir]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('is not a marketplace database');
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  describe('in-flight uploads and crashes', () => {
    const token = 'pcx_process_test_developer';
    const name = 'inflight_plugin';
    const zip = pluginZip({ name, files: { 'src/blob.bin': Buffer.alloc(200 * 1024, 7) } });
    const { body, contentType } = multipart([
      { name: 'listing', data: JSON.stringify(listingFor(zip, name, '1.0.0')) },
      { name: 'archive', data: zip, filename: 'a.zip', contentType: 'application/zip' },
    ]);

    /** Start an upload that sends half its body, then waits for `release`. */
    function stalledUpload(url: string) {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      async function* chunks() {
        yield body.subarray(0, body.length / 2);
        await gate;
        yield body.subarray(body.length / 2);
      }
      const answer = request(`${url}/api/v1/plugins/${name}/submissions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        body: chunks(),
      }).then(async (r) => ({ status: r.statusCode, json: (await r.body.json()) as { id: string } }));
      return { answer, release };
    }

    async function until(what: () => Promise<boolean>) {
      for (let i = 0; i < 500; i++) {
        if (await what()) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('condition never became true');
    }
    const hasTemp = (dir: string) => async () => (await fs.readdir(path.join(dir, 'tmp')).catch(() => [])).length > 0;

    it('SIGTERM lets an upload in flight finish (201), then exits 0; the submission survives', async () => {
      const dir = await tempDir();
      const proc = spawnServe(['--json', '--data-dir', dir, '--developer-token', token]);
      const { url } = JSON.parse(await waitForStdout(proc, parses)) as { url: string };
      const up = stalledUpload(url);
      await until(hasTemp(dir));
      let stderr = '';
      proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      proc.kill('SIGTERM');
      await until(async () => stderr.includes('stopping'));
      up.release();
      const answer = await up.answer;
      expect(answer.status).toBe(201);
      const r = await proc;
      expect(r.exitCode, `${r.signal} ${r.stderr}`).toBe(0);

      const again = await startServer({ dataDir: dir, developerTokens: [token] });
      try {
        expect(again.countSubmissions(name)).toBe(1);
        const stored = await fs.readFile(path.join(dir, 'archives', sha256(zip).slice(0, 2), `${sha256(zip)}.zip`));
        expect(stored.equals(zip)).toBe(true);
      } finally {
        await again.close();
      }
    });

    it('kill -9 mid-upload keeps no half-written archive and no row; the next start sweeps the temp file', async () => {
      const dir = await tempDir();
      const proc = spawnServe(['--json', '--data-dir', dir, '--developer-token', token]);
      const { url } = JSON.parse(await waitForStdout(proc, parses)) as { url: string };
      const up = stalledUpload(url);
      const failed = up.answer.then(
        () => undefined,
        (err: unknown) => err,
      );
      await until(hasTemp(dir));
      proc.kill('SIGKILL');
      await proc;
      up.release();
      expect(await failed).toBeInstanceOf(Error);

      const again = await startServer({ dataDir: dir, developerTokens: [token] });
      try {
        expect(again.swept.temps).toBe(1);
        expect(again.countSubmissions()).toBe(0);
        expect(await again.storedArchives()).toEqual([]);
        expect(await again.tempFiles()).toEqual([]);
      } finally {
        await again.close();
      }
    });

    it('kill -9 right after a 201 loses nothing: the row and the archive are there after a restart', async () => {
      const dir = await tempDir();
      const proc = spawnServe(['--json', '--data-dir', dir, '--developer-token', token]);
      const { url } = JSON.parse(await waitForStdout(proc, parses)) as { url: string };
      const up = stalledUpload(url);
      up.release();
      const answer = await up.answer;
      expect(answer.status).toBe(201);
      proc.kill('SIGKILL');
      await proc;

      const again = await startServer({ dataDir: dir, developerTokens: [token] });
      try {
        expect(again.countSubmissions(name)).toBe(1);
        expect(await again.storedArchives()).toEqual([`${sha256(zip).slice(0, 2)}/${sha256(zip)}.zip`]);
        const me = await api(again.url, 'GET', `/submissions/${answer.json.id}`, { token });
        expect(me.body).toMatchObject({ state: 'pending', sha256: sha256(zip) });
      } finally {
        await again.close();
      }
    });
  });
});
