/**
 * A hostile marketplace substitutes archives (issue 20, class 1). The real
 * development marketplace on 127.0.0.1 publishes genuinely signed versions
 * of several plugins; a small hostile HTTP server in front of it answers a
 * request for one plugin and version with another's genuine archive,
 * signatures and listing. `marketplace download`, `info` and
 * `verify --expect` must refuse with WRONG_PLUGIN and write nothing, with the
 * marketplace keys pinned (--keyring) and not.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { autoApprove: true });

let home: string;
let keyFile: string;
let keyring: string;

async function cli(args: string[], opts: { cwd?: string; url?: string } = {}) {
  return runMain(args, {
    cwd: opts.cwd,
    env: {
      XDG_CONFIG_HOME: home,
      PLEXICHAT_SIGNING_KEY: undefined,
      PLEXICHAT_MARKETPLACE_URL: opts.url ?? srv.url,
      PLEXICHAT_TOKEN: srv.developer,
    },
  });
}

/** Build, sign, submit and publish name@version on the real marketplace. */
async function published(name: string, version: string): Promise<string> {
  const dir = await tempDir({}, 'pxp-sub-');
  await writeSources(dir, { name, version });
  const b = await cli(['build', '--sign', '--key', keyFile], { cwd: dir });
  expect(b.exitCode, b.stderr).toBe(0);
  const s = await cli(['marketplace', 'submit'], { cwd: dir });
  expect(s.exitCode, s.stderr).toBe(0);
  const p = await cli(['marketplace', 'publish'], { cwd: dir });
  expect(p.exitCode, p.stderr).toBe(0);
  return path.join(dir, 'dist', `${name}-${version}.zip`);
}

/**
 * The hostile marketplace: every request goes to the real one, after
 * `rewrite` changed its path (one plugin's version for another's), or is
 * answered by `answer` (a listing that lies). Answers are the real server's
 * bytes: genuine archives and genuine signatures, of the wrong plugin.
 */
interface Hostile {
  url: string;
  rewrite: (p: string) => string;
  answer: (p: string) => unknown;
  close(): Promise<void>;
}

async function hostile(): Promise<Hostile> {
  const h: Hostile = { url: '', rewrite: (p) => p, answer: () => undefined, close: async () => undefined };
  const server = http.createServer((req, res) => {
    void (async () => {
      const own = h.answer(req.url ?? '/');
      if (own !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(own));
        return;
      }
      const up = await fetch(`${srv.url}${h.rewrite(req.url ?? '/')}`, {
        method: req.method,
        headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
      });
      const body = Buffer.from(await up.arrayBuffer());
      const headers: Record<string, string> = { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' };
      const rid = up.headers.get('x-request-id');
      if (rid) headers['x-request-id'] = rid;
      res.writeHead(up.status, headers);
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.close = () => new Promise((r) => server.close(() => r()));
  return h;
}

/** A path rewrite: the versions path of from@fromV goes to to@toV. */
function swap(from: string, fromV: string, to: string, toV: string): (p: string) => string {
  return (p) => p.replace(`/plugins/${from}/versions/${fromV}/`, `/plugins/${to}/versions/${toV}/`);
}

let evil!: Hostile;
let out: string;

beforeAll(async () => {
  home = await tempDir({}, 'pxp-sub-home-');
  keyFile = path.join(home, 'signer.pem');
  expect((await cli(['keys', 'generate', '--out', keyFile])).exitCode).toBe(0);
  const add = await cli(['marketplace', 'keys', 'add', `${keyFile}.pub`]);
  expect(add.exitCode, add.stderr).toBe(0);
  await published('qa_plugin', '0.9.9');
  await published('qa_plugin', '1.0.0');
  await published('other_tool', '2.0.0');
  await published('other_tool', '1.0.0');
  keyring = path.join(home, 'marketplace-keys.json');
  await fs.writeFile(keyring, await (await fetch(`${srv.api}/keys`)).text());
  evil = await hostile();
}, 120_000);

afterAll(async () => {
  await evil?.close();
});

async function freshOut(): Promise<string> {
  out = await tempDir({}, 'pxp-sub-out-');
  return out;
}

async function expectRefused(args: string[], re: RegExp): Promise<void> {
  for (const pin of [false, true]) {
    const dir = await freshOut();
    const r = await cli(['--json', 'marketplace', 'download', ...args, '--out', dir, ...(pin ? ['--keyring', keyring] : [])], { url: evil.url });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('WRONG_PLUGIN');
    expect(doc.error.message).toMatch(re);
    expect(doc.error.message).toMatch(/nothing was written/);
    expect(await fs.readdir(dir)).toEqual([]);
    const text = await cli(['marketplace', 'download', ...args, '--out', dir, ...(pin ? ['--keyring', keyring] : [])], { url: evil.url });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).not.toMatch(/verified/);
    expect(text.stderr).toMatch(/WRONG_PLUGIN|is for .* but .* was asked for/);
    expect(await fs.readdir(dir)).toEqual([]);
  }
}

describe('a hostile marketplace answers with another genuinely signed archive: WRONG_PLUGIN, nothing written', () => {
  it('the right marketplace and the same request download and verify (the control)', async () => {
    evil.rewrite = (p) => p;
    evil.answer = () => undefined;
    const dir = await freshOut();
    const r = await cli(['marketplace', 'download', 'qa_plugin@0.9.9', '--out', dir, '--keyring', keyring], { url: evil.url });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('(verified)');
    expect((await fs.readdir(dir)).sort()).toEqual([
      'qa_plugin-0.9.9.cdx.json',
      'qa_plugin-0.9.9.intoto.jsonl',
      'qa_plugin-0.9.9.zip',
      'qa_plugin-0.9.9.zip.sig',
    ]);
  });

  it('qa_plugin@0.9.9 answered with other_tool 2.0.0 (another name and version)', async () => {
    evil.answer = () => undefined;
    evil.rewrite = swap('qa_plugin', '0.9.9', 'other_tool', '2.0.0');
    await expectRefused(['qa_plugin@0.9.9'], /is for other_tool 2\.0\.0, but qa_plugin 0\.9\.9 was asked for/);
  });

  it('qa_plugin@0.9.9 answered with qa_plugin 1.0.0 (right name, wrong version: a downgrade or an upgrade)', async () => {
    evil.answer = () => undefined;
    evil.rewrite = swap('qa_plugin', '0.9.9', 'qa_plugin', '1.0.0');
    await expectRefused(['qa_plugin@0.9.9'], /is for qa_plugin 1\.0\.0, but qa_plugin 0\.9\.9 was asked for/);
    evil.rewrite = swap('qa_plugin', '1.0.0', 'qa_plugin', '0.9.9');
    await expectRefused(['qa_plugin@1.0.0'], /is for qa_plugin 0\.9\.9, but qa_plugin 1\.0\.0 was asked for/);
  });

  it('other_tool@1.0.0 answered with qa_plugin 1.0.0 (right version, wrong name)', async () => {
    evil.answer = () => undefined;
    evil.rewrite = swap('other_tool', '1.0.0', 'qa_plugin', '1.0.0');
    await expectRefused(['other_tool@1.0.0'], /is for qa_plugin 1\.0\.0, but other_tool 1\.0\.0 was asked for/);
  });

  it('only the archive is swapped, the signatures are the right ones: the archive does not match them', async () => {
    evil.answer = () => undefined;
    evil.rewrite = (p) => (p.endsWith('/download') ? swap('qa_plugin', '0.9.9', 'other_tool', '2.0.0')(p) : p);
    const dir = await freshOut();
    const r = await cli(['--json', 'marketplace', 'download', 'qa_plugin@0.9.9', '--out', dir, '--keyring', keyring], { url: evil.url });
    expect(r.exitCode).toBe(1);
    expect(['WRONG_PLUGIN', 'SIGNATURE_INVALID']).toContain((JSON.parse(r.stdout) as { error: { code: string } }).error.code);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('the listing lies: it names 0.9.9 as the latest while the versions path serves 1.0.0; download without a version', async () => {
    evil.rewrite = swap('qa_plugin', '0.9.9', 'qa_plugin', '1.0.0');
    evil.answer = (p) =>
      p === '/api/v1/plugins/qa_plugin' ? { name: 'qa_plugin', owner: 'dev-x', versions: [{ version: '0.9.9', channel: 'stable' }] } : undefined;
    await expectRefused(['qa_plugin'], /is for qa_plugin 1\.0\.0, but qa_plugin 0\.9\.9 was asked for/);
  });

  it("the listing of another plugin: info and a download without a version refuse it (the listing's name is checked)", async () => {
    evil.rewrite = (p) => p.replace('/plugins/qa_plugin', '/plugins/other_tool');
    evil.answer = () => undefined;
    const info = await cli(['--json', 'marketplace', 'info', 'qa_plugin'], { url: evil.url });
    expect(info.exitCode).toBe(1);
    const doc = JSON.parse(info.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('WRONG_PLUGIN');
    expect(doc.error.message).toMatch(/listing is for other_tool, but qa_plugin was asked for/);
    const text = await cli(['marketplace', 'info', 'qa_plugin'], { url: evil.url });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).not.toMatch(/2\.0\.0/);
    await expectRefused(['qa_plugin'], /is for other_tool/);
  });
});

describe('verify --expect: the archive must be the plugin and version expected', () => {
  it('a genuine archive renamed to another name/version is refused with WRONG_PLUGIN; the right expectation passes', async () => {
    const dir = await freshOut();
    const ok = await cli(['marketplace', 'download', 'other_tool@2.0.0', '--out', dir, '--keyring', keyring]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const archive = path.join(dir, 'other_tool-2.0.0.zip');
    const pub = `${keyFile}.pub`;
    const right = await cli(['verify', archive, '--key', pub, '--expect', 'other_tool@2.0.0']);
    expect(right.exitCode, right.stdout + right.stderr).toBe(0);
    expect((await cli(['verify', archive, '--key', pub, '--expect', 'other_tool'])).exitCode).toBe(0);
    for (const [expect_, re] of [
      ['qa_plugin@0.9.9', /is for other_tool 2\.0\.0, but qa_plugin 0\.9\.9 was asked for/],
      ['other_tool@1.0.0', /is for other_tool 2\.0\.0, but other_tool 1\.0\.0 was asked for/],
      ['qa_plugin@2.0.0', /is for other_tool 2\.0\.0, but qa_plugin 2\.0\.0 was asked for/],
      ['qa_plugin', /is for other_tool, but qa_plugin was asked for/],
    ] as const) {
      for (const trust of [['--key', pub], []]) {
        const r = await cli(['--json', 'verify', archive, ...trust, '--expect', expect_]);
        expect(r.exitCode, r.stdout).toBe(1);
        const doc = JSON.parse(r.stdout) as { findings: { code: string; message: string }[] };
        const wrong = doc.findings.filter((f) => f.code === 'WRONG_PLUGIN');
        expect(wrong.length).toBeGreaterThan(0);
        expect(wrong[0].message).toMatch(re);
      }
    }
    const bad = await cli(['verify', archive, '--expect', 'Not A Name']);
    expect(bad.exitCode).toBe(2);
  });
});
