/**
 * submit's overlap: a large archive (OVERLAP_MIN_BYTES and up) with build's
 * fresh .sha256 is listed with that digest and checked while it is sent;
 * the body's end waits for the checks. A check that fails stops the upload
 * before it ends: exit 1 with the check's own code and words, nothing
 * stored, no temp file left on the marketplace, no listing file written.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVERLAP_MIN_BYTES } from '../../src/marketplace/prepare.js';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { eventually, isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { build, writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { maxUploadBytes: 64 * 1024 * 1024 });

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A built project whose archive is over the overlap size (random bytes: stored, not compressed). */
async function largeProject(): Promise<{ dir: string; name: string; zip: string }> {
  const name = uniqueName('large');
  const dir = await tempDir({}, 'pxp-overlap-');
  await writeSources(dir, { name, payload: randomBytes(OVERLAP_MIN_BYTES + 1024 * 1024) });
  await build(dir);
  return { dir, name, zip: path.join(dir, 'dist', `${name}-1.0.0.zip`) };
}

/** Flip one byte in the middle of the archive (inside the payload's data); `sidecar`: write a fresh .sha256 of what is there now. */
async function damage(zip: string, sidecar: 'fresh-correct' | 'fresh-stale'): Promise<void> {
  const before = await fs.readFile(`${zip}.sha256`, 'utf8');
  const bytes = await fs.readFile(zip);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  await fs.writeFile(zip, bytes);
  await fs.writeFile(`${zip}.sha256`, sidecar === 'fresh-correct' ? `${sha(bytes)}  ${path.basename(zip)}\n` : before);
  const future = new Date(Date.now() + 60_000);
  await fs.utimes(`${zip}.sha256`, future, future);
}

async function submit(dir: string) {
  return runMain(['marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
}

async function nothingStored(name: string): Promise<void> {
  expect(srv.countSubmissions(name)).toBe(0);
  await eventually(async () => (await srv.tempFiles()).length === 0);
}

describe('submit checks a large archive while it is sent', () => {
  it("a good one is uploaded once, listed with build's digest, and its listing written", async () => {
    const { dir, name, zip } = await largeProject();
    const r = await submit(dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Submitted ${name} 1.0.0 for review`);
    expect(r.stderr).toContain(`listing written to dist/${name}-1.0.0.listing.json`);
    const listing = JSON.parse(await fs.readFile(path.join(dir, 'dist', `${name}-1.0.0.listing.json`), 'utf8'));
    expect(listing.archive.sha256).toBe(sha(await fs.readFile(zip)));
    expect(srv.countSubmissions(name)).toBe(1);
    expect(srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name)).map((q) => q.status)).toEqual([201]);
  });

  it("a member damaged after build (with a matching .sha256): refused with verify's finding, the upload stopped, nothing stored", async () => {
    const { dir, name } = await largeProject();
    await damage(path.join(dir, 'dist', `${name}-1.0.0.zip`), 'fresh-correct');
    const r = await submit(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /would be refused by the marketplace: .*\[(BAD_CRC|INTEGRITY_MISMATCH)\].*; the upload was stopped before it ended; nothing was stored/,
    );
    expect(r.stderr).toMatch(/hint: rebuild it with `plexichat-plugin build`/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    await nothingStored(name);
    await expect(fs.stat(path.join(dir, 'dist', `${name}-1.0.0.listing.json`))).rejects.toThrow();
  });

  it('an archive that no longer matches its fresh-looking .sha256: ARCHIVE_CHANGED, the upload stopped, nothing stored', async () => {
    const { dir, name } = await largeProject();
    await damage(path.join(dir, 'dist', `${name}-1.0.0.zip`), 'fresh-stale');
    const r = await runMain(['--json', 'marketplace', 'submit'], { cwd: dir, env: await isolatedEnv(srv.env(srv.developer)) });
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('ARCHIVE_CHANGED');
    expect(doc.error.message).toMatch(
      /does not match dist\/\S+\.zip\.sha256 \(changed after build\?\); the upload was stopped before it ended; nothing was stored/,
    );
    await nothingStored(name);
  });

  it('a .sha256 older than the archive: checked first, as for a small archive (nothing sent)', async () => {
    const { dir, name, zip } = await largeProject();
    const bytes = await fs.readFile(zip);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await fs.writeFile(zip, bytes);
    const r = await submit(dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/does not match dist\/\S+\.zip\.sha256 \(changed after build\?\)/);
    expect(srv.requests.filter((q) => q.route === 'submit' && q.url.includes(name))).toEqual([]);
    await nothingStored(name);
  });
});
