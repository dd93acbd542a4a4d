/**
 * The development marketplace's answers for wrong input and full disks
 * (issue 20, class 15): a body of the wrong media type is 415 on every POST
 * route (docs/marketplace-api.md), and a full disk under the database on
 * keys, review and publish is 503 UNAVAILABLE with Retry-After, one log
 * line and no stack, as the upload path answers. Raw HTTP against the real
 * server, and the CLI where it sends the request.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { parsePrivateKeyText, parsePublicKeyText, publicKeyBase64 } from '../../src/signing/keys.js';
import { signKeyProof } from '../../src/signing/key-proof.js';
import { writeSources } from './marketplace-plugin.js';

const logs: string[] = [];
let srv!: DevServer;
useDevServer((s) => (srv = s), { log: (l) => logs.push(l) });

let home: string;
let keyFile: string;
let devId: string;

function cli(args: string[], opts: { token?: string; cwd?: string } = {}) {
  return runMain(args, {
    cwd: opts.cwd,
    env: { XDG_CONFIG_HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: opts.token ?? srv.developer },
  });
}

/** A raw request: any content type (or none) and any body. */
function raw(
  method: string,
  p: string,
  token: string,
  contentType: string | undefined,
  body: string,
): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-length': String(Buffer.byteLength(body)) };
    if (contentType !== undefined) headers['content-type'] = contentType;
    const req = http.request(`${srv.api}${p}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as never }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function keyBody(file: string): Promise<string> {
  const publicKey = publicKeyBase64(parsePublicKeyText(await fs.readFile(`${file}.pub`, 'utf8')));
  return JSON.stringify({ public_key: publicKey, expires_at: null, proof: signKeyProof(parsePrivateKeyText(await fs.readFile(file, 'utf8')), devId) });
}

async function keys(): Promise<unknown[]> {
  const res = await fetch(`${srv.api}/me/keys`, { headers: { authorization: `Bearer ${srv.developer}` } });
  return ((await res.json()) as { keys: unknown[] }).keys;
}

beforeAll(async () => {
  home = await tempDir({}, 'pxp-codes-');
  keyFile = path.join(home, 'k.pem');
  expect((await cli(['keys', 'generate', '--out', keyFile])).exitCode).toBe(0);
  devId = (JSON.parse((await cli(['--json', 'marketplace', 'whoami'])).stdout) as { user: string }).user;
});

describe('415 UNSUPPORTED_MEDIA_TYPE for a body of another media type, on every POST route', () => {
  it('JSON routes: text/plain, none, XML, a form, multipart, application/jsonx → 415; nothing stored', async () => {
    const body = await keyBody(keyFile);
    const routes: [string, string][] = [
      ['/me/keys', srv.developer],
      ['/submissions/sub_0000/publish', srv.developer],
      ['/me/keys/0123456789abcdef/revoke', srv.developer],
      ['/submissions/sub_0000/review', srv.reviewer],
    ];
    for (const [p, token] of routes) {
      for (const ct of [
        'text/plain',
        undefined,
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        'text/json',
      ]) {
        const r = await raw('POST', p, token, ct, body);
        expect(r.status, `${p} ${ct}`).toBe(415);
        expect(r.json.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
        expect(r.json.error?.message).toMatch(/send application\/json/);
      }
    }
    expect(await keys()).toEqual([]);
    // The JSON type with parameters, in any case, is the JSON type.
    const ok = await raw('POST', '/me/keys', srv.developer, 'Application/JSON; charset=utf-8', body);
    expect(ok.status).toBe(201);
    // An empty body needs no type (publish and revoke take none).
    const empty = await raw('POST', '/submissions/sub_0000/publish', srv.developer, undefined, '');
    expect(empty.status).not.toBe(415);
  });

  it('the submit route: JSON, text or no type instead of multipart/form-data → 415', async () => {
    for (const ct of ['application/json', 'text/plain', undefined, 'application/zip']) {
      const r = await raw('POST', '/plugins/media_test/submissions', srv.developer, ct, '{"archive":"x"}');
      expect(r.status, String(ct)).toBe(415);
      expect(r.json.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(r.json.error?.message).toMatch(/send multipart\/form-data with "archive" and "listing" parts/);
    }
    expect(srv.countSubmissions('media_test')).toBe(0);
  });

  it('auth comes first: no token is 401, a reviewer on a developer route 403, whatever the type', async () => {
    expect((await raw('POST', '/me/keys', 'pcx_not_a_token_at_all', 'text/plain', 'x')).status).toBe(401);
    expect((await raw('POST', '/me/keys', srv.reviewer, 'text/plain', 'x')).status).toBe(403);
  });
});

describe('a full disk under the database: 503 UNAVAILABLE with Retry-After, one log line, no stack', () => {
  it('keys add, revoke, review and publish; nothing is stored', async () => {
    const file = path.join(home, 'full.pem');
    expect((await cli(['keys', 'generate', '--out', file])).exitCode).toBe(0);
    const body = await keyBody(file);
    const before = (await keys()).length;
    logs.length = 0;
    const cases: [string, string, string, string][] = [
      ['addKey', '/me/keys', srv.developer, body],
      ['revokeKey', '/me/keys/0123456789abcdef/revoke', srv.developer, '{}'],
      ['review', '/submissions/sub_0000/review', srv.reviewer, '{"decision":"approve"}'],
      ['publish', '/submissions/sub_0000/publish', srv.developer, '{"channel":"stable"}'],
    ];
    for (const [route, p, token, b] of cases) {
      srv.injectFault({ route: route as never, kind: 'disk-full' });
      const res = await fetch(`${srv.api}${p}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: b });
      expect(res.status, route).toBe(503);
      expect(res.headers.get('retry-after')).toBe('60');
      const doc = (await res.json()) as { error: { code: string; message: string } };
      expect(doc.error.code).toBe('UNAVAILABLE');
      expect(doc.error.message).toMatch(/out of disk space/);
    }
    expect((await keys()).length).toBe(before);
    expect(logs.filter((l) => /storage full/.test(l))).toHaveLength(4);
    expect(logs.join('\n')).not.toMatch(/\n\s+at |internal error/);

    expect((await keys()).length).toBe(before);
  });

  it('publish on a full disk: the submission stays approved, and the CLI publishes it once there is room', async () => {
    const dir = await tempDir({}, 'pxp-codes-plugin-');
    await writeSources(dir, { name: 'full_disk_pub', version: '1.0.0' });
    expect((await cli(['build', '--no-sign'], { cwd: dir })).exitCode).toBe(0);
    const sub = await cli(['--json', 'marketplace', 'submit'], { cwd: dir });
    expect(sub.exitCode, sub.stderr).toBe(0);
    const id = (JSON.parse(sub.stdout) as { submission: { id: string } }).submission.id;
    expect((await cli(['marketplace', 'review', id, '--approve'], { token: srv.reviewer })).exitCode).toBe(0);
    srv.injectFault({ route: 'publish', kind: 'disk-full' });
    const res = await fetch(`${srv.api}/submissions/${id}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.developer}`, 'content-type': 'application/json' },
      body: '{"channel":"stable"}',
    });
    expect(res.status).toBe(503);
    const st = await cli(['--json', 'marketplace', 'status', id]);
    expect((JSON.parse(st.stdout) as { submission?: { state: string }; state?: string }).submission?.state ?? JSON.parse(st.stdout).state).toBe('approved');
    const ok = await cli(['marketplace', 'publish', id]);
    expect(ok.exitCode, ok.stderr).toBe(0);
  });
});
