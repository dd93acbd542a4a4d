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
  | 'marketplaceKeys'
  | 'addKey'
  | 'listKeys'
  | 'revokeKey';

export type Access = 'public' | 'token' | Role;

export interface RouteDef {
  name: RouteName;
  method: 'GET' | 'POST';
  /** Path under /api/v1 in the doc's {param} form. */
  path: string;
  access: Access;
}

export const API_PREFIX = '/api/v1';

export const ROUTES: readonly RouteDef[] = [
  { name: 'health', method: 'GET', path: '/health', access: 'public' },
  { name: 'me', method: 'GET', path: '/me', access: 'token' },
  { name: 'submit', method: 'POST', path: '/plugins/{name}/submissions', access: 'developer' },
  { name: 'listPluginSubmissions', method: 'GET', path: '/plugins/{name}/submissions', access: 'token' },
  { name: 'listSubmissions', method: 'GET', path: '/submissions', access: 'token' },
  { name: 'getSubmission', method: 'GET', path: '/submissions/{id}', access: 'token' },
  { name: 'review', method: 'POST', path: '/submissions/{id}/review', access: 'reviewer' },
  { name: 'publish', method: 'POST', path: '/submissions/{id}/publish', access: 'developer' },
  { name: 'getPlugin', method: 'GET', path: '/plugins/{name}', access: 'public' },
  { name: 'download', method: 'GET', path: '/plugins/{name}/versions/{version}/download', access: 'public' },
  { name: 'signatures', method: 'GET', path: '/plugins/{name}/versions/{version}/signatures', access: 'public' },
  { name: 'marketplaceKeys', method: 'GET', path: '/keys', access: 'public' },
  { name: 'addKey', method: 'POST', path: '/me/keys', access: 'developer' },
  { name: 'listKeys', method: 'GET', path: '/me/keys', access: 'developer' },
  { name: 'revokeKey', method: 'POST', path: '/me/keys/{key_id}/revoke', access: 'developer' },
];

/** `/plugins/{name}` → `/api/v1/plugins/:name` (fastify's form). */
export function fastifyPath(p: string): string {
  return API_PREFIX + p.replace(/\{(\w+)\}/g, ':$1');
}
