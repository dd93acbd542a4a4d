/**
 * The API's routes, named. docs/marketplace-api.md lists the same table;
 * test/unit/server/routes-contract.test.ts keeps them in step.
 */
import type { Role } from '../core/roles.js';

export type RouteName =
  | 'health'
  | 'me'
  | 'submit'
  | 'listPluginSubmissions'
  | 'listSubmissions'
  | 'getSubmission'
  | 'review'
  | 'publish'
  | 'getPlugin'
  | 'download'
  | 'signatures'
  | 'sbom'
  | 'provenance'
  | 'marketplaceKeys'
  | 'addKey'
  | 'listKeys'
  | 'revokeKey'
  | 'rolloverKey';

export type Access = 'public' | 'token' | Role;

export interface RouteDef {
  name: RouteName;
  method: 'GET' | 'POST';
  /** Path under /api/v1 in the doc's {param} form. */
  path: string;
  access: Access;
  /** The media type a POST's body must have (415 UNSUPPORTED_MEDIA_TYPE otherwise). */
  body?: 'application/json' | 'multipart/form-data';
}

export const API_PREFIX = '/api/v1';

export const ROUTES: readonly RouteDef[] = [
  { name: 'health', method: 'GET', path: '/health', access: 'public' },
  { name: 'me', method: 'GET', path: '/me', access: 'token' },
  { name: 'submit', method: 'POST', path: '/plugins/{name}/submissions', access: 'developer', body: 'multipart/form-data' },
  { name: 'listPluginSubmissions', method: 'GET', path: '/plugins/{name}/submissions', access: 'token' },
  { name: 'listSubmissions', method: 'GET', path: '/submissions', access: 'token' },
  { name: 'getSubmission', method: 'GET', path: '/submissions/{id}', access: 'token' },
  { name: 'review', method: 'POST', path: '/submissions/{id}/review', access: 'reviewer', body: 'application/json' },
  { name: 'publish', method: 'POST', path: '/submissions/{id}/publish', access: 'developer', body: 'application/json' },
  { name: 'getPlugin', method: 'GET', path: '/plugins/{name}', access: 'public' },
  { name: 'download', method: 'GET', path: '/plugins/{name}/versions/{version}/download', access: 'public' },
  { name: 'signatures', method: 'GET', path: '/plugins/{name}/versions/{version}/signatures', access: 'public' },
  { name: 'sbom', method: 'GET', path: '/plugins/{name}/versions/{version}/sbom', access: 'public' },
  { name: 'provenance', method: 'GET', path: '/plugins/{name}/versions/{version}/provenance', access: 'public' },
  { name: 'marketplaceKeys', method: 'GET', path: '/keys', access: 'public' },
  { name: 'addKey', method: 'POST', path: '/me/keys', access: 'developer', body: 'application/json' },
  { name: 'listKeys', method: 'GET', path: '/me/keys', access: 'developer' },
  { name: 'revokeKey', method: 'POST', path: '/me/keys/{key_id}/revoke', access: 'developer', body: 'application/json' },
  { name: 'rolloverKey', method: 'POST', path: '/me/keys/rollover', access: 'developer', body: 'application/json' },
];

/** `/plugins/{name}` → `/api/v1/plugins/:name` (fastify's form). */
export function fastifyPath(p: string): string {
  return API_PREFIX + p.replace(/\{(\w+)\}/g, ':$1');
}

/**
 * Why a request's body cannot be read as the route's media type, or
 * undefined: a body (Content-Length over 0, or chunked) whose Content-Type is
 * another type, or none. An empty body of a JSON route is {} whatever its type.
 * One rule for every POST route, applied before the body is read.
 */
export function mediaTypeProblem(route: RouteDef | undefined, headers: Record<string, string | string[] | undefined>): string | undefined {
  if (!route?.body) return undefined;
  const length = Number(headers['content-length'] ?? 0);
  const hasBody = headers['transfer-encoding'] !== undefined || (Number.isFinite(length) && length > 0);
  if (!hasBody) return undefined;
  const ct = headers['content-type'];
  const type = (Array.isArray(ct) ? ct[0] : ct)?.split(';')[0].trim().toLowerCase();
  if (type === route.body) return undefined;
  return `${type ? `content type ${type.slice(0, 80)}` : 'no content type'} for a body: send ${route.body}${route.body === 'multipart/form-data' ? ' with "archive" and "listing" parts' : ''}`;
}
