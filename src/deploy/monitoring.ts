/**
 * config/monitoring.yaml in the runbook's format:
 *
 *   monitoring:
 *     metrics: [plugin_active_users, plugin_api_calls, plugin_errors, plugin_performance]
 *     alerts:
 *       - name: "High Error Rate"
 *         condition: "rate(plugin_errors[5m]) > 0.1"
 *         severity: "warning"
 *
 * read into a checked model (every error names file:line:column), and
 * rendered as a PrometheusRule and a ServiceMonitor per environment. Each
 * condition is parsed as PromQL (Prometheus' own lezer grammar); selectors
 * of the host's metrics (and `up`) get the real metric name and are scoped
 * to this plugin and environment.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import type { IPrometheusRule, IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { Diagnostic } from '../core/manifest/index.js';
import { dotted, schemaIssues, valueAt, type SchemaIssue } from '../core/schema/issues.js';
import type { Path } from '../core/yaml/locator.js';
import { readYaml } from '../core/yaml/read.js';
import type { Alert as AlertEntry, MonitoringFile } from './monitoring-schema-types.generated.js';
import { validate as validateMonitoring } from './monitoring-schema-validator.generated.js';
import { goTemplateLiteral } from './go-template.js';
import { HOST_METRICS, RUNBOOK_NAMES, hostMetric } from './metrics.js';
import { LABEL_NAME, LABEL_VALUE, METRICS_PATH, selectorLabels, type Labels } from './names.js';

export const MONITORING_PATH = 'config/monitoring.yaml';
const MAX_BYTES = 64 * 1024;
const SEVERITIES = ['critical', 'warning', 'info'];

export interface Alert {
  /** As written ("High Error Rate"); the summary annotation. */
  title: string;
  /** The Prometheus alert name ("HighErrorRate"). */
  alert: string;
  condition: string;
  severity: string;
  for?: string;
}

export interface MonitoringConfig {
  /** Host families to keep when scraping (empty: keep everything). */
  metrics: string[];
  alerts: Alert[];
  /** Extra labels on the PrometheusRule and ServiceMonitor (e.g. the operator's ruleSelector). */
  labels: Labels;
}

export interface MonitoringParse {
  config?: MonitoringConfig;
  diagnostics: Diagnostic[];
}

/** "High Error Rate" → "HighErrorRate". */
export function alertName(title: string): string {
  return title
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('')
    .replace(/^(\d)/, 'Alert$1');
}

type At = (path: Path, code: string, message: string, hint: string, key?: boolean) => void;

const ALERT_KEYS = 'an alert has name:, condition:, severity: and optionally for:';

/**
 * A schema issue (schemas/files/monitoring.schema.json) in this file's
 * words and codes; 'shape' for one that ends the check (no `monitoring:`
 * block), which the caller reports once.
 */
function schemaMessage(issue: SchemaIssue, data: unknown, file: string): [code: string, message: string, hint: string, key?: boolean] | 'shape' {
  const { keyword, path } = issue;
  const value = valueAt(data, path);
  const [, block, i, field] = path;
  if (path.length <= 1 && (keyword === 'type' || keyword === 'required')) return 'shape';
  if (keyword === 'additionalProperties') {
    const k = String(issue.params.additionalProperty);
    if (path.length === 0) return ['MONITORING_UNKNOWN_KEY', `unknown top-level key '${k}'`, 'only `monitoring:` is read', true];
    if (path.length === 1) return ['MONITORING_UNKNOWN_KEY', `unknown key 'monitoring.${k}'`, 'use metrics:, alerts: and labels:', true];
    return ['MONITORING_UNKNOWN_KEY', `unknown key '${k}' in an alert`, ALERT_KEYS, true];
  }
  if (block === 'metrics') {
    if (path.length === 2) return ['MONITORING_SHAPE', 'monitoring.metrics must be a list of metric names', 'e.g. metrics: [plugin_errors, plugin_api_calls]'];
    return ['UNKNOWN_METRIC', `'${String(value)}' is not a metric the plugin host exports`, `use one of: ${knownNames()}`];
  }
  if (block === 'labels') {
    if (path.length === 2) return ['MONITORING_SHAPE', 'monitoring.labels must be a mapping of label names to values', 'e.g. labels: { release: prometheus }'];
    return [
      'INVALID_LABEL',
      `'${String(i)}: ${String(value)}' is not a valid Kubernetes label`,
      'names and values: letters, digits, - _ . (at most 63), values as strings',
    ];
  }
  // monitoring.alerts
  if (path.length === 2) return ['MONITORING_SHAPE', 'monitoring.alerts must be a list', 'each alert has name:, condition: and severity:'];
  const missing = keyword === 'required' ? String(issue.params.missingProperty) : undefined;
  const member = missing ?? field;
  if (path.length === 3 && missing === undefined) return ['MONITORING_SHAPE', 'an alert must be a mapping', 'give it name:, condition: and severity:'];
  if (member === 'name') return ['ALERT_NAME', 'the alert needs a name with letters or digits', 'e.g. name: "High Error Rate"'];
  if (member === 'condition')
    return ['ALERT_CONDITION', 'the alert needs a condition (a PromQL expression)', 'e.g. condition: "rate(plugin_errors[5m]) > 0.1"'];
  if (member === 'severity') return ['ALERT_SEVERITY', `severity '${String(value)}' is not one of ${SEVERITIES.join(', ')}`, 'e.g. severity: "warning"'];
  if (member === 'for') return ['ALERT_FOR', `for '${String(value)}' is not a Prometheus duration`, 'e.g. for: "5m"'];
  return ['MONITORING_SHAPE', `${dotted(path)} ${issue.message}`, `see docs/deploy.md for the format of ${file}`];
}

/** monitoring.metrics: host families, each once. */
function metricsOf(m: MonitoringFile['monitoring'], at: At): string[] {
  const metrics: string[] = [];
  if (!Array.isArray(m.metrics)) return metrics; // absent, or the schema reported it
  m.metrics.forEach((name, i) => {
    if (typeof name !== 'string') return; // the schema reported it
    const fam = hostMetric(name);
    if (!fam) at(['monitoring', 'metrics', i], 'UNKNOWN_METRIC', `'${name}' is not a metric the plugin host exports`, `use one of: ${knownNames()}`);
    else if (!metrics.includes(fam.name)) metrics.push(fam.name);
  });
  return metrics;
}

/** monitoring.labels: valid Kubernetes labels. */
function labelsOf(m: MonitoringFile['monitoring'], at: At): Labels {
  const labels: Labels = {};
  if (typeof m.labels !== 'object' || m.labels === null || Array.isArray(m.labels)) return labels; // absent, or the schema reported it
  for (const [k, v] of Object.entries(m.labels)) {
    if (typeof v !== 'string') continue; // the schema reported it
    if (!LABEL_NAME.test(k) || !LABEL_VALUE.test(v)) {
      at(
        ['monitoring', 'labels', k],
        'INVALID_LABEL',
        `'${k}: ${v}' is not a valid Kubernetes label`,
        'names and values: letters, digits, - _ . (at most 63), values as strings',
      );
    } else labels[k] = v;
  }
  return labels;
}

/** One entry of monitoring.alerts, past the schema; undefined when it has errors (reported). */
function alertOf(a: AlertEntry, i: number, seen: Set<string>, at: At): Alert | undefined {
  const p = ['monitoring', 'alerts', i];
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined; // the schema reported it
  let ok = true;
  if (typeof a.name === 'string') {
    const alert = alertName(a.name.trim());
    if (!alert) {
      at([...p, 'name'], 'ALERT_NAME', 'the alert needs a name with letters or digits', 'e.g. name: "High Error Rate"');
      ok = false;
    } else if (seen.has(alert)) {
      at([...p, 'name'], 'ALERT_DUPLICATE', `two alerts are named ${alert}`, 'give each alert its own name');
      ok = false;
    }
    seen.add(alert);
  } else ok = false;
  if (typeof a.condition !== 'string') return undefined;
  if (a.condition.trim() === '') {
    at([...p, 'condition'], 'ALERT_CONDITION', 'the alert needs a condition (a PromQL expression)', 'e.g. condition: "rate(plugin_errors[5m]) > 0.1"');
    return undefined;
  }
  const problem = conditionProblem(a.condition);
  if (problem) {
    at([...p, 'condition'], 'ALERT_CONDITION', problem.message, problem.hint);
    return undefined;
  }
  if (!ok) return undefined;
  const title = a.name.trim();
  return { title, alert: alertName(title), condition: a.condition.trim(), severity: a.severity ?? 'warning', ...(a.for ? { for: a.for } : {}) };
}

export function parseMonitoring(text: string, file = MONITORING_PATH): MonitoringParse {
  const diagnostics: Diagnostic[] = [];
  const fail = (code: string, message: string, hint: string, line = 0, column = 0) =>
    diagnostics.push({ severity: 'error', code, message, hint, file, line, column });
  if (Buffer.byteLength(text) > MAX_BYTES) {
    fail('MONITORING_TOO_LARGE', `${file} is larger than ${MAX_BYTES} bytes`, 'keep it to the metrics and alerts lists');
    return { diagnostics };
  }
  const read = readYaml(text.replace(/^\uFEFF/, ''), file, { prefix: 'MONITORING', name: file });
  if (!read.ok) {
    for (const p of read.problems) fail(p.code, p.message, p.hint, p.line, p.column);
    return { diagnostics };
  }
  const shape = () => fail('MONITORING_SHAPE', `${file} must hold a \`monitoring:\` block`, 'see docs/deploy.md for the format (metrics:, alerts:)', 1, 1);
  if (read.empty) {
    shape();
    return { diagnostics };
  }
  const { data, locator } = read;
  const at: At = (path, code, message, hint, key = false) => {
    const { line, column } = locator.pos(path, key);
    fail(code, message, hint, line, column);
  };
  const issues = schemaIssues(validateMonitoring, data);
  const said = new Set<string>();
  for (const issue of issues) {
    const m = schemaMessage(issue, data, file);
    if (m === 'shape') {
      diagnostics.length = 0;
      const { line, column } = locator.pos([]);
      fail('MONITORING_SHAPE', `${file} must hold a \`monitoring:\` block`, 'see docs/deploy.md for the format (metrics:, alerts:)', line, column);
      return { diagnostics };
    }
    const [code, message, hint, key] = m;
    const path = issue.keyword === 'additionalProperties' ? [...issue.path, String(issue.params.additionalProperty)] : issue.path;
    const once = `${code}:${dotted(path)}`;
    if (!said.has(once)) at(path, code, message, hint, key);
    said.add(once);
  }
  const m = (data as MonitoringFile).monitoring;
  const metrics = metricsOf(m, at);
  const labels = labelsOf(m, at);
  const seen = new Set<string>();
  const alerts = Array.isArray(m.alerts) ? m.alerts.flatMap((a, i) => alertOf(a, i, seen, at) ?? []) : [];
  if (diagnostics.length > 0) return { diagnostics: diagnostics.sort((x, y) => x.line - y.line || x.column - y.column) };
  return { config: { metrics, alerts, labels }, diagnostics };
}

function knownNames(): string {
  return [...Object.keys(RUNBOOK_NAMES), ...HOST_METRICS.map((m) => m.name)].filter((v, i, a) => a.indexOf(v) === i).join(', ');
}

function parse(expr: string) {
  return parser.parse(expr);
}

/** The labels deploy render sets on every series it scrapes (ServiceMonitor relabelings) and scopes every selector by. */
export const SCOPE_LABELS = ['plugin', 'environment'] as const;

interface Matcher {
  /** As written. */
  text: string;
  /** The label name (unquoted); undefined for a quoted metric name (`{"name"}`). */
  label?: string;
  op?: string;
  /** The string value, unquoted. */
  value?: string;
}

interface Selector {
  /** The metric name: the identifier, a quoted name, or a `__name__="..."` matcher's value. */
  name?: string;
  /** Where the name came from: its matcher is dropped when the name is written as an identifier. */
  nameMatcher?: Matcher;
  matchers: Matcher[];
}

/** A PromQL string literal's value ('…', "…" with Go escapes, or `…`). */
function stringValue(literal: string): string {
  const q = literal[0];
  const body = literal.slice(1, -1);
  if (q === '`') return body;
  try {
    return JSON.parse(`"${body.replace(/\\'/g, "'").replace(/(?<!\\)"/g, '\\"')}"`) as string;
  } catch {
    return body;
  }
}

/** The parts of a VectorSelector node. */
function selectorOf(node: SyntaxNode, expr: string): Selector {
  const text = (n: SyntaxNode | null) => (n ? expr.slice(n.from, n.to) : undefined);
  const id = node.getChild('Identifier');
  const sel: Selector = { matchers: [], ...(id ? { name: text(id) } : {}) };
  const list = node.getChild('LabelMatchers');
  for (let c = list?.firstChild ?? null; c; c = c.nextSibling) {
    if (c.name === 'QuotedLabelName') {
      // `{"metric.name"}`: the metric name, quoted.
      const m: Matcher = { text: text(c)!, value: stringValue(text(c)!) };
      sel.matchers.push(m);
      if (!sel.name) Object.assign(sel, { name: m.value, nameMatcher: m });
      continue;
    }
    if (c.name !== 'UnquotedLabelMatcher' && c.name !== 'QuotedLabelMatcher') continue;
    const ln = c.getChild('LabelName') ?? c.getChild('QuotedLabelName');
    const label = ln?.name === 'QuotedLabelName' ? stringValue(text(ln)!) : text(ln);
    const op = text(c.getChild('MatchOp'));
    const lit = text(c.getChild('StringLiteral'));
    const m: Matcher = { text: text(c)!, ...(label !== undefined ? { label } : {}), ...(op ? { op } : {}), ...(lit ? { value: stringValue(lit) } : {}) };
    sel.matchers.push(m);
    if (!sel.name && label === '__name__' && op === '=' && m.value) Object.assign(sel, { name: m.value, nameMatcher: m });
  }
  return sel;
}

/** Why a condition is refused: not PromQL, a plugin_* metric the host does not export, or a matcher on a label render sets. */
export function conditionProblem(expr: string): { message: string; hint: string } | undefined {
  const tree = parse(expr);
  let problem: { message: string; hint: string } | undefined;
  tree.iterate({
    enter(n) {
      if (problem) return false;
      if (n.type.isError) {
        problem = {
          message: `the condition is not valid PromQL (at character ${n.from + 1}: ${JSON.stringify(expr.slice(n.from, n.from + 12) || 'end')})`,
          hint: 'write a Prometheus expression, e.g. rate(plugin_errors[5m]) > 0.1',
        };
        return false;
      }
      if (n.name === 'VectorSelector') {
        const sel = selectorOf(n.node, expr);
        const name = sel.name ?? '';
        const env = sel.matchers.find((m) => m.label === 'environment');
        if (env) {
          problem = {
            message: `the condition selects on the label 'environment' (${env.text}): deploy render scopes every selector to the environment it renders`,
            hint: `remove ${env.text}; each environment's rules get environment="<env>" on every selector`,
          };
          return false;
        }
        if (name.startsWith('plugin_') && !hostMetric(name)) {
          problem = { message: `'${name}' is not a metric the plugin host exports`, hint: `use one of: ${knownNames()}` };
          return false;
        }
        const fam = hostMetric(name);
        if (fam?.type === 'histogram' && fam.series.every((s) => s !== name) && n.node.parent?.name === 'MatrixSelector') {
          problem = {
            message: `'${name}' is a histogram: a range of it has no meaning`,
            hint: `use ${fam.name}_sum, ${fam.name}_count or ${fam.name}_bucket in a range, or '${name}' alone for the 95th percentile`,
          };
          return false;
        }
      }
      return undefined;
    },
  });
  return problem;
}

const IDENTIFIER = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

/**
 * The condition with the host's metric names, and EVERY vector selector
 * (whatever its form: `name`, `name{...}`, `{__name__="name"}`, `{"name"}`,
 * `{__name__=~"..."}`, inside functions, aggregations, subqueries and binary
 * operators) scoped to this plugin and environment: `plugin="<name>"` and
 * `environment="<env>"` are added to its matchers (a matcher the condition
 * writes on `plugin` stays, ANDed with render's, so it can only narrow; one
 * on `environment` is refused by conditionProblem). A bare histogram name
 * means its 95th percentile over 5m. A condition on `up` also fires when
 * the target is gone (`or absent(up{...})`): `up == 0` alone has no series
 * to compare once the pod or its Service has disappeared.
 */
export function translateCondition(expr: string, scope: { plugin: string; environment: string }): string {
  const tree = parse(expr);
  const edits: { from: number; to: number; text: string }[] = [];
  const scoped = `plugin="${scope.plugin}", environment="${scope.environment}"`;
  let up = false;
  tree.iterate({
    enter(n) {
      if (n.name !== 'VectorSelector') return undefined;
      const node: SyntaxNode = n.node;
      const sel = selectorOf(node, expr);
      const name = sel.name ?? '';
      const fam = hostMetric(name);
      if (name === 'up') up = true;
      // Written as an identifier when it is one, so the name matcher goes.
      const asIdentifier = sel.name !== undefined && IDENTIFIER.test(RUNBOOK_NAMES[name] ?? name);
      const kept = sel.matchers
        .filter((m) => !(asIdentifier && m === sel.nameMatcher))
        .filter((m) => !(m.label === 'plugin' && m.op === '=' && m.value === scope.plugin));
      const ownPlugin = sel.matchers.find((m) => m.label === 'plugin' && m.op === '=' && m.value === scope.plugin);
      const extra = ownPlugin ? [ownPlugin.text, `environment="${scope.environment}"`] : [scoped];
      const matchers = `{${[...kept.map((m) => m.text), ...extra].join(', ')}}`;
      let text: string;
      if (!asIdentifier) text = matchers;
      else if (fam && fam.type === 'histogram' && !fam.series.includes(name)) {
        text = `histogram_quantile(0.95, sum by (le) (rate(${fam.name}_bucket${matchers}[5m])))`;
      } else text = `${RUNBOOK_NAMES[name] ?? name}${matchers}`;
      edits.push({ from: node.from, to: node.to, text });
      return false;
    },
  });
  let out = expr;
  for (const e of edits.sort((a, b) => b.from - a.from)) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return up ? `(${out}) or absent(up{${scoped}})` : out;
}

export interface MonitoringParams {
  pluginName: string;
  environment: string;
  instance: string;
  labels: Labels;
}

export function prometheusRule(cfg: MonitoringConfig, p: MonitoringParams): IPrometheusRule {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: p.instance, labels: { ...p.labels, ...cfg.labels } },
    spec: {
      groups: [
        {
          name: `${p.instance}.rules`,
          rules: cfg.alerts.map((a) => ({
            alert: a.alert,
            expr: translateCondition(a.condition, { plugin: p.pluginName, environment: p.environment }),
            ...(a.for ? { for: a.for } : {}),
            labels: { severity: a.severity, plugin: p.pluginName, environment: p.environment },
            // Prometheus runs annotations through Go's text/template: the user's text stays text.
            annotations: {
              summary: goTemplateLiteral(a.title),
              description: goTemplateLiteral(`${a.title}: ${p.pluginName} in ${p.environment} (${a.condition})`),
            },
          })),
        },
      ],
    },
  };
}

export function serviceMonitor(cfg: MonitoringConfig, p: MonitoringParams): IServiceMonitor {
  const keep = HOST_METRICS.filter((m) => cfg.metrics.includes(m.name)).flatMap((m) => m.series);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: p.instance, labels: { ...p.labels, ...cfg.labels } },
    spec: {
      selector: { matchLabels: selectorLabels(p.labels) },
      endpoints: [
        {
          port: 'http',
          path: METRICS_PATH,
          interval: '30s',
          relabelings: [
            { action: 'replace', targetLabel: 'plugin', replacement: p.pluginName },
            { action: 'replace', targetLabel: 'environment', replacement: p.environment },
          ],
          ...(keep.length > 0 ? { metricRelabelings: [{ action: 'keep', sourceLabels: ['__name__'], regex: `(${keep.join('|')})` }] } : {}),
        },
      ],
    },
  };
}
