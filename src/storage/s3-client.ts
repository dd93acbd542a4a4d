/**
 * An S3 client for an `s3://bucket/prefix` location, made by the one
 * constructor in server/storage/s3-client.ts: the bucket and the
 * prefix parsed from it, the endpoint (--s3-endpoint, else AWS_ENDPOINT_URL_S3
 * or AWS_ENDPOINT_URL; path-style whenever an endpoint is given, as MinIO,
 * Ceph and s3rver need), the region and the credentials from the standard
 * AWS_* environment (never from a flag). @aws-sdk/client-s3 is an optional
 * dependency, imported only here and only when an s3:// location is used.
 */
import { UsageError, WorkFailedError } from '../errors.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseS3Url as parse, s3Client, S3UrlError } from '../server/storage/s3-client.js';

export interface S3Location {
  client: S3Client;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  /** s3://bucket/prefix, for messages. */
  label: string;
}

/** parseS3Url of server/storage/s3-client.ts (the one parser), its refusal as a usage error naming the flag. */
export function parseS3Url(raw: string, flag: string): { bucket: string; prefix: string } {
  try {
    return parse(raw);
  } catch (err) {
    if (!(err instanceof S3UrlError)) throw err;
    throw new UsageError(`${flag} ${err.message}`, {
      code: 'BAD_S3_URL',
      hint: 'e.g. s3://plugins/registry (bucket names: 3-63 lower-case letters, digits, dots, hyphens)',
    });
  }
}

export async function openS3(raw: string, opts: { flag: string; endpoint?: string; env: NodeJS.ProcessEnv }): Promise<S3Location> {
  const { bucket, prefix } = parseS3Url(raw, opts.flag);
  const endpoint = opts.endpoint ?? opts.env.AWS_ENDPOINT_URL_S3 ?? opts.env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new UsageError(`the S3 endpoint ${endpoint} is not an http(s) URL`, { code: 'BAD_S3_URL', hint: 'e.g. --s3-endpoint http://127.0.0.1:9000' });
  }
  try {
    await import('@aws-sdk/client-s3');
  } catch {
    throw new WorkFailedError('an s3:// location needs @aws-sdk/client-s3, an optional dependency that is not installed', {
      code: 'S3_CLIENT_MISSING',
      hint: 'run npm install @aws-sdk/client-s3 where plexichat-plugin-cli is installed (add -g for a global install)',
    });
  }
  const { client } = await s3Client(raw, { endpoint, env: opts.env });
  return { client, bucket, prefix, label: `s3://${bucket}/${prefix}` };
}
