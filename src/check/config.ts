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
 * Pure: text in, config or ConfigError out.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import type { Finding } from './types.js';

export const CONFIG_FILE = '.plexichat.yaml';
const RULE_ID = /^[a-z][a-z-]*\/[A-Z][A-Z0-9_]*$/;
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

export function parseCheckConfig(text: string, file = CONFIG_FILE): CheckConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, strict: true });
  const at = (node: Node | null | undefined) => {
    const p = lc.linePos(node?.range?.[0] ?? 0);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = lc.linePos(e.pos[0]);
    throw new ConfigError(`${file}:${p.line}:${p.col}: ${e.message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return { rules: {} };
  if (!isMap(root)) throw new ConfigError(`${at(root)}: ${file} must be a mapping (check: ...)`, 'see docs/release.md, "Configuration"');
  const check = root.get('check', true);
  if (check === undefined || (isScalar(check) && check.value === null)) return { rules: {} };
  if (!isMap(check)) throw new ConfigError(`${at(check)}: check must be a mapping with rules:`, 'see docs/release.md, "Configuration"');
  const rules: Record<string, RuleSetting> = {};
  for (const pair of check.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key !== 'rules') {
      throw new ConfigError(`${at(pair.key as Node)}: unknown key check.${key}`, 'the check section holds rules: only');
    }
    const map = pair.value as Node | null;
    if (map === null || (isScalar(map) && map.value === null)) continue;
    if (!isMap(map)) throw new ConfigError(`${at(map)}: check.rules must map rule ids to a level`, 'e.g. docs/PLACEHOLDER: warning');
    for (const item of map.items) {
      const id = isScalar(item.key) ? String(item.key.value) : '';
      const where = at(item.key as Node);
      if (!RULE_ID.test(id)) {
        throw new ConfigError(`${where}: ${JSON.stringify(id)} is not a rule id (<check>/<CODE>, e.g. validate/UNIMPLEMENTED_HOOK)`, 'rule ids are printed with every finding of plexichat-plugin check');
      }
      const v = item.value as Node | null;
      let severity: unknown;
      let reason: unknown;
      if (isScalar(v)) severity = v.value;
      else if (isMap(v)) {
        for (const f of v.items) {
          const k = isScalar(f.key) ? String(f.key.value) : '';
          const val = isScalar(f.value) ? f.value.value : undefined;
          if (k === 'severity') severity = val;
          else if (k === 'reason') reason = val;
          else throw new ConfigError(`${at(f.key as Node)}: unknown key ${k} for rule ${id}`, 'a rule takes severity: and reason:');
        }
      } else throw new ConfigError(`${where}: rule ${id} needs a level`, `e.g. ${id}: warning`);
      if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) {
        throw new ConfigError(`${where}: rule ${id}: severity must be one of ${SEVERITIES.join(', ')}`, `e.g. ${id}: warning`);
      }
      if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
        throw new ConfigError(`${where}: rule ${id}: reason must be a non-empty text`, 'say why the rule does not apply');
      }
      if (severity === 'off' && reason === undefined) {
        throw new ConfigError(`${where}: rule ${id} is turned off without a reason`, `add reason: "why ${id} does not apply here" under it`);
      }
      rules[id] = { severity: severity as Severity, ...(typeof reason === 'string' ? { reason: reason.trim() } : {}) };
    }
  }
  return { rules };
}

/** The finding as the config wants it: suppressed, at another level, or unchanged. */
export function applyConfig(f: Finding, config: CheckConfig): Finding {
  const rule = config.rules[f.ruleId];
  if (!rule) return f;
  if (rule.severity === 'off') return { ...f, suppressed: { reason: rule.reason! } };
  if (rule.severity === f.level) return f;
  return { ...f, level: rule.severity, configuredFrom: f.level };
}
