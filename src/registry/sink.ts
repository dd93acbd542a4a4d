/**
 * Where a static registry is written: a folder (every file written to a temp
 * name beside it and renamed into place, so a reader never sees half a file)
 * or an S3 bucket and prefix (one PUT per object: whole or absent). The
 * writer (writer.ts) orders the writes: blobs first, the documents that name
 * them after, the root last.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { openAtomic } from '../io/atomic.js';
import { makeDir } from '../io/make-dir.js';
import { errnoCode } from '../errors.js';
import { openS3, type S3Location } from '../storage/s3-client.js';

export interface RegistrySink {
  /** The folder or s3:// URL, for messages. */
  label: string;
  read(rel: string): Promise<Buffer | undefined>;
  has(rel: string): Promise<boolean>;
  put(rel: string, data: Buffer): Promise<void>;
  putStream(rel: string, body: Readable, size: number): Promise<void>;
  close(): Promise<void>;
}

/** Cache headers: blobs never change; documents are checked on every read. */
function cacheControl(rel: string): { ContentType: string; CacheControl: string } {
  return rel.startsWith('blobs/')
    ? { ContentType: 'application/octet-stream', CacheControl: 'public, max-age=31536000, immutable' }
    : { ContentType: 'application/json', CacheControl: 'no-cache' };
}

export function dirSink(root: string): RegistrySink {
  const at = (rel: string) => path.join(root, ...rel.split('/'));
  const write = async (rel: string, fill: (h: fs.FileHandle) => Promise<void>) => {
    await makeDir(path.dirname(at(rel)));
    const f = await openAtomic(at(rel));
    try {
      await fill(f.handle);
      await f.commit();
    } finally {
      await f.abort();
    }
  };
  return {
    label: root,
    async read(rel) {
      return fs.readFile(at(rel)).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw err;
      });
    },
    async has(rel) {
      return (await fs.stat(at(rel)).catch(() => undefined))?.isFile() === true;
    },
    put: (rel, data) => write(rel, (h) => h.writeFile(data)),
    putStream: (rel, body) =>
      write(rel, async (h) => {
        for await (const chunk of body as AsyncIterable<Buffer>) await h.write(chunk);
      }),
    close: async () => undefined,
  };
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export function s3Sink(s3: S3Location, sdk: typeof import('@aws-sdk/client-s3')): RegistrySink {
  const Key = (rel: string) => s3.prefix + rel;
  const Bucket = s3.bucket;
  return {
    label: s3.label,
    async read(rel) {
      try {
        const out = await s3.client.send(new sdk.GetObjectCommand({ Bucket, Key: Key(rel) }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async has(rel) {
      try {
        await s3.client.send(new sdk.HeadObjectCommand({ Bucket, Key: Key(rel) }));
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
    async put(rel, data) {
      await s3.client.send(new sdk.PutObjectCommand({ Bucket, Key: Key(rel), Body: data, ContentLength: data.length, ...cacheControl(rel) }));
    },
    async putStream(rel, body, size) {
      await s3.client.send(new sdk.PutObjectCommand({ Bucket, Key: Key(rel), Body: body, ContentLength: size, ...cacheControl(rel) }));
    },
    close: async () => s3.client.destroy(),
  };
}

/** DIR or s3://bucket/prefix (a folder is made when missing). */
export async function openSink(to: string, opts: { flag: string; endpoint?: string; env: NodeJS.ProcessEnv; cwd: string }): Promise<RegistrySink> {
  if (to.startsWith('s3://')) {
    const s3 = await openS3(to, { flag: opts.flag, endpoint: opts.endpoint, env: opts.env });
    return s3Sink(s3, await import('@aws-sdk/client-s3'));
  }
  return dirSink(path.resolve(opts.cwd, to));
}
