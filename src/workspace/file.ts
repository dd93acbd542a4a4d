/**
 * The workspace file, plexichat-workspace.yaml at a repository's root: the
 * plugin folders (paths or globs), the shared Python libraries, and the
 * named marketplaces (docs/workspace.md). Found walking up from the start
 * folder, as git finds its root; its shape is schemas/files/workspace.schema.json
 * (validator and type generated from it). A token value in the file is
 * refused: the file is committed, so a target names where its token comes from.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { CliError, UsageError, errnoCode } from '../errors.js';
import { readRegularText } from '../io/read-file.js';
import { schemaIssues, type SchemaIssue } from '../core/schema/issues.js';
import { readYaml } from '../core/yaml/read.js';
import type { Path } from '../core/yaml/locator.js';
import type { Target, WorkspaceFile } from './workspace-schema-types.generated.js';
import { validate as validateWorkspace } from './workspace-schema-validator.generated.js';

export const WORKSPACE_FILE = 'plexichat-workspace.yaml';
const MAX_BYTES = 1024 * 1024;
const DOCS = 'see docs/workspace.md';

/** A target's deploy: block, in the names of deploy render's flags (flags win over it). */
export interface TargetDeploy {
  env?: string[];
  /** The image repository prefix: a plugin's image is <registry>/<plugin name>. */
  registry?: string;
  baseImage?: string;
  helm?: boolean;
  platformNamespace?: string;
  platformPods?: string;
  scraperNamespace?: string;
  scraperPods?: string;
}

export interface WorkspaceTarget {
  url: string;
  tokenEnv?: string;
  credential?: string;
  deploy?: TargetDeploy;
}

const DEPLOY_KEYS = {
  registry: 'registry',
  'base-image': 'baseImage',
  helm: 'helm',
  'platform-namespace': 'platformNamespace',
  'platform-pods': 'platformPods',
  'scraper-namespace': 'scraperNamespace',
  'scraper-pods': 'scraperPods',
} as const;

/** One target as the file writes it (checked against the schema's target definition) in the CLI's names. */
export function targetFromFile(t: Target): WorkspaceTarget {
  const out: WorkspaceTarget = { url: t.url, ...(t['token-env'] ? { tokenEnv: t['token-env'] } : {}), ...(t.credential ? { credential: t.credential } : {}) };
  if (t.deploy) {
    const d: TargetDeploy = {};
    if (t.deploy.env !== undefined) d.env = typeof t.deploy.env === 'string' ? [t.deploy.env] : [...t.deploy.env];
    for (const [k, v] of Object.entries(DEPLOY_KEYS)) {
      const value = t.deploy[k as keyof typeof DEPLOY_KEYS];
      if (value !== undefined) (d as Record<string, unknown>)[v] = value;
    }
    out.deploy = d;
  }
  return out;
}

/**
 * The targets of a config file (the user's config.json) checked against the
 * one target definition, the workspace schema's: the problem, or the targets.
 */
export function checkTargets(targets: unknown, file: string): { problem: string } | { targets: Record<string, WorkspaceTarget> } {
  const issues = schemaIssues(validateWorkspace, { plugins: [], targets });
  if (issues.length > 0) {
    const { message } = issueWords(issues[0], file);
    return { problem: message };
  }
  const out: Record<string, WorkspaceTarget> = {};
  for (const [name, t] of Object.entries((targets ?? {}) as Record<string, Target>)) out[name] = targetFromFile(t);
  return { targets: out };
}

export interface WorkspaceSpec {
  /** The folder holding the workspace file. */
  root: string;
  file: string;
  plugins: string[];
  libraries: string[];
  targets: Record<string, WorkspaceTarget>;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The nearest folder at or above dir holding the workspace file, or undefined. */
export function findWorkspaceRoot(dir: string): string | undefined {
  for (let d = dir; ;) {
    if (isFile(path.join(d, WORKSPACE_FILE))) return d;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/** Read and check the workspace file of root. */
export async function readWorkspace(root: string): Promise<WorkspaceSpec> {
  const file = path.join(root, WORKSPACE_FILE);
  let text: string;
  try {
    text = await readRegularText(file, { shown: WORKSPACE_FILE, maxBytes: MAX_BYTES });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new UsageError(`cannot read ${WORKSPACE_FILE} (${errnoCode(err) ?? (err as Error).message})`, {
      code: 'WORKSPACE_UNREADABLE',
      hint: 'check the file permissions',
    });
  }
  return { root, file, ...parseWorkspace(text) };
}

function invalid(message: string, hint = DOCS): UsageError {
  return new UsageError(message, { code: 'WORKSPACE_INVALID', hint });
}

/** Pure: the text of a workspace file as its lists and targets, or a one-line UsageError (WORKSPACE_INVALID). */
export function parseWorkspace(text: string): Omit<WorkspaceSpec, 'root' | 'file'> {
  const read = readYaml(text.replace(/^\uFEFF/, ''), WORKSPACE_FILE, { prefix: 'WORKSPACE', name: WORKSPACE_FILE });
  if (!read.ok) {
    const p = read.problems[0];
    throw invalid(`${WORKSPACE_FILE}${p.line ? `:${p.line}:${p.column}` : ''}: ${p.message}`, 'fix the YAML syntax');
  }
  if (read.empty) throw invalid(`${WORKSPACE_FILE} is empty`, 'name the plugin folders: plugins: [plugins/*]');
  const { data, locator } = read;
  const issues = schemaIssues(validateWorkspace, data);
  if (issues.length > 0) {
    const first = issues.map((i) => ({ i, pos: locator.pos(i.path, keyIssue(i)) })).sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column)[0];
    const { message, hint } = issueWords(first.i);
    throw invalid(`${WORKSPACE_FILE}:${first.pos.line}:${first.pos.column}: ${message}`, hint);
  }
  const w = data as WorkspaceFile;
  const targets: Record<string, WorkspaceTarget> = {};
  for (const [name, t] of Object.entries(w.targets ?? {})) targets[name] = targetFromFile(t);
  return { plugins: w.plugins, libraries: w.libraries ?? [], targets };
}

function keyIssue(i: SchemaIssue): boolean {
  return i.keyword === 'additionalProperties' || i.keyword === 'propertyNames';
}

const at = (p: Path) => p.map(String).join('.');

/** A schema issue in this file's words. */
function issueWords(i: SchemaIssue, file = WORKSPACE_FILE): { message: string; hint: string } {
  const where = at(i.path);
  if (i.keyword === 'additionalProperties') {
    const key = String(i.params.additionalProperty);
    if (i.path[0] === 'targets' && /token|secret|password/i.test(key)) {
      return {
        message: `targets.${String(i.path[1])}: a token in ${file} is refused (${file === WORKSPACE_FILE ? 'the file is committed' : 'keep it out of config files'})`,
        hint: 'name where the token comes from instead: token-env: STAGING_TOKEN, or credential: <url of a marketplace login>',
      };
    }
    return { message: `unknown key ${where ? `${where}.` : ''}${key}`, hint: DOCS };
  }
  if (i.keyword === 'required') return { message: `${where || 'the workspace'} needs ${String(i.params.missingProperty)}:`, hint: DOCS };
  if (i.keyword === 'propertyNames') return { message: `${String(i.params.propertyName)} is not a target name (lower case, digits, -)`, hint: 'e.g. staging' };
  if (i.keyword === 'pattern' && i.path.at(-1) === 'url') return { message: `${where} must be an http(s) URL`, hint: 'e.g. url: https://marketplace.example' };
  return { message: `${where || 'the workspace'} ${i.message}`, hint: DOCS };
}
