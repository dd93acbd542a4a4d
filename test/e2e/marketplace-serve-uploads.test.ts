/**
 * Uploads the development marketplace must refuse, and what they leave
 * behind: no row, no file in the archive store, no temp file, and a server
 * that keeps answering.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startDevServer, useDevServer, type DevServer } from '../helpers/dev-server.js';
import { api, listingFor, multipart, sha256, submit } from '../helpers/server-zips.js';
import { pluginZip, zipBuffer } from '../helpers/zip-fixtures.js';

const MAX = 256 * 1024;
let srv!: DevServer;
useDevServer((s) => (srv = s), { maxUploadBytes: MAX });

async function nothingStored(name: string, archivesBefore: string[]) {
  expect(srv.countSubmissions(name)).toBe(0);
  expect(await srv.storedArchives()).toEqual(archivesBefore);
  for (let i = 0; i < 100 && (await srv.tempFiles()).length; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await srv.tempFiles()).toEqual([]);
  expect((await api(srv.url, 'GET', `/plugins/${name}`)).status).toBe(404);
  expect((await api(srv.url, 'GET', '/health')).status).toBe(200);
}

describe('archives that fail verification are 422 INVALID_ARCHIVE and leave nothing', () => {
  const name = 'evil_plugin';
  const cases: [string, () => Buffer, RegExp][] = [
    ['a non-zip', () => Buffer.from('<html><body>502 Bad Gateway</body></html>'), /BAD_ZIPFILE/],
    ['an empty file', () => Buffer.alloc(0), /BAD_ZIPFILE/],
    ['a ../ member name', () => pluginZip({ name, unlisted: [{ name: '../evil.py', data: 'x' }] }), /NAME_TRAVERSAL/],
    ['an absolute member name', () => pluginZip({ name, unlisted: [{ name: '/etc/evil.py', data: 'x' }] }), /NAME_ABSOLUTE/],
    ['a symlink member', () => pluginZip({ name, unlisted: [{ name: 'src/link.py', data: '/etc/passwd', mode: 0o120777 }] }), /SYMLINK_ENTRY/],
    ['duplicate members', () => pluginZip({ name, unlisted: [{ name: 'src/plugin.py', data: 'again' }] }), /DUPLICATE_ENTRY/],
    ['a zip bomb (ratio)', () => pluginZip({ name, unlisted: [{ name: 'src/zeros.bin', data: Buffer.alloc(40 * 1024 * 1024) }] }), /ZIP_BOMB/],
    ['the manifest inside a folder', () => pluginZip({ name, prefix: 'evil_plugin/' }), /MANIFEST_NOT_AT_ROOT/],
    ['a manifest for another plugin', () => pluginZip({ name: 'someone_else' }), /NAME_MISMATCH/],
    ['a tampered member', () => pluginZip({ name, tamper: { 'src/plugin.py': 'import os\n' } }), /INTEGRITY_MISMATCH/],
    ['no manifest', () => zipBuffer([{ name: 'src/plugin.py', data: 'x' }]), /MANIFEST_MISSING/],
  ];
  for (const [label, make, code] of cases) {
    it(`${label}`, async () => {
      const before = await srv.storedArchives();
      const zip = make();
      const r = await submit(srv.url, srv.developer, name, zip);
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.code).toBe('INVALID_ARCHIVE');
      expect(r.body.error.findings.length).toBeGreaterThan(0);
      expect(r.body.error.findings.map((f: { code: string }) => f.code).join(' ')).toMatch(code);
      expect(r.body.error.message).toMatch(/^the archive is not valid: /);
      await nothingStored(name, before);
    });
  }
});

describe('transport problems', () => {
  it('an archive over the cap is 413 (by Content-Length and by counting), nothing stored, the server stays up', async () => {
    const name = 'big_plugin';
    const before = await srv.storedArchives();
    const big = pluginZip({ name, files: { 'src/blob.bin': randomBytes(MAX) } });
    expect(big.length).toBeGreaterThan(MAX);
    const r = await submit(srv.url, srv.developer, name, big);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit_bytes: MAX });
    await nothingStored(name, before);

    // Far over the cap with a declared length: refused before the body is read.
    const huge = Buffer.alloc(MAX + 3 * 1024 * 1024, 1);
    const early = await submit(srv.url, srv.developer, name, huge);
    expect(early.status).toBe(413);

    // Chunked (no Content-Length): the counting cap applies.
    const { body, contentType } = multipart([
      { name: 'listing', data: JSON.stringify(listingFor(big, name, '1.0.0')) },
      { name: 'archive', data: big, filename: 'a.zip', contentType: 'application/zip' },
    ]);
    async function* chunks() {
      for (let i = 0; i < body.length; i += 16 * 1024) yield body.subarray(i, i + 16 * 1024);
    }
    const chunked = await request(`${srv.api}/plugins/${name}/submissions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.developer}`, 'content-type': contentType },
      body: chunks(),
    });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.dump();
    await nothingStored(name, before);
    // And a normal upload still works.
    expect((await submit(srv.url, srv.developer, 'after_big_plugin', pluginZip({ name: 'after_big_plugin' }))).status).toBe(201);
  });

  it('a connection dropped mid-upload leaves no temp file and no row', async () => {
    const name = 'dropped_plugin';
    const before = await srv.storedArchives();
    const zip = pluginZip({ name, files: { 'src/blob.bin': Buffer.alloc(100 * 1024, 3) } });
    const { body, contentType } = multipart([
      { name: 'listing', data: JSON.stringify(listingFor(zip, name, '1.0.0')) },
      { name: 'archive', data: zip, filename: 'a.zip', contentType: 'application/zip' },
    ]);
    const port = srv.port;
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/plugins/${name}/submissions`,
        headers: { authorization: `Bearer ${srv.developer}`, 'content-type': contentType, 'content-length': body.length },
      });
      req.on('error', () => resolve());
      req.write(body.subarray(0, Math.floor(body.length / 2)), () => {
        // Give the server time to open the temp file, then vanish.
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 150);
      });
    });
    await nothingStored(name, before);
  });

  it('X-Content-SHA256 that does not match the received archive is 400 DIGEST_MISMATCH, nothing stored', async () => {
    const name = 'digest_plugin';
    const before = await srv.storedArchives();
    const zip = pluginZip({ name });
    const r = await submit(srv.url, srv.developer, name, zip, { digest: sha256('something else') });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('DIGEST_MISMATCH');
    await nothingStored(name, before);
    const ok = await submit(srv.url, srv.developer, name, zip, { digest: sha256(zip) });
    expect(ok.status).toBe(201);
  });

  it('a full disk mid-upload is 503 with Retry-After, leaves nothing, and the connection serves the next request', async () => {
    const roomy = await startDevServer({ maxUploadBytes: 16 * 1024 * 1024 });
    try {
      const name = 'disk_full_plugin';
      const zip = pluginZip({ name, files: { 'src/blob.bin': randomBytes(4 * 1024 * 1024) } });
      roomy.injectFault({ route: 'submit', kind: 'disk-full', afterBytes: 64 * 1024 });
      const r = await submit(roomy.url, roomy.developer, name, zip);
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('UNAVAILABLE');
      expect(r.headers['retry-after']).toBeDefined();
      expect(roomy.countSubmissions()).toBe(0);
      expect(await roomy.storedArchives()).toEqual([]);
      expect(await roomy.tempFiles()).toEqual([]);
      // The same keep-alive connection carries the next request.
      expect((await submit(roomy.url, roomy.developer, name, zip)).status).toBe(201);
    } finally {
      await roomy.stop();
    }
  });

  it('malformed multipart bodies are 400 with stable codes', async () => {
    const name = 'multipart_plugin';
    const before = await srv.storedArchives();
    const zip = pluginZip({ name });
    const listing = JSON.stringify(listingFor(zip, name, '1.0.0'));
    const noListing = await submit(srv.url, srv.developer, name, zip, {
      parts: [{ name: 'archive', data: zip, filename: 'a.zip' }],
    });
    expect(noListing.body.error.code).toBe('MISSING_PART');
    const noArchive = await submit(srv.url, srv.developer, name, zip, { parts: [{ name: 'listing', data: listing }] });
    expect(noArchive.body.error.code).toBe('MISSING_PART');
    const extra = await submit(srv.url, srv.developer, name, zip, {
      parts: [
        { name: 'listing', data: listing },
        { name: 'archive', data: zip, filename: 'a.zip' },
        { name: 'notes', data: 'hi' },
      ],
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('BAD_MULTIPART');
    const json = await api(srv.url, 'POST', `/plugins/${name}/submissions`, { token: srv.developer, json: { archive: 'x' } });
    expect(json.status).toBe(415);
    expect(json.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const badName = await submit(srv.url, srv.developer, 'Bad-Name', zip);
    expect(badName.body.error.code).toBe('INVALID_NAME');
    // A listing sent as a file part with application/json works too.
    const asFile = await submit(srv.url, srv.developer, name, zip, {
      parts: [
        { name: 'archive', data: zip, filename: 'a.zip', contentType: 'application/zip' },
        { name: 'listing', data: listing, filename: 'listing.json', contentType: 'application/json' },
      ],
    });
    expect(asFile.status).toBe(201);
    expect(srv.countSubmissions(name)).toBe(1);
    expect((await srv.storedArchives()).length).toBe(before.length + 1);
  });
});
