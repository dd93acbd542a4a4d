/**
 * Named marketplaces (`--target staging`): a URL and where its token comes
 * from, in the user's config (config.json, `targets`) or in the workspace
 * file (plexichat-workspace.yaml, `targets:`); the user's entry wins over
 * the workspace's of the same name. The token is never in either file: a
 * target names an environment variable (`token-env`), or the stored login
 * of a marketplace URL (`credential`, default: the target's own URL).
 * PLEXICHAT_TOKEN is not used for a named target unless it is the one
 * named, so a token for one marketplace is never sent to another.
 */
import { UsageError } from '../errors.js';
import { didYouMean } from '../core/suggest.js';
import { checkTargets, findWorkspaceRoot, readWorkspace, type WorkspaceTarget } from '../workspace/file.js';
import { configFile, insecureAllowed, normaliseMarketplaceUrl, readUserConfig, resolveMarketplace, type MarketplaceTarget } from './config.js';

export interface NamedTarget extends WorkspaceTarget {
  name: string;
  /** Where it was defined, for messages. */
  from: string;
}

function userTargets(cfg: Record<string, unknown>, file: string): Record<string, WorkspaceTarget> {
  const t = cfg.targets;
  if (t === undefined) return {};
  if (typeof t === 'object' && t !== null && !Array.isArray(t)) {
    for (const [name, v] of Object.entries(t as Record<string, unknown>)) {
      if (typeof v === 'object' && v !== null && 'token' in v)
        throw new UsageError(`${file}: targets.${name}: put the token in the credentials file or an environment variable, not here`, {
          code: 'CONFIG_CORRUPT',
          hint: 'use "token-env": "NAME" or `marketplace login --target NAME`',
        });
    }
  }
  const checked = checkTargets(t, file);
  if ('problem' in checked) {
    throw new UsageError(`${file}: ${checked.problem}`, {
      code: 'CONFIG_CORRUPT',
      hint: 'targets map names to { "url": ..., "token-env": ..., "deploy": {...} }: see docs/workspace.md, "Named targets"',
    });
  }
  return checked.targets;
}

/** The names of every target known here: the user's config and the workspace file above start. */
export async function targetNames(o: { env: NodeJS.ProcessEnv; start: string }): Promise<string[]> {
  const { fromWorkspace, fromUser } = await allTargets(o);
  return [...new Set([...Object.keys(fromWorkspace), ...Object.keys(fromUser)])].sort();
}

async function allTargets(o: { env: NodeJS.ProcessEnv; start: string }) {
  const root = findWorkspaceRoot(o.start);
  const fromWorkspace = root ? (await readWorkspace(root)).targets : {};
  const file = configFile(o.env) ?? 'config.json';
  const fromUser = userTargets((await readUserConfig(o.env)) as Record<string, unknown>, file);
  return { fromWorkspace, fromUser, file };
}

/** The target called name, from the user's config or the workspace file above start. */
export async function namedTarget(name: string, o: { env: NodeJS.ProcessEnv; start: string }): Promise<NamedTarget> {
  const { fromWorkspace, fromUser, file } = await allTargets(o);
  if (fromUser[name]) return { name, ...fromUser[name], from: file };
  if (fromWorkspace[name]) return { name, ...fromWorkspace[name], from: 'plexichat-workspace.yaml' };
  const known = [...new Set([...Object.keys(fromWorkspace), ...Object.keys(fromUser)])].sort();
  throw new UsageError(`--target ${name}: no such marketplace target${didYouMean(name, known)}`, {
    code: 'UNKNOWN_TARGET',
    hint: known.length
      ? `the targets are: ${known.join(', ')}`
      : 'define targets: in plexichat-workspace.yaml or "targets" in your config.json (docs/workspace.md)',
  });
}

/**
 * The marketplace a command talks to: --target NAME (a named target), else
 * the --marketplace flag, PLEXICHAT_MARKETPLACE_URL or config.json (config.ts).
 */
export async function resolveTarget(o: { flag?: string; target?: string; env: NodeJS.ProcessEnv; start: string }): Promise<MarketplaceTarget> {
  if (o.target === undefined) return resolveMarketplace({ flag: o.flag, env: o.env });
  if (o.flag) throw new UsageError('--marketplace and --target name two marketplaces', { hint: 'use one of them' });
  const t = await namedTarget(o.target, o);
  const baseUrl = normaliseMarketplaceUrl(t.url, { insecure: insecureAllowed(o.env), source: `target ${o.target} (${t.from})` });
  return {
    baseUrl,
    source: 'target',
    named: { name: o.target, ...(t.tokenEnv ? { tokenEnv: t.tokenEnv } : {}), ...(t.credential ? { credential: t.credential } : {}) },
  };
}
