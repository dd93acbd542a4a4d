/**
 * What the marketplace has published of a plugin: the latest version and
 * its manifest summary (GET /plugins/{name}, public, no token sent). Used
 * by `version`, `validate --against published` and `check --profile
 * release`. "No marketplace set" and "not reachable" are answers here, not
 * errors: each caller decides whether that skips its check or stops it.
 */
import type { Ctx } from '../io/context.js';
import semver from 'semver';
import { CliError, NetworkError } from '../errors.js';
import { valueText } from '../io/value-text.js';
import { parseSummary, type ManifestSummary } from './diff.js';

export type PublishedLookup =
  | { state: 'found'; marketplace: string; version: string; summary?: ManifestSummary }
  /** The marketplace answered: nothing of this plugin is published (or the name is unknown). */
  | { state: 'none'; marketplace: string }
  /** The lookup could not be made; `reason` says why in one line. */
  | { state: 'unavailable'; code: 'NO_MARKETPLACE' | 'UNREACHABLE'; reason: string; marketplace?: string };

/** Ordinary lookups give up quickly: `check` and `version` report a skip instead of waiting. */
const LOOKUP_LIMITS = { attemptTimeoutMs: 10_000, requestDeadlineMs: 20_000 };

export async function latestPublished(ctx: Ctx, name: string): Promise<PublishedLookup> {
  const [{ resolveTarget }, { openSession }] = await Promise.all([import('../marketplace/targets.js'), import('../marketplace/session.js')]);
  try {
    await resolveTarget({ flag: ctx.flags.marketplace, env: ctx.env, target: ctx.flags.target, start: ctx.start });
  } catch (err) {
    if (err instanceof CliError && err.code === 'NO_MARKETPLACE_URL') {
      return { state: 'unavailable', code: 'NO_MARKETPLACE', reason: 'no marketplace is configured (--marketplace or PLEXICHAT_MARKETPLACE_URL)' };
    }
    throw err;
  }
  const session = await openSession(ctx, { token: 'none', client: LOOKUP_LIMITS });
  const marketplace = session.target.baseUrl;
  let latest: { version: unknown; manifest?: unknown };
  try {
    const info = await session.client.plugin(name);
    if (!info.versions[0]) return { state: 'none', marketplace };
    latest = info.versions[0];
  } catch (err) {
    if (err instanceof CliError && (err.code === 'PLUGIN_NOT_FOUND' || err.code === 'NOT_FOUND')) return { state: 'none', marketplace };
    if (err instanceof NetworkError) {
      return { state: 'unavailable', code: 'UNREACHABLE', marketplace, reason: err.message };
    }
    throw err;
  } finally {
    await session.client.close();
  }
  // A version that is not semver cannot be compared: the marketplace's answer is wrong (exit 3), not a crash.
  if (typeof latest.version !== 'string' || semver.valid(latest.version) === null) {
    throw new NetworkError(
      `the marketplace at ${marketplace} lists ${valueText(name)} version ${JSON.stringify(valueText(latest.version))}, which is not a semantic version (X.Y.Z)`,
      { code: 'UNEXPECTED_RESPONSE', hint: 'the marketplace answered something no CLI can compare; report it to its operator, or run with no marketplace set' },
    );
  }
  return { state: 'found', marketplace, version: latest.version, summary: parseSummary(latest.manifest) };
}
