/**
 * The one place an S3 client is made (the AWS SDK v3, loaded only when an
 * s3:// location is configured). parseS3Url() reads `s3://bucket/prefix`;
 * s3Client() builds the client: the endpoint (--s3-endpoint, else
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS's), the region
 * (AWS_REGION, else us-east-1), path-style addressing whenever an endpoint
 * is given (MinIO, s3rver, Ceph…), and the credentials of the SDK's standard
 * chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role):
 * never from a URL or a flag.
 */
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3Location {
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
}

export class S3UrlError extends Error {
  readonly code = 'BAD_S3_URL';
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket[/prefix]` → { bucket, prefix }; a one-line S3UrlError otherwise. */
export function parseS3Url(text: string): S3Location {
  // Before URL parsing, which would resolve a . or .. part away.
  const raw = text.replace(/^s3:\/\/[^/]*/i, '').split(/[?#]/)[0];
  if (raw.split('/').some((p) => p === '.' || p === '..')) throw new S3UrlError(`${text.slice(0, 120)}: the prefix may not hold . or .. parts`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new S3UrlError(`${text.slice(0, 120)} is not an s3://bucket/prefix URL`);
  }
  if (url.protocol !== 's3:') throw new S3UrlError(`${text.slice(0, 120)} is not an s3://bucket/prefix URL`);
  if (url.username || url.password) {
    throw new S3UrlError('an s3:// URL carries no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment');
  }
  const bucket = url.hostname;
  if (!BUCKET_RE.test(bucket)) throw new S3UrlError(`"${bucket.slice(0, 70)}" is not a bucket name (3-63 lowercase letters, digits, dots and dashes)`);
  if (url.search || url.hash) throw new S3UrlError(`${text.slice(0, 120)}: an s3:// URL has no query or fragment`);
  const parts = decodeURIComponent(url.pathname)
    .split('/')
    .filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) throw new S3UrlError(`${text.slice(0, 120)}: the prefix may not hold . or .. parts`);
  return { bucket, prefix: parts.length ? `${parts.join('/')}/` : '' };
}

export interface S3Options {
  /** e.g. http://127.0.0.1:9000; path-style addressing is used with it. */
  endpoint?: string;
  env?: NodeJS.ProcessEnv;
}

/** The client for `s3://bucket/prefix`, with the bucket and the prefix. */
export async function s3Client(url: string, opts: S3Options = {}): Promise<S3Location & { client: S3Client }> {
  const loc = parseS3Url(url);
  const env = opts.env ?? process.env;
  const endpoint = opts.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const { S3Client: Client } = await import('@aws-sdk/client-s3');
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const client = new Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // The environment given (a command's), else the SDK's own chain (process.env, AWS_PROFILE, a role).
    ...(id && secret
      ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
      : {}),
    // Checksums only where S3 requires them: S3-compatible servers differ in the newer trailing-checksum uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { ...loc, client };
}
