/**
 * Error types. A CliError is a user-facing failure: the boundary in
 * cli/main.ts prints its message and hint (no stack unless --verbose) and
 * exits with its code. Anything else reaching the boundary is a bug.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  network: 3,
  auth: 4,
  cancelled: 130,
  /** Ended by SIGTERM (128 + 15), as a shell reports a process the signal ended. */
  terminated: 143,
} as const;

export interface CliErrorOptions {
  hint?: string;
  /** Stable machine-readable code, e.g. MANIFEST_NOT_FOUND. */
  code?: string;
  cause?: unknown;
  /** Extra data for --json output. */
  details?: Record<string, unknown>;
}

export class CliError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(message: string, exitCode: number, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.code = options.code ?? 'ERROR';
    this.details = options.details;
  }
}

/** Exit 2: unknown command or flag, missing or bad flag value. */
export class UsageError extends CliError {
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, ExitCode.usage, { code: 'USAGE', ...options });
  }
}

/** Exit 1: the work failed (validation errors, failing tests, rejection, conflict). */
export class WorkFailedError extends CliError {
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, ExitCode.failed, { code: 'FAILED', ...options });
  }
}

/** Exit 3: network or server failure, timeouts. */
export class NetworkError extends CliError {
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, ExitCode.network, { code: 'NETWORK', ...options });
  }
}

/** Exit 4: authentication or permission failure. */
export class AuthError extends CliError {
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, ExitCode.auth, { code: 'AUTH', ...options });
  }
}

/** Exit 130: the user cancelled (Ctrl-C at a prompt); 143 when the run was ended by SIGTERM (cli/main.ts sets it). */
export class CancelledError extends CliError {
  constructor(message = 'Cancelled', options: CliErrorOptions = {}) {
    super(message, ExitCode.cancelled, { code: 'CANCELLED', ...options });
  }
}

/** Node system error code (ENOENT, EACCES ...) of an unknown error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? (err as { code: string }).code : undefined;
}

/** A cancellation that SIGTERM caused: the same error, exit 143 (docs/exit-codes.md). */
export function terminatedBySigterm(err: CliError): CliError {
  if (err.exitCode === ExitCode.cancelled) Object.defineProperty(err, 'exitCode', { value: ExitCode.terminated });
  return err;
}
