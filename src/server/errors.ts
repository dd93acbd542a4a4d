/**
 * The API's error type: an HTTP status, a stable code (docs/marketplace-api.md,
 * "Errors") and a one-line message. Extra keys go into the error body.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }
}

export function errorBody(code: string, message: string, requestId: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, ...extra }, request_id: requestId };
}

/** Any error a request raised, as the API error to answer with (unknown ones are logged and become 500). */
export function toApiError(err: unknown, log: (l: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new ApiError(503, 'UNAVAILABLE', 'storage is busy; retry shortly', {}, { 'Retry-After': '1' });
  }
  // A full disk under the archive store (ENOSPC, EDQUOT) or under the database (SQLITE_FULL): the same answer.
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'SQLITE_FULL') {
    log(`storage full: ${(err as Error).message}`);
    return new ApiError(503, 'UNAVAILABLE', 'the marketplace is out of disk space; retry later', {}, { 'Retry-After': '60' });
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'request body too large (JSON bodies: 64 KiB)');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported content type: send application/json');
  }
  if (e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return new ApiError(400, 'BAD_MULTIPART', 'expected a multipart/form-data body with "archive" and "listing" parts');
  }
  if (e.code === 'FST_PARTS_LIMIT' || e.code === 'FST_FILES_LIMIT' || e.code === 'FST_FIELDS_LIMIT') {
    return new ApiError(
      400,
      'BAD_MULTIPART',
      'too many parts: send one "archive" and one "listing", and at most one each of "signature", "sbom" and "provenance"',
    );
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, 'BAD_REQUEST', (e.message ?? 'bad request').split('\n')[0]);
  }
  log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  return new ApiError(500, 'INTERNAL', 'internal server error');
}
