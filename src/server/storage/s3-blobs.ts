/**
 * The blob store in an S3-compatible bucket under a prefix: archives at
 * <prefix>archives/<aa>/<sha256>.zip, named files at <prefix><name>. Shared
 * by replicas: an upload is received into a local scratch folder of this
 * process, then put under its digest (always put, so its time is fresh for
 * the sweep's grace) before the row naming it commits. Nothing here relies on
 * conditional writes; what no row names is removed by sweep() after the grace.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveKey, receiveFile, SHA256_RE, type BlobStore, type NamedFile, type Received, type StoredBlob, type SweepResult } from './blobs.js';
import { s3Client, type S3Options } from './s3-client.js';

type S3 = typeof import('@aws-sdk/client-s3');

function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export class S3Blobs implements BlobStore {
  readonly kind = 's3' as const;
  readonly shared = true;

  private constructor(
    private readonly sdk: S3,
    private readonly client: S3Client,
    readonly bucket: string,
    readonly prefix: string,
    private readonly scratch: string,
  ) {}

  /** Connect to the bucket (HeadBucket: it must exist and be reachable) and make the local scratch folder. */
  static async open(url: string, opts: S3Options = {}): Promise<S3Blobs> {
    const { client, bucket, prefix } = await s3Client(url, opts);
    const sdk = await import('@aws-sdk/client-s3');
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      client.destroy();
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const why =
        status === 404
          ? 'no such bucket'
          : status === 403
            ? 'access denied (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)'
            : String((err as Error).message ?? err).split('\n')[0];
      throw Object.assign(new Error(`cannot use s3://${bucket}/${prefix}: ${why}`), { code: 'BLOBS_UNUSABLE', cause: err });
    }
    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-marketplace-'));
    return new S3Blobs(sdk, client, bucket, prefix, scratch);
  }

  get where(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private key(rel: string): string {
    return `${this.prefix}${rel}`;
  }

  tempPath(): string {
    return path.join(this.scratch, `upload-${randomBytes(8).toString('hex')}.part`);
  }

  receive(source: Readable, file: string, cap: number, opts: { signal?: AbortSignal; failAfter?: number } = {}): Promise<Received> {
    return receiveFile(source, file, cap, opts);
  }

  private async put(rel: string, body: Buffer | Readable, length: number): Promise<void> {
    await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(rel), Body: body, ContentLength: length }));
  }

  async commit(tempFile: string, sha256: string): Promise<void> {
    const st = await fs.stat(tempFile);
    await this.put(archiveKey(sha256), createReadStream(tempFile), st.size);
    await fs.rm(tempFile, { force: true });
  }

  async discardTemp(file: string | undefined): Promise<void> {
    if (file) await fs.rm(file, { force: true }).catch(() => undefined);
  }

  async remove(sha256: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(archiveKey(sha256)) }));
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(archiveKey(sha256)) }));
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
  }

  private async get(rel: string): Promise<Readable> {
    const out = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }));
    return out.Body as Readable;
  }

  open(sha256: string): Promise<Readable> {
    return this.get(archiveKey(sha256));
  }

  async read(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.open(sha256)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async write(sha256: string, bytes: Buffer): Promise<void> {
    await this.put(archiveKey(sha256), bytes, bytes.length);
  }

  async list(): Promise<StoredBlob[]> {
    const out: StoredBlob[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key('archives/'), ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const sha256 = path.posix.basename(o.Key ?? '').replace(/\.zip$/, '');
        if (SHA256_RE.test(sha256)) out.push({ sha256, size: o.Size ?? 0, modified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
  }

  async local(sha256: string) {
    const file = this.tempPath();
    await pipeline(await this.open(sha256), createWriteStream(file, { flags: 'wx' }));
    return { path: file, release: () => fs.rm(file, { force: true }) };
  }

  async writeAt(key: string, bytes: Buffer): Promise<void> {
    await this.put(key, bytes, bytes.length);
  }

  openAt(key: string): Promise<Readable> {
    return this.get(key);
  }

  async readAt(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.get(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async getFile(name: NamedFile): Promise<Buffer | undefined> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of await this.get(name)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  async putFile(name: NamedFile, bytes: Buffer): Promise<void> {
    await this.put(name, bytes, bytes.length);
  }

  /** Archives no row names and written more than graceMs ago (another replica may be about to name a newer one). */
  async sweep(referenced: () => Promise<Set<string>>, graceMs: number): Promise<SweepResult> {
    const stored = await this.list();
    const refs = await referenced();
    const before = Date.now() - graceMs;
    let orphans = 0;
    for (const b of stored) {
      if (refs.has(b.sha256) || b.modified > before) continue;
      // Put again since it was listed (a replica storing the same bytes for a new row): keep it.
      if ((await this.modified(b.sha256)) > before) continue;
      await this.remove(b.sha256);
      orphans += 1;
    }
    return { temps: 0, orphans };
  }

  private async modified(sha256: string): Promise<number> {
    try {
      const head = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(archiveKey(sha256)) }));
      return head.LastModified?.getTime() ?? 0;
    } catch (err) {
      if (notFound(err)) return Number.POSITIVE_INFINITY;
      throw err;
    }
  }

  async listTemps(): Promise<string[]> {
    return (await fs.readdir(this.scratch).catch(() => [] as string[])).sort();
  }

  async close(): Promise<void> {
    this.client.destroy();
    await fs.rm(this.scratch, { recursive: true, force: true });
  }
}
