/**
 * HTTP error mapping: an answer the marketplace gave (a non-2xx status, or
 * a 2xx whose body breaks the contract) becomes one CliError whose line
 * names the status, the server's code and message and the request id, with
 * a hint that says what to do and the exit code that fits (4 auth, 1 work
 * refused, 3 server or network).
 */
import { AuthError, CliError, NetworkError, WorkFailedError } from '../errors.js';
import { formatBytes } from '../io/bytes.js';
import { redact } from '../io/redact.js';
import { isRole } from '../core/roles.js';
import { API_PREFIX, excerpt, headerString, isObject, serverCode, type Answer } from './answer.js';
import { valueText } from '../io/value-text.js';

function notAMarketplaceHint(baseUrl: string): string {
  return `check that ${baseUrl} is a PlexiChat marketplace (API ${API_PREFIX}) and your proxy settings`;
}

function serverWords(a: Answer): { code?: string; message: string; error?: Record<string, unknown> } {
  const j = a.json;
  if (isObject(j) && j.__unexpected) {
    return { message: `unexpected response (content-type ${String(j.contentType)}): ${String(j.excerpt) || '(empty body)'}` };
  }
  if (isObject(j) && isObject(j.error) && typeof j.error.message === 'string') {
    return { code: serverCode(a), message: redact(j.error.message).replace(/\s+/g, ' '), error: j.error };
  }
  return { message: `unexpected response: ${excerpt(JSON.stringify(j) ?? '')}` };
}

/** Findings the server's message does not already say, at most five, as "; a; b; and 3 more". */
function findingsSuffix(findings: unknown[], message: string): string {
  const fresh = findings
    .map((f) => (isObject(f) ? { entry: typeof f.entry === 'string' ? f.entry : undefined, text: valueText(f.message ?? f.code ?? '') } : { text: String(f) }))
    .filter((f) => f.text && !message.includes(f.text));
  if (fresh.length === 0) return '';
  const shown = fresh.slice(0, 5).map((f) => redact(f.entry && !f.text.includes(f.entry) ? `${f.entry}: ${f.text}` : f.text));
  return `; ${shown.join('; ')}${fresh.length > 5 ? `; and ${fresh.length - 5} more` : ''}`;
}

/**
 * A 403's hint. A role refusal names the role the action needs and the role
 * the token has, as the server states them (`required_role`, `token_role`);
 * a server that does not say is not guessed at.
 */
function forbiddenHint(code: string | undefined, error: Record<string, unknown> | undefined, what: string): string {
  if (code === 'NOT_OWNER') {
    return 'this plugin belongs to another developer: use their token, or choose another plugin.name in config/plugin.yaml';
  }
  if (code === 'FORBIDDEN_ROLE') {
    const need = error?.required_role;
    const has = error?.token_role;
    if (isRole(need) && isRole(has)) {
      return `to ${what} you need a ${need} token, and this is a ${has} token: set PLEXICHAT_TOKEN to a ${need} token, or run \`plexichat-plugin marketplace login\` with one`;
    }
    return `this token's role may not ${what}: \`plexichat-plugin marketplace whoami\` shows its role`;
  }
  return 'your token is valid but not allowed to do this';
}

function conflictHint(code: string | undefined): string {
  if (code === 'VERSION_EXISTS') {
    return 'a version is never replaced: bump plugin.version in config/plugin.yaml, add a CHANGELOG entry, rebuild and submit';
  }
  if (code === 'KEY_TAKEN') {
    return 'this public key is registered to another developer account: generate your own with `plexichat-plugin keys generate` and register its .pub';
  }
  if (code === 'NOT_APPROVED') return 'only an approved submission can be published: check it with `plexichat-plugin marketplace status`';
  return 'check the submission with `plexichat-plugin marketplace status`';
}

/**
 * A non-2xx answer (or a redirect, or a body that is not JSON) as one
 * CliError: `could not <what>: HTTP <status> <CODE>: <message> (request id …)`.
 */
export function httpError(a: Answer, what: string, baseUrl: string): CliError {
  const { code, message, error } = serverWords(a);
  const rid = a.requestId ? ` (request id ${a.requestId})` : '';
  const findings = error && Array.isArray(error.findings) ? (error.findings as unknown[]) : [];
  let extra = findingsSuffix(findings, message);
  if (a.status === 413 && error && typeof error.limit_bytes === 'number' && !/\d/.test(message)) {
    extra += ` (the limit is ${formatBytes(error.limit_bytes)})`;
  }
  const text = `could not ${what}: HTTP ${a.status}${code ? ` ${code}` : ''}: ${message}${extra}${rid}`;
  const details = {
    status: a.status,
    serverCode: code,
    requestId: a.requestId,
    ...(isObject(a.json) && a.json.__unexpected ? { body: a.json.body } : {}),
    ...(findings.length ? { findings } : {}),
    ...(error && typeof error.limit_bytes === 'number' ? { limitBytes: error.limit_bytes } : {}),
    ...(error && typeof error.state === 'string' ? { state: error.state } : {}),
    ...(error && typeof error.submission_id === 'string' ? { submissionId: error.submission_id } : {}),
    ...(error && isRole(error.required_role) && isRole(error.token_role) ? { requiredRole: error.required_role, tokenRole: error.token_role } : {}),
  };
  const unexpected = isObject(a.json) && a.json.__unexpected === true;
  if (a.status === 401) {
    return new AuthError(text, {
      hint: 'the token is invalid, expired or revoked: run `plexichat-plugin marketplace login` again or set PLEXICHAT_TOKEN',
      code: 'UNAUTHORIZED',
      details,
    });
  }
  if (a.status === 403) return new AuthError(text, { hint: forbiddenHint(code, error, what), code: code ?? 'FORBIDDEN', details });
  if (a.status === 409) return new WorkFailedError(text, { code: code ?? 'CONFLICT', details, hint: conflictHint(code) });
  if (a.status === 413) {
    return new WorkFailedError(text, {
      code: 'TOO_LARGE',
      details,
      hint: 'make the archive smaller (check .pluginignore and `plexichat-plugin build --dry-run`)',
    });
  }
  if (a.status === 422) {
    return new WorkFailedError(text, {
      code: code ?? 'INVALID',
      details,
      hint:
        code === 'LISTING_MISMATCH' || code === 'INVALID_LISTING'
          ? 'run `plexichat-plugin marketplace prepare` again after `build`, then submit'
          : 'fix what the marketplace names, rebuild and submit again (`plexichat-plugin verify <archive>` runs the same checks)',
    });
  }
  if (a.status === 404) return new WorkFailedError(text, { code: code ?? 'NOT_FOUND', details, hint: 'check the plugin name or submission id' });
  if (unexpected || a.status < 400 || a.status >= 500 || a.status === 429) {
    return new NetworkError(text, {
      code: unexpected ? 'UNEXPECTED_RESPONSE' : a.status === 429 ? 'RATE_LIMITED' : 'SERVER_ERROR',
      details,
      hint:
        a.status >= 300 && a.status < 400
          ? `the marketplace answered with a redirect to ${headerString(a.headers.location) ?? '?'}; use that URL with --marketplace`
          : unexpected
            ? notAMarketplaceHint(baseUrl)
            : 'the marketplace is having trouble: try again later',
    });
  }
  return new WorkFailedError(text, {
    code: code ?? 'REQUEST_FAILED',
    details,
    hint: 'the marketplace refused the request; run with --verbose for details',
  });
}

/** A 2xx whose body is not what the contract says. */
export function unexpectedResponse(a: Answer, why: string, baseUrl: string, hint = notAMarketplaceHint(baseUrl)): NetworkError {
  const j = a.json;
  const rid = a.requestId ? `, request id ${a.requestId}` : '';
  const text =
    isObject(j) && j.__unexpected
      ? `unexpected response from the marketplace (HTTP ${a.status}, content-type ${String(j.contentType)}${rid}): ${String(j.excerpt) || '(empty body)'}`
      : `unexpected response from the marketplace (HTTP ${a.status}, ${why}${rid}): ${excerpt(JSON.stringify(j) ?? '(empty body)')}`;
  return new NetworkError(text, {
    hint,
    code: 'UNEXPECTED_RESPONSE',
    details: {
      status: a.status,
      requestId: a.requestId,
      body: isObject(j) && j.__unexpected ? j.body : redact((JSON.stringify(j) ?? '').slice(0, 2048)),
    },
  });
}

/** The same error with more words at the end of its message. */
export function withSuffix(e: CliError, suffix: string): CliError {
  const opts = { hint: e.hint, code: e.code, details: e.details, cause: e.cause };
  if (e instanceof NetworkError) return new NetworkError(`${e.message}${suffix}`, opts);
  if (e instanceof WorkFailedError) return new WorkFailedError(`${e.message}${suffix}`, opts);
  if (e instanceof AuthError) return new AuthError(`${e.message}${suffix}`, opts);
  return e;
}
