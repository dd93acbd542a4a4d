/**
 * The API's error type: an HTTP status, a stable code (docs/marketplace-api.md,
 * "Errors") and a one-line message. Extra keys go into the error body.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
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
