/**
 * The endpoint rule: what a plugin may serve. One definition for the
 * manifest rules (`endpoints:`), the code cross-check (`@endpoint(...)`,
 * `self.endpoints` keys), `verify` and the development marketplace (both
 * through the manifest rules in verifyArchive).
 *
 * A path is accepted only when it stays under /api/v1/ however a router or
 * proxy reads it: no `.`/`..` segments, no percent-encoding (so no encoded
 * dot, slash or backslash, in any case, nor a double encoding), no
 * backslash, no empty segment (`//`, a trailing slash), URL path
 * characters only.
 *
 * The Python SDK (sdk/python/plexichat_plugin_sdk/_endpoint.py) applies the
 * same table when a plugin registers a path, for `test` and `dev`; a test
 * runs one case list through both and requires the same answers.
 */

export const ENDPOINT_PREFIX = '/api/v1/';

/** Characters of one path segment (RFC 3986 pchar without percent-encoding; `{}` for parameters). */
const SEGMENT = /^[A-Za-z0-9._~{}:@!$&'()*+,;=-]+$/;

export interface EndpointProblem {
  /** Completes "endpoint '<path>' ..." (no path in it). */
  reason: string;
  hint: string;
}

const EXAMPLE = `${ENDPOINT_PREFIX}my_plugin/status`;

/** The part after /api/v1/ a user probably meant, for the hint's example. */
function suggestion(path: string): string {
  const segs = path
    .replace(/%(2e|2f|5c)/gi, '/')
    .split(/[/\\]+/)
    .filter((s) => s !== '.' && s !== '..' && SEGMENT.test(s));
  while (segs[0] === 'api' || /^v[0-9]+$/.test(segs[0] ?? '')) segs.shift();
  return segs.length ? `${ENDPOINT_PREFIX}${segs.join('/')}` : EXAMPLE;
}

type Rule = (path: string) => EndpointProblem | undefined;

const segments = (p: string) => p.slice(ENDPOINT_PREFIX.length).split('/');

/**
 * In order; the first that applies is reported. Together they keep every
 * accepted path one a URL parser reads back unchanged (tested): a router
 * cannot resolve it anywhere but where it says.
 */
const RULES: readonly Rule[] = [
  (p) =>
    // eslint-disable-next-line no-control-regex -- a path with a control character is refused
    /[\u0000-\u0020\u007f]/.test(p)
      ? { reason: 'has a space or control character', hint: `write the path with URL path characters only, e.g. ${suggestion(p)}` }
      : undefined,
  (p) =>
    p.includes('\\') ? { reason: 'has a backslash, which some servers read as /', hint: `separate segments with / only, e.g. ${suggestion(p)}` } : undefined,
  (p) =>
    /%(25)*(2e|2f|5c)/i.test(p)
      ? {
          reason: 'has a percent-encoded dot, slash or backslash, which a server may decode into a path outside /api/v1/',
          hint: `write the path without percent-encoding, e.g. ${suggestion(p)}`,
        }
      : undefined,
  (p) =>
    p.split('/').some((s) => s === '.' || s === '..')
      ? {
          reason: `has a '.' or '..' segment, so it does not stay under ${ENDPOINT_PREFIX} once normalised`,
          hint: `write the path without dot segments, e.g. ${suggestion(p)}`,
        }
      : undefined,
  (p) =>
    !p.startsWith(ENDPOINT_PREFIX)
      ? { reason: `is not an absolute path under ${ENDPOINT_PREFIX}`, hint: `endpoints live under ${ENDPOINT_PREFIX}, e.g. ${suggestion(p)}` }
      : undefined,
  (p) =>
    segments(p).includes('')
      ? { reason: "has an empty segment ('//' or a trailing slash)", hint: `write one / between segments and none at the end, e.g. ${suggestion(p)}` }
      : undefined,
  (p) => (p.includes('%') ? { reason: 'has percent-encoding', hint: `write the path with plain URL path characters, e.g. ${suggestion(p)}` } : undefined),
  (p) =>
    !segments(p).every((s) => SEGMENT.test(s))
      ? {
          reason: 'has characters that are not URL path characters',
          hint: `use letters, digits and - . _ ~ { } : @ ! $ & ' ( ) * + , ; = only, e.g. ${suggestion(p)}`,
        }
      : undefined,
];

/** Why a path is not an endpoint a plugin may serve, or undefined when it is one. */
export function endpointProblem(path: string): EndpointProblem | undefined {
  if (path === '') return { reason: 'is empty', hint: `write a path such as ${EXAMPLE}` };
  for (const rule of RULES) {
    const problem = rule(path);
    if (problem) return problem;
  }
  return undefined;
}
