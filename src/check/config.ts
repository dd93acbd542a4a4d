/**
 * The `check:` section of the project config `.plexichat.yaml`: per rule, a
 * level or `off`, and `off` needs a reason (it is carried into every
 * report, SARIF included, as the suppression's justification).
 *
 *   check:
 *     rules:
 *       docs/PLACEHOLDER: warning
 *       security/SKIPPED:
 *         severity: off
 *         reason: bandit is not installed on our CI image
 *
 * The shape is schemas/files/plexichat-config.schema.json (its validator
 * and type are generated from it). Pure: text in, config or ConfigError out.
 */
import { schemaIssues, valueAt, type SchemaIssue } from '../core/schema/issues.js';
import type { Path } from '../core/yaml/locator.js';
import { readYaml } from '../core/yaml/read.js';
import type { ProjectConfig } from './config-schema-types.generated.js';
import { validate as validateConfig } from './config-schema-validator.generated.js';
import type { Finding } from './types.js';

export const CONFIG_FILE = '.plexichat.yaml';
const SEVERITIES = ['error', 'warning', 'note', 'off'] as const;
type Severity = (typeof SEVERITIES)[number];

export interface RuleSetting {
  severity: Severity;
  reason?: string;
}

export interface CheckConfig {
  rules: Record<string, RuleSetting>;
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const DOCS_HINT = 'see docs/release.md, "Configuration"';

/**
 * Read .plexichat.yaml: the schema (schemas/files/plexichat-config.schema.json)
 * says what is wrong and where; the first problem, in file order, is thrown
 * in this file's words.
 */
export function parseCheckConfig(text: string, file = CONFIG_FILE): CheckConfig {
  const read = readYaml(text.replace(/^\uFEFF/, ''), file, { prefix: 'CONFIG', name: file });
  if (!read.ok) {
    const p = read.problems[0];
    throw new ConfigError(`${p.line ? `${file}:${p.line}:${p.column}` : file}: ${p.message}`, 'fix the YAML syntax');
  }
  if (read.empty) return { rules: {} };
  const { data, locator } = read;
  const problems = schemaIssues(validateConfig, data)
    .map((issue) => problemOf(issue, data, file))
    .filter((p): p is Problem => p !== undefined)
    .map((p) => ({ ...p, pos: locator.pos(p.path, p.key) }))
    .sort((x, y) => x.pos.line - y.pos.line || x.pos.column - y.pos.column);
  if (problems.length > 0) {
    const { pos, message, hint } = problems[0];
    throw new ConfigError(`${file}:${pos.line}:${pos.column}: ${message}`, hint);
  }
  const rules: Record<string, RuleSetting> = {};
  for (const [id, setting] of Object.entries((data as ProjectConfig).check?.rules ?? {})) {
    rules[id] =
      typeof setting === 'string'
        ? { severity: setting }
        : { severity: setting.severity, ...(setting.reason !== undefined ? { reason: setting.reason.trim() } : {}) };
  }
  return { rules };
}

interface Problem {
  path: Path;
  /** At the key rather than the value. */
  key: boolean;
  message: string;
  hint: string;
}

/** A schema issue in this file's words; undefined for one another issue of the same value says better. */
function problemOf(issue: SchemaIssue, data: unknown, file: string): Problem | undefined {
  const { keyword, path } = issue;
  const problem = (message: string, hint: string, at: Path = path, key = false): Problem => ({ path: at, key, message, hint });
  if (path.length === 0) return problem(`${file} must be a mapping (check: ...)`, DOCS_HINT);
  if (path.length === 1) {
    if (keyword === 'additionalProperties') {
      const k = String(issue.params.additionalProperty);
      return problem(`unknown key check.${k}`, 'the check section holds rules: only', [...path, k], true);
    }
    return problem('check must be a mapping with rules:', DOCS_HINT);
  }
  if (path.length === 2) {
    if (keyword === 'propertyNames') {
      const id = String(issue.params.propertyName);
      return problem(
        `${JSON.stringify(id)} is not a rule id (<check>/<CODE>, e.g. validate/UNIMPLEMENTED_HOOK)`,
        'rule ids are printed with every finding of plexichat-plugin check',
        [...path, id],
        true,
      );
    }
    if (keyword === 'pattern') return undefined; // the propertyNames issue names the key
    return problem('check.rules must map rule ids to a level', 'e.g. docs/PLACEHOLDER: warning');
  }
  // A rule's setting: every issue of one rule is worded once, at the rule's key, from its value.
  if (keyword !== 'oneOf') return undefined;
  const id = String(path[2]);
  const { member, ...words } = settingProblem(id, valueAt(data, path));
  return { path: member === undefined ? path.slice(0, 3) : [...path.slice(0, 3), member], key: true, ...words };
}

/** What is wrong with a rule's setting (a level, or { severity, reason }); member: the key it is about, if not the rule's. */
function settingProblem(id: string, v: unknown): { message: string; hint: string; member?: string } {
  const levels = `e.g. ${id}: warning`;
  const severityMessage = { message: `rule ${id}: severity must be one of ${SEVERITIES.join(', ')}`, hint: levels };
  const offMessage = { message: `rule ${id} is turned off without a reason`, hint: `add reason: "why ${id} does not apply here" under it` };
  if (Array.isArray(v)) return { message: `rule ${id} needs a level`, hint: levels };
  if (typeof v !== 'object' || v === null) return v === 'off' ? offMessage : severityMessage;
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => k !== 'severity' && k !== 'reason');
  if (unknown !== undefined) return { message: `unknown key ${unknown} for rule ${id}`, hint: 'a rule takes severity: and reason:', member: unknown };
  if (typeof o.severity !== 'string' || !(SEVERITIES as readonly string[]).includes(o.severity)) return severityMessage;
  if (o.reason !== undefined) return { message: `rule ${id}: reason must be a non-empty text`, hint: 'say why the rule does not apply' };
  return offMessage;
}

/** The finding as the config wants it: suppressed, at another level, or unchanged. */
export function applyConfig(f: Finding, config: CheckConfig): Finding {
  const rule = config.rules[f.ruleId];
  if (!rule) return f;
  if (rule.severity === 'off') return { ...f, suppressed: { reason: rule.reason! } };
  if (rule.severity === f.level) return f;
  return { ...f, level: rule.severity, configuredFrom: f.level };
}
