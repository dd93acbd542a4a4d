/**
 * An S3 client for an `s3://bucket/prefix` location: the bucket and the
 * prefix parsed from it, the endpoint (--s3-endpoint, else AWS_ENDPOINT_URL_S3
 * or AWS_ENDPOINT_URL; path-style whenever an endpoint is given, as MinIO,
 * Ceph and s3rver need), the region and the credentials from the standard
 * AWS_* environment (never from a flag). @aws-sdk/client-s3 is an optional
 * dependency, imported only here and only when an s3:// location is used.
 */
import { UsageError, WorkFailedError } from '../errors.js';
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3Location {
  client: S3Client;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  /** s3://bucket/prefix, for messages. */
  label: string;
}

/** Bucket names: 3-63 lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(raw: string, flag: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/.exec(raw);
  if (!m || !BUCKET.test(m[1])) {
    throw new UsageError(`${flag} ${raw} is not s3://<bucket>/<prefix> with a valid bucket name`, {
      code: 'BAD_S3_URL',
      hint: 'e.g. s3://plugins/registry (bucket names: 3-63 lower-case letters, digits, dots, hyphens)',
    });
  }
  const prefix = m[2].replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((p) => p === '.' || p === '..')) {
    throw new UsageError(`${flag} ${raw} has a . or .. in its prefix`, { code: 'BAD_S3_URL', hint: 'e.g. s3://plugins/registry' });
  }
  return { bucket: m[1], prefix: prefix ? `${prefix}/` : '' };
}

export async function openS3(raw: string, opts: { flag: string; endpoint?: string; env: NodeJS.ProcessEnv }): Promise<S3Location> {
  const { bucket, prefix } = parseS3Url(raw, opts.flag);
  const env = opts.env;
  const endpoint = opts.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new UsageError(`the S3 endpoint ${endpoint} is not an http(s) URL`, { code: 'BAD_S3_URL', hint: 'e.g. --s3-endpoint http://127.0.0.1:9000' });
  }
  let sdk: typeof import('@aws-sdk/client-s3');
  try {
    sdk = await import('@aws-sdk/client-s3');
  } catch {
    throw new WorkFailedError('an s3:// location needs @aws-sdk/client-s3, an optional dependency that is not installed', {
      code: 'S3_CLIENT_MISSING',
      hint: 'run npm install @aws-sdk/client-s3 where plexichat-plugin-cli is installed (add -g for a global install)',
    });
  }
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const client = new sdk.S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint !== undefined ? { endpoint, forcePathStyle: true } : {}),
    ...(id && secret
      ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
      : {}),
    // Checksums only where S3 requires them: S3-compatible stores differ in what they accept.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { client, bucket, prefix, label: `s3://${bucket}/${prefix}` };
}
