/**
 * Test-side HTTP for the dev server's own tests: a multipart body builder, a
 * listing for an archive, and small request helpers (undici). The CLI's
 * client lives in src/marketplace/; these exist so the server can be tested
 * without it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'undici';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
  contentType?: string;
}

export function multipart(parts: Part[], boundary = `----pxp${randomUUID().replace(/-/g, '')}`) {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The listing `marketplace prepare` would write for this archive. */
export function listingFor(archive: Buffer, name: string, version: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    version,
    description: 'A plugin for tests',
    long_description: '# Test plugin\n',
    changelog: '- first release\n',
    category: 'utility',
    tags: ['test'],
    license: 'MIT',
    homepage: null,
    author: 'Test',
    permissions: { required: [], optional: [] },
    archive: { file: `${name}-${version}.zip`, sha256: sha256(archive), size: archive.length },
    ...extra,
  };
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  raw: Buffer;
}

async function answer(r: Awaited<ReturnType<typeof request>>): Promise<ApiAnswer> {
  const raw = Buffer.from(await r.body.arrayBuffer());
  let body: unknown = undefined;
  const type = String(r.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) body = JSON.parse(raw.toString('utf8'));
  return { status: r.statusCode, headers: r.headers, body, raw };
}

export async function api(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  opts: { token?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  return answer(await request(`${base}/api/v1${path}`, { method, headers, body }));
}

/** POST an archive and its listing to /plugins/{name}/submissions. */
export async function submit(
  base: string,
  token: string | undefined,
  name: string,
  archive: Buffer,
  opts: {
    version?: string;
    listing?: unknown;
    listingRaw?: string;
    key?: string;
    digest?: string;
    headers?: Record<string, string>;
    parts?: Part[];
  } = {},
): Promise<ApiAnswer> {
  const listing = opts.listingRaw ?? JSON.stringify(opts.listing ?? listingFor(archive, name, opts.version ?? '1.0.0'));
  const { body, contentType } = multipart(
    opts.parts ?? [
      { name: 'listing', data: listing },
      { name: 'archive', data: archive, filename: `${name}.zip`, contentType: 'application/zip' },
    ],
  );
  const headers: Record<string, string> = { 'content-type': contentType, ...opts.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  if (opts.digest !== undefined) headers['x-content-sha256'] = opts.digest;
  return answer(await request(`${base}/api/v1/plugins/${name}/submissions`, { method: 'POST', headers, body }));
}
