/**
 * A failed write into a static registry, as one line: a folder's failure as
 * io/fs-errors.ts words it (CANNOT_WRITE, NO_SPACE), an S3 store's as
 * S3_FAILED (exit 3: try again) or, for credentials or a missing bucket,
 * S3_DENIED / S3_NO_BUCKET (exit 4 / 1).
 */
import { AuthError, NetworkError, WorkFailedError, type CliError } from '../errors.js';
import { outputDirError } from '../io/fs-errors.js';

export function registryWriteError(err: unknown, label: string, flag = '--to <dir|s3://…>'): CliError {
  const fsErr = outputDirError(err, { action: `write the registry to ${label}`, dir: label, flag, suffix: '' });
  if (fsErr) return fsErr;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  const why = `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${String(e.message ?? err).split('\n')[0]}`;
  if (e.name === 'NoSuchBucket') {
    return new WorkFailedError(`cannot write the registry to ${label}: the bucket does not exist`, {
      code: 'S3_NO_BUCKET',
      hint: 'create the bucket first, or check the s3:// URL and --s3-endpoint',
    });
  }
  if (
    status === 401 ||
    status === 403 ||
    e.name === 'CredentialsProviderError' ||
    e.name === 'AccessDenied' ||
    e.name === 'InvalidAccessKeyId' ||
    e.name === 'SignatureDoesNotMatch'
  ) {
    return new AuthError(`cannot write the registry to ${label}: ${why}`, {
      code: 'S3_DENIED',
      hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for a user that may write to the bucket',
    });
  }
  return new NetworkError(`cannot write the registry to ${label}: ${why}`, {
    code: 'S3_FAILED',
    hint: 'check --s3-endpoint and that the store is up, then run it again (what was written is kept; nothing is named before its files are there)',
  });
}
