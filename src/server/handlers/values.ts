/**
 * Values every route shares: the path parameters' checks (the plugin-name
 * rule is core/plugin-name.ts, the one the CLI uses) and the submission
 * object of docs/marketplace-api.md.
 */
import semver from 'semver';
import { isPluginName } from '../../core/plugin-name.js';
import type { SubmissionRow } from '../storage/meta.js';
import { ApiError } from '../errors.js';

/** A JSON column or the listing's key as data; null when absent or unreadable. */
function json(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The newly required permissions the developer accepted, as the listing says (`permission_diff.accepted`). */
function acceptedOf(listing: string): string[] {
  const l = json(listing) as { permission_diff?: { accepted?: unknown } } | null;
  const a = l?.permission_diff?.accepted;
  return Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : [];
}

/** The submission object; `attestations`: what came with the upload (server/attestations.ts summaryOf), null when nothing did. */
export function toApi(row: SubmissionRow, attestations: unknown = null) {
  return {
    id: row.id,
    plugin: row.plugin,
    version: row.version,
    state: row.state,
    sha256: row.sha256,
    size: row.size,
    channel: row.channel,
    notes: row.notes,
    owner: row.owner,
    reviewer: row.reviewer,
    created_at: row.created_at,
    updated_at: row.updated_at,
    published_at: row.published_at,
    manifest: json(row.manifest),
    permission_diff: json(row.permission_diff),
    accepted_permissions: acceptedOf(row.listing),
    attestations,
    // A platform variant of its version (build --split-platforms); absent for a version's one archive.
    ...(row.platform ? { platform: row.platform } : {}),
  };
}

export function checkName(name: string): string {
  if (!isPluginName(name)) {
    throw new ApiError(400, 'INVALID_NAME', `"${name.slice(0, 80)}" is not a plugin name (snake_case, 3-64 characters)`);
  }
  return name;
}

export function checkVersion(version: string): string {
  if (!semver.valid(version) || version.startsWith('v')) {
    throw new ApiError(400, 'INVALID_VERSION', `"${version.slice(0, 80)}" is not a semantic version (e.g. 1.2.0)`);
  }
  return version;
}

/** A digest shortened for messages. */
export function short(sha: string): string {
  return sha.slice(0, 12);
}
