/**
 * The static registry (issue 22, part 3; docs/static-registry.md), against
 * the real development marketplace on 127.0.0.1 with signed, published
 * versions of three plugins:
 * - `serve --index-to` keeps a registry current on every publish, and
 *   `marketplace index` of the same data writes the same bytes (a second run
 *   writes nothing), into a folder and into S3 (s3rver, the real AWS client);
 * - `download`/`info --registry` from file://, from a small http static
 *   server over the folder and from the S3 store's own http, both signatures
 *   verified, pinned or not;
 * - a tampered archive, signature, counter-signature, index or keys file is
 *   refused with its code, and a registry that lies (another plugin's or
 *   version's entry) with WRONG_PLUGIN, nothing written;
 * - `mirror` of two of three plugins from the server and from a registry,
 *   and a mirror that refuses a bad source and writes nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { startS3, type TestS3 } from '../helpers/s3-server.js';
import { dirSink } from '../../src/registry/sink.js';
import { writeSources } from './marketplace-plugin.js';
import { cleanupAll, startCli } from './dev-fixture.js';

let srv!: DevServer;
let home: string;
let keyFile: string;
let keyring: string;
/** Written by the server (--index-to) on every publish. */
let live: string;
/** Written by `marketplace index` after the server stopped. */
let reg: string;
let s3!: TestS3;

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return runMain(args, {
    cwd: opts.cwd,
    env: {
      XDG_CONFIG_HOME: home,
      XDG_DATA_HOME: home,
      PLEXICHAT_SIGNING_KEY: undefined,
      PLEXICHAT_REGISTRY_URL: undefined,
      PLEXICHAT_MARKETPLACE_URL: srv.url,
      PLEXICHAT_TOKEN: srv.developer,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_ENDPOINT_URL: undefined,
      AWS_ENDPOINT_URL_S3: undefined,
      ...opts.env,
    },
  });
}

async function publish(name: string, version: string): Promise<void> {
  const dir = await tempDir({}, 'pxp-reg-src-');
  await writeSources(dir, { name, version });
  for (const step of [
    ['build', '--sign', '--key', keyFile],
    ['marketplace', 'submit'],
    ['marketplace', 'publish'],
  ]) {
    const r = await cli(step, { cwd: dir });
    expect(r.exitCode, `${step.join(' ')}: ${r.stderr}`).toBe(0);
  }
}

async function readJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

/** Every file under dir with the sha256 of its bytes. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await listFiles(dir))
    out.set(
      f,
      createHash('sha256')
        .update(await fs.readFile(path.join(dir, f)))
        .digest('hex'),
    );
  return out;
}

async function copyOf(dir: string): Promise<string> {
  const to = await tempDir({}, 'pxp-reg-copy-');
  await fs.cp(dir, to, { recursive: true });
  return to;
}

/** A tiny static file server over `dir` (404 for what is not a file). */
async function staticServer(dir: string): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/reg\//, '');
    hits.push(rel);
    const file = path.join(dir, rel);
    fs.stat(file).then(
      (st) => {
        if (!st.isFile() || !file.startsWith(dir)) throw new Error('no');
        res.writeHead(200, { 'content-length': String(st.size) });
        createReadStream(file).pipe(res);
      },
      () => {
        res.writeHead(404);
        res.end('not found');
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/reg`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

function errorOf(r: { stdout: string }): { code: string; message: string; exitCode: number } {
  return (JSON.parse(r.stdout) as { error: { code: string; message: string; exitCode: number } }).error;
}

/** A download from `registry` that must be refused with `code`, exit 1, nothing written (pinned and not). */
async function expectRefused(registry: string, spec: string, code: string, pins: boolean[] = [false, true]): Promise<void> {
  for (const pin of pins) {
    const out = await tempDir({}, 'pxp-reg-out-');
    const r = await cli(['--json', 'marketplace', 'download', spec, '--registry', registry, '--out', out, ...(pin ? ['--keyring', keyring] : [])]);
    expect(r.exitCode, `${spec} pinned=${pin}: ${r.stdout}${r.stderr}`).toBe(1);
    expect(errorOf(r).code, errorOf(r).message).toBe(code);
    expect(errorOf(r).message).toMatch(/nothing was written/);
    expect(await fs.readdir(out)).toEqual([]);
  }
}

beforeAll(async () => {
  home = await tempDir({}, 'pxp-reg-home-');
  live = path.join(home, 'live-registry');
  srv = await startDevServer({ autoApprove: true, registry: dirSink(live), keepData: true });
  keyFile = path.join(home, 'signer.pem');
  expect((await cli(['keys', 'generate', '--out', keyFile])).exitCode).toBe(0);
  const add = await cli(['marketplace', 'keys', 'add', `${keyFile}.pub`]);
  expect(add.exitCode, add.stderr).toBe(0);
  keyring = path.join(home, 'marketplace-keys.json');
  await fs.writeFile(keyring, await (await fetch(`${srv.api}/keys`)).text());
  s3 = await startS3(['registry', 'mirror']);
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  await fs.rm(srv.dataDir, { recursive: true, force: true });
  await s3?.close();
  await fs.rm(home, { recursive: true, force: true });
});

describe('serve --index-to, then marketplace index', () => {
  it('the server writes the registry at start and a plugin index, its shard and the root on every publish', async () => {
    // At start: an empty catalogue and the marketplace's keys.
    expect(await readJson(path.join(live, 'registry.json'))).toEqual({ format: 'plexichat-registry/1', keys: 'keys.json', shards: [] });
    expect(((await readJson(path.join(live, 'keys.json'))).keys as unknown[]).length).toBe(1);
    await publish('qa_plugin', '1.0.0');
    const first = await readJson<{ versions: { version: string }[] }>(path.join(live, 'plugins/qa_plugin/index.json'));
    expect(first.versions.map((v) => v.version)).toEqual(['1.0.0']);
    await publish('qa_plugin', '1.1.0');
    const second = await readJson<{ versions: { version: string; archive: string; publisher_signature: { path: string } }[] }>(
      path.join(live, 'plugins/qa_plugin/index.json'),
    );
    expect(second.versions.map((v) => v.version)).toEqual(['1.1.0', '1.0.0']);
    for (const v of second.versions) {
      await fs.access(path.join(live, v.archive));
      await fs.access(path.join(live, v.publisher_signature.path));
    }
    await publish('qa_other', '0.3.0');
    await publish('other_tool', '2.0.0');
    const root = await readJson<{ shards: { shard: string; plugins: number }[] }>(path.join(live, 'registry.json'));
    expect(root.shards.map((s) => [s.shard, s.plugins])).toEqual([
      ['ot', 1],
      ['qa', 2],
    ]);
    const shard = await readJson<{ plugins: { name: string; latest: string }[] }>(path.join(live, 'catalogue/qa.json'));
    expect(shard.plugins.map((p) => `${p.name}@${p.latest}`)).toEqual(['qa_other@0.3.0', 'qa_plugin@1.1.0']);
  }, 120_000);

  it('mirror copies two of three plugins from the server, verified, into a folder', async () => {
    const to = path.join(await tempDir({}, 'pxp-reg-m-'), 'mirror');
    const r = await cli(['--json', 'marketplace', 'mirror', '--from', srv.url, '--to', to, 'qa_plugin@1.0.0', 'other_tool']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { plugins: { name: string; versions: string[] }[] };
    expect(doc.plugins).toEqual([
      { name: 'qa_plugin', versions: ['1.0.0'] },
      { name: 'other_tool', versions: ['2.0.0'] },
    ]);
    expect((await readJson<{ versions: { version: string }[] }>(path.join(to, 'plugins/qa_plugin/index.json'))).versions.map((v) => v.version)).toEqual([
      '1.0.0',
    ]);
    await expect(fs.access(path.join(to, 'plugins/qa_other'))).rejects.toThrow();
    // Without names, a server cannot be mirrored whole: it has no list of its plugins.
    const all = await cli(['--json', 'marketplace', 'mirror', '--from', srv.url, '--to', to]);
    expect(all.exitCode).toBe(2);
    expect(errorOf(all).code).toBe('MIRROR_NEEDS_NAMES');
    // What was mirrored downloads, both signatures verified, against the pinned key.
    const out = await tempDir({}, 'pxp-reg-out-');
    const d = await cli(['marketplace', 'download', 'qa_plugin', '--registry', `file://${to}`, '--out', out, '--keyring', keyring]);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/downloaded qa_plugin 1\.0\.0/);
    expect(d.stdout).toMatch(/publisher signature: key [0-9a-f]{16}, signed .* \(verified\)/);
  }, 60_000);

  it('marketplace index of the stopped server writes the same bytes as the server did, and a second run writes nothing', async () => {
    await srv.close();
    reg = path.join(home, 'registry');
    const r = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir, '--to', reg]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { plugins: string[]; versions: number; written: string[] };
    expect(doc.plugins).toEqual(['other_tool', 'qa_other', 'qa_plugin']);
    expect(doc.versions).toBe(4);
    expect(doc.written.at(-1)).toBe('registry.json');
    // Blobs before the documents that name them.
    expect(doc.written.findIndex((p) => !p.startsWith('blobs/'))).toBe(doc.written.filter((p) => p.startsWith('blobs/')).length);
    expect(await snapshot(reg)).toEqual(await snapshot(live));
    const before = await snapshot(reg);
    const again = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir, '--to', reg]);
    expect(again.exitCode).toBe(0);
    expect((JSON.parse(again.stdout) as { written: string[] }).written).toEqual([]);
    expect(await snapshot(reg)).toEqual(before);
    expect((await listFiles(reg)).filter((f) => f.includes('.partial-'))).toEqual([]);
  }, 60_000);

  it('refuses what it cannot index: no --to, no marketplace data, a bad s3:// URL', async () => {
    const none = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir]);
    expect([none.exitCode, errorOf(none).code]).toEqual([2, 'USAGE']);
    const empty = await tempDir({}, 'pxp-reg-empty-');
    const nodata = await cli(['--json', 'marketplace', 'index', '--data-dir', empty, '--to', path.join(empty, 'r')]);
    expect([nodata.exitCode, errorOf(nodata).code]).toEqual([2, 'NO_MARKETPLACE_DATA']);
    for (const bad of ['s3://', 's3://ab/x', 's3://Bad_Bucket/x', 's3://bucket/../x']) {
      const b = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir, '--to', bad]);
      expect([b.exitCode, errorOf(b).code], bad).toEqual([2, 'BAD_S3_URL']);
    }
  });
});

describe('marketplace serve --index-to, as a process', () => {
  it('writes the registry before it listens, and refuses a start whose registry it cannot write', async () => {
    const dir = await tempDir({}, 'pxp-reg-serve-');
    const to = path.join(dir, 'reg');
    const serve = startCli(dir, ['--json', 'marketplace', 'serve', '--port', '0', '--data-dir', path.join(dir, 'data'), '--index-to', to], {
      XDG_CONFIG_HOME: home,
    });
    try {
      await serve.waitFor(() => true, { timeoutMs: 30_000 });
      expect(await readJson(path.join(to, 'registry.json'))).toEqual({ format: 'plexichat-registry/1', keys: 'keys.json', shards: [] });
    } finally {
      await serve.stop('SIGTERM');
      cleanupAll();
    }
    const bad = await cli(
      ['--json', 'marketplace', 'serve', '--data-dir', path.join(dir, 'data2'), '--index-to', 's3://no-such-bucket/reg', '--s3-endpoint', s3.endpoint],
      {
        env: s3.env,
      },
    );
    expect([bad.exitCode, errorOf(bad).code], bad.stdout).toEqual([1, 'S3_NO_BUCKET']);
    await expect(fs.access(path.join(dir, 'data2'))).rejects.toThrow();
  }, 60_000);
});

describe('download and info from a static registry', () => {
  it('from file:// and from an http static server: both signatures verified, pinned or not, reading only the plugin index and its files', async () => {
    const web = await staticServer(reg);
    try {
      for (const registry of [`file://${reg}`, web.url]) {
        for (const pin of [false, true]) {
          const out = await tempDir({}, 'pxp-reg-out-');
          web.hits.length = 0;
          const r = await cli(['--json', 'marketplace', 'download', 'qa_plugin', '--registry', registry, '--out', out, ...(pin ? ['--keyring', keyring] : [])]);
          expect(r.exitCode, r.stdout + r.stderr).toBe(0);
          const doc = JSON.parse(r.stdout) as {
            version: string;
            marketplace: string;
            publisher: { keyId: string } | null;
            countersignature: { keyId: string };
          };
          expect(doc.version).toBe('1.1.0');
          expect(doc.publisher?.keyId).toMatch(/^[0-9a-f]{16}$/);
          expect(await fs.readdir(out)).toEqual(['qa_plugin-1.1.0.zip', 'qa_plugin-1.1.0.zip.sig']);
          if (registry === web.url) {
            expect(web.hits.filter((h) => !h.startsWith('blobs/'))).toEqual(
              pin ? ['plugins/qa_plugin/index.json'] : ['plugins/qa_plugin/index.json', 'keys.json'],
            );
            expect(web.hits.some((h) => h.startsWith('catalogue/') || h === 'registry.json')).toBe(false);
          }
        }
        const v = await cli(['marketplace', 'download', 'other_tool@2.0.0', '--registry', registry, '--out', await tempDir({}, 'pxp-reg-out-')]);
        expect(v.exitCode, v.stderr).toBe(0);
        expect(v.stdout).toMatch(/marketplace counter-signature: key [0-9a-f]{16}, published .* \(verified\)/);
        const info = await cli(['--json', 'marketplace', 'info', 'qa_plugin', '--registry', registry]);
        expect(info.exitCode, info.stderr).toBe(0);
        const i = JSON.parse(info.stdout) as { name: string; versions: { version: string; channel: string }[] };
        expect([i.name, i.versions.map((x) => `${x.version} ${x.channel}`)]).toEqual(['qa_plugin', ['1.1.0 stable', '1.0.0 stable']]);
      }
      // From the environment, as the other marketplace settings; the config file's `registry` too.
      const env = await cli(['marketplace', 'info', 'other_tool'], {
        env: { PLEXICHAT_REGISTRY_URL: web.url, PLEXICHAT_MARKETPLACE_URL: 'http://127.0.0.1:9' },
      });
      expect(env.exitCode, env.stderr).toBe(0);
      expect(env.stdout).toMatch(/2\.0\.0 {2}stable/);
      await fs.mkdir(path.join(home, 'plexichat-plugin'), { recursive: true });
      await fs.writeFile(path.join(home, 'plexichat-plugin', 'config.json'), JSON.stringify({ registry: `file://${reg}` }));
      const cfg = await cli(['marketplace', 'info', 'qa_other'], { env: { PLEXICHAT_MARKETPLACE_URL: undefined } });
      await fs.rm(path.join(home, 'plexichat-plugin', 'config.json'));
      expect(cfg.exitCode, cfg.stderr).toBe(0);
      expect(cfg.stdout).toMatch(/0\.3\.0/);
    } finally {
      await web.close();
    }
  }, 120_000);

  it('names what is not there and refuses a registry URL it cannot use', async () => {
    const missing = await cli(['--json', 'marketplace', 'download', 'no_such_plugin', '--registry', `file://${reg}`, '--out', await tempDir()]);
    expect([missing.exitCode, errorOf(missing).code]).toEqual([1, 'PLUGIN_NOT_FOUND']);
    const nover = await cli(['--json', 'marketplace', 'download', 'qa_plugin@9.9.9', '--registry', `file://${reg}`, '--out', await tempDir()]);
    expect([nover.exitCode, errorOf(nover).code]).toEqual([1, 'VERSION_NOT_FOUND']);
    for (const bad of ['ftp://example.invalid/reg', 'not a url', `file://${reg}/nope`, 'https://user:pw@example.invalid/reg']) {
      const b = await cli(['--json', 'marketplace', 'info', 'qa_plugin', '--registry', bad]);
      expect([b.exitCode, errorOf(b).code], bad).toEqual([2, 'BAD_REGISTRY_URL']);
    }
    const down = await cli(['--json', 'marketplace', 'info', 'qa_plugin', '--registry', 'http://127.0.0.1:9/reg']);
    expect([down.exitCode, errorOf(down).code]).toEqual([3, 'UNREACHABLE']);
    // A registry whose server fails, or sends an endless document: said, never read without bound.
    let mode: 'fail' | 'huge' = 'fail';
    const hostile = http.createServer((_req, res) => {
      if (mode === 'fail') {
        res.writeHead(500);
        res.end('boom');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const more = () => {
        while (sent < 20 && res.write(chunk)) sent += 1;
        if (sent >= 20) res.end();
        else res.once('drain', () => ((sent += 1), more()));
      };
      more();
    });
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/reg`;
    try {
      const fail = await cli(['--json', 'marketplace', 'download', 'qa_plugin', '--registry', url, '--out', await tempDir()]);
      expect([fail.exitCode, errorOf(fail).code]).toEqual([3, 'SERVER_ERROR']);
      mode = 'huge';
      const huge = await cli(['--json', 'marketplace', 'download', 'qa_plugin', '--registry', url, '--out', await tempDir()]);
      expect([huge.exitCode, errorOf(huge).code]).toEqual([1, 'REGISTRY_INVALID']);
      expect(errorOf(huge).message).toMatch(/larger than 8388608 bytes; nothing was written/);
    } finally {
      hostile.closeAllConnections();
      await new Promise((r) => hostile.close(r));
    }
  });
});

interface Index {
  name: string;
  versions: {
    version: string;
    sha256: string;
    archive: string;
    publisher_signature: { path: string; sha256: string } | null;
    countersignature: { signature: string };
  }[];
}

async function editIndex(dir: string, name: string, edit: (doc: Index) => Index | string): Promise<void> {
  const file = path.join(dir, 'plugins', name, 'index.json');
  const out = edit(await readJson<Index>(file));
  await fs.writeFile(file, typeof out === 'string' ? out : JSON.stringify(out));
}

describe('a tampered or lying registry is refused, nothing written', () => {
  it('tampered archive, publisher signature, counter-signature, index document or missing file', async () => {
    const idx = await readJson<Index>(path.join(reg, 'plugins/qa_plugin/index.json'));
    const top = idx.versions[0];
    const other = (await readJson<Index>(path.join(reg, 'plugins/other_tool/index.json'))).versions[0];

    const archive = await copyOf(reg);
    const bytes = await fs.readFile(path.join(archive, top.archive));
    bytes[bytes.length - 30] ^= 0xff;
    await fs.writeFile(path.join(archive, top.archive), bytes);
    await expectRefused(`file://${archive}`, 'qa_plugin', 'SIGNATURE_INVALID');

    // The index names another archive by its digest: the counter-signature is over the first one.
    const swapped = await copyOf(reg);
    await editIndex(swapped, 'qa_plugin', (d) => ({
      ...d,
      versions: [{ ...d.versions[0], sha256: other.sha256, archive: other.archive }, ...d.versions.slice(1)],
    }));
    await expectRefused(`file://${swapped}`, 'qa_plugin@1.1.0', 'WRONG_PLUGIN');

    const sig = await copyOf(reg);
    const sigFile = path.join(sig, top.publisher_signature!.path);
    const sigDoc = await readJson<Record<string, unknown>>(sigFile);
    await fs.writeFile(sigFile, JSON.stringify({ ...sigDoc, created_at: '2020-01-01T00:00:00.000Z' }, null, 2));
    await expectRefused(`file://${sig}`, 'qa_plugin', 'SIGNATURE_INVALID');

    const counter = await copyOf(reg);
    await editIndex(counter, 'qa_plugin', (d) => {
      const s = Buffer.from(d.versions[0].countersignature.signature, 'base64');
      s[5] ^= 1;
      d.versions[0].countersignature.signature = s.toString('base64');
      return d;
    });
    await expectRefused(`file://${counter}`, 'qa_plugin', 'SIGNATURE_INVALID');

    const nojson = await copyOf(reg);
    await editIndex(nojson, 'qa_plugin', () => '{"format": "plexichat-registry-plugin/1", "name": ');
    await expectRefused(`file://${nojson}`, 'qa_plugin', 'REGISTRY_INVALID');
    const badpath = await copyOf(reg);
    await editIndex(badpath, 'qa_plugin', (d) => ({ ...d, versions: [{ ...d.versions[0], archive: '../../../etc/passwd' }] }));
    await expectRefused(`file://${badpath}`, 'qa_plugin', 'REGISTRY_INVALID');

    const gone = await copyOf(reg);
    await fs.rm(path.join(gone, top.archive));
    await expectRefused(`file://${gone}`, 'qa_plugin', 'REGISTRY_INCOMPLETE');
    const nosig = await copyOf(reg);
    await fs.rm(path.join(nosig, top.publisher_signature!.path));
    await expectRefused(`file://${nosig}`, 'qa_plugin', 'REGISTRY_INCOMPLETE');
  }, 120_000);

  it("keys.json replaced by an attacker's key: refused unless the marketplace key is pinned", async () => {
    const keys = await copyOf(reg);
    const attacker = path.join(home, 'attacker.pem');
    expect((await cli(['keys', 'generate', '--out', attacker])).exitCode).toBe(0);
    const pub = (await fs.readFile(`${attacker}.pub`, 'utf8')).trim();
    await fs.writeFile(path.join(keys, 'keys.json'), JSON.stringify({ keys: [{ public_key: pub.replace(/-----[^-]+-----|\s/g, ''), owner: 'marketplace' }] }));
    await expectRefused(`file://${keys}`, 'qa_plugin', 'UNKNOWN_KEY', [false]);
    const pinned = await cli(['marketplace', 'download', 'qa_plugin', '--registry', `file://${keys}`, '--keyring', keyring, '--out', await tempDir()]);
    expect(pinned.exitCode, pinned.stderr).toBe(0);
  });

  it('a registry that lies: another plugin’s index, another version’s or plugin’s entry under the name asked for', async () => {
    const otherIndex = await readJson<Index>(path.join(reg, 'plugins/other_tool/index.json'));
    const whole = await copyOf(reg);
    await fs.copyFile(path.join(whole, 'plugins/other_tool/index.json'), path.join(whole, 'plugins/qa_plugin/index.json'));
    await expectRefused(`file://${whole}`, 'qa_plugin', 'WRONG_PLUGIN');
    await expectRefused(`file://${whole}`, 'qa_plugin@2.0.0', 'WRONG_PLUGIN');
    const info = await cli(['--json', 'marketplace', 'info', 'qa_plugin', '--registry', `file://${whole}`]);
    expect([info.exitCode, errorOf(info).code]).toEqual([1, 'WRONG_PLUGIN']);

    // 1.0.0's genuine entry relabelled 1.1.0 (the newest): a downgrade.
    const older = await copyOf(reg);
    await editIndex(older, 'qa_plugin', (d) => ({ ...d, versions: [{ ...d.versions[1], version: '1.1.0' }] }));
    await expectRefused(`file://${older}`, 'qa_plugin', 'WRONG_PLUGIN');
    await expectRefused(`file://${older}`, 'qa_plugin@1.1.0', 'WRONG_PLUGIN');

    // other_tool 2.0.0's genuine entry under qa_plugin, named qa_plugin 2.0.0.
    const foreign = await copyOf(reg);
    await editIndex(foreign, 'qa_plugin', (d) => ({ ...d, versions: [{ ...otherIndex.versions[0] }] }));
    await expectRefused(`file://${foreign}`, 'qa_plugin@2.0.0', 'WRONG_PLUGIN');
    await expectRefused(`file://${foreign}`, 'qa_plugin', 'WRONG_PLUGIN');
  }, 120_000);
});

describe('mirror from a static registry', () => {
  it('all of an http registry, or two of three, verified; a bad source refused with nothing written', async () => {
    const web = await staticServer(reg);
    try {
      const all = path.join(await tempDir({}, 'pxp-reg-m-'), 'all');
      const r = await cli(['--json', 'marketplace', 'mirror', '--from', web.url, '--to', all, '--keyring', keyring]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(await snapshot(all)).toEqual(await snapshot(reg));
      const two = path.join(await tempDir({}, 'pxp-reg-m-'), 'two');
      const t = await cli(['marketplace', 'mirror', '--from', web.url, '--to', two, 'qa_plugin', 'qa_other']);
      expect(t.exitCode, t.stderr).toBe(0);
      expect(t.stdout).toMatch(/qa_plugin 1\.1\.0, 1\.0\.0 \(verified\)/);
      expect(await fs.readdir(path.join(two, 'plugins'))).toEqual(['qa_other', 'qa_plugin']);
      expect((await readJson<{ shards: unknown[] }>(path.join(two, 'registry.json'))).shards).toHaveLength(1);
    } finally {
      await web.close();
    }
    const bad = await copyOf(reg);
    const idx = await readJson<Index>(path.join(bad, 'plugins/qa_other/index.json'));
    const file = path.join(bad, idx.versions[0].archive);
    const b = await fs.readFile(file);
    b[b.length - 30] ^= 0xff;
    await fs.writeFile(file, b);
    const to = path.join(await tempDir({}, 'pxp-reg-m-'), 'refused');
    const m = await cli(['--json', 'marketplace', 'mirror', '--from', `file://${bad}`, '--to', to, 'qa_plugin', 'qa_other']);
    expect([m.exitCode, errorOf(m).code]).toEqual([1, 'SIGNATURE_INVALID']);
    expect(errorOf(m).message).toMatch(/^refusing qa_other 0\.3\.0: .*nothing was written$/);
    await expect(fs.readdir(to)).rejects.toThrow();
  }, 120_000);
});

describe('S3 (s3rver through the real AWS client)', () => {
  it('index into a bucket writes what the folder holds, a second run nothing; download reads it over the store’s http; mirror into a bucket', async () => {
    const env = { ...s3.env };
    const r = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir, '--to', 's3://registry/team/reg', '--s3-endpoint', s3.endpoint], { env });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const written = (JSON.parse(r.stdout) as { written: string[] }).written;
    expect([...written].sort()).toEqual([...(await snapshot(reg)).keys()].sort());
    for (const rel of ['registry.json', 'plugins/qa_plugin/index.json']) {
      const got = await fetch(`${s3.endpoint}/registry/team/reg/${rel}`);
      expect(Buffer.from(await got.arrayBuffer()).equals(await fs.readFile(path.join(reg, rel))), rel).toBe(true);
    }
    const again = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir, '--to', 's3://registry/team/reg'], {
      env: { ...env, AWS_ENDPOINT_URL_S3: s3.endpoint },
    });
    expect(again.exitCode, again.stdout).toBe(0);
    expect((JSON.parse(again.stdout) as { written: string[] }).written).toEqual([]);
    const out = await tempDir({}, 'pxp-reg-out-');
    const d = await cli(['marketplace', 'download', 'qa_plugin@1.0.0', '--registry', `${s3.endpoint}/registry/team/reg`, '--out', out, '--keyring', keyring]);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(await fs.readdir(out)).toEqual(['qa_plugin-1.0.0.zip', 'qa_plugin-1.0.0.zip.sig']);
    const m = await cli(['--json', 'marketplace', 'mirror', '--from', `file://${reg}`, '--to', 's3://mirror', '--s3-endpoint', s3.endpoint, 'other_tool'], {
      env,
    });
    expect(m.exitCode, m.stdout + m.stderr).toBe(0);
    const mi = await fetch(`${s3.endpoint}/mirror/plugins/other_tool/index.json`);
    expect(mi.status).toBe(200);
    const nobucket = await cli(['--json', 'marketplace', 'index', '--data-dir', srv.dataDir, '--to', 's3://no-such-bucket/x', '--s3-endpoint', s3.endpoint], {
      env,
    });
    expect([nobucket.exitCode, errorOf(nobucket).code]).toEqual([1, 'S3_NO_BUCKET']);
  }, 120_000);
});
