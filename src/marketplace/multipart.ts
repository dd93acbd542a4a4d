/**
 * A multipart/form-data request body: small fields in memory, the file
 * streamed from disk. `stream()` makes a fresh stream for every attempt, so
 * a retried upload sends the same bytes again without holding them in memory.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** A streamed request body of a known length. */
export interface Body {
  stream: () => Readable;
  length: number;
  contentType: string;
}

/**
 * `hold`: the body's last bytes (the closing boundary) wait for it, so the
 * receiver cannot take the file as complete before it resolves; when it
 * rejects, the stream fails with its error and the request is abandoned.
 */
export function multipartBody(
  fields: { name: string; value: string; contentType?: string }[],
  file: { name: string; filename: string; path: string; size: number; contentType?: string },
  onBytes?: (n: number) => void,
  hold?: Promise<unknown>,
): Body {
  const boundary = `----plexichat-${randomUUID()}`;
  const parts: Buffer[] = fields.map((f) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"\r\n` +
        (f.contentType ? `Content-Type: ${f.contentType}\r\n` : '') +
        `\r\n${f.value}\r\n`,
      'utf8',
    ),
  );
  const fileHead = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename.replace(/"/g, '')}"\r\n` +
      `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  const head = Buffer.concat([...parts, fileHead]);
  const length = head.length + file.size + tail.length;
  return {
    length,
    contentType: `multipart/form-data; boundary=${boundary}`,
    stream: () =>
      Readable.from(
        (async function* () {
          yield head;
          onBytes?.(head.length);
          // highWaterMark 256 KiB: fewer, larger writes; memory stays flat.
          for await (const chunk of createReadStream(file.path, { highWaterMark: 256 * 1024 })) {
            yield chunk as Buffer;
            onBytes?.((chunk as Buffer).length);
          }
          if (hold) await hold;
          yield tail;
          onBytes?.(tail.length);
        })(),
        { objectMode: false },
      ),
  };
}
