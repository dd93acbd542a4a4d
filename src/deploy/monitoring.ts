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
import { LineCounter, parseDocument } from 'yaml';
import type { Diagnostic } from '../core/manifest/index.js';
import { Locator } from '../core/manifest/rules.js';
import { HOST_METRICS, RUNBOOK_NAMES, hostMetric } from './metrics.js';
import { METRICS_PATH, selectorLabels, type Labels } from './names.js';
import { valueText } from '../io/value-text.js';

export const MONITORING_PATH = 'config/monitoring.yaml';
const MAX_BYTES = 64 * 1024;
const SEVERITIES = ['critical', 'warning', 'info'];
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

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

type At = (path: (string | number)[], code: string, message: string, hint: string, key?: boolean) => void;
type Err = (line: number, column: number, code: string, message: string, hint: string) => void;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The file as YAML data and a locator for its nodes; undefined (with the errors reported) when it is not readable YAML. */
function readYaml(text: string, file: string, err: Err): { data: unknown; loc: Locator } | undefined {
  if (Buffer.byteLength(text) > MAX_BYTES) {
    err(0, 0, 'MONITORING_TOO_LARGE', `${file} is larger than ${MAX_BYTES} bytes`, 'keep it to the metrics and alerts lists');
    return undefined;
  }
  const lines = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  } catch (e) {
    err(0, 0, 'MONITORING_SYNTAX', `${file} could not be parsed: ${(e as Error).message.split('\n')[0]}`, 'check the YAML syntax');
    return undefined;
  }
  for (const e of doc.errors.slice(0, 10)) {
    const { line, col } = lines.linePos(e.pos[0]);
    err(line, col, 'MONITORING_SYNTAX', e.message.split('\n')[0], 'check the YAML syntax at this position');
  }
  if (doc.errors.length > 0) return undefined;
  try {
    return { data: doc.toJS({ maxAliasCount: 50 }), loc: new Locator(doc, lines, file, text) };
  } catch (e) {
    err(0, 0, 'MONITORING_ALIASES', `${file} could not be read: ${(e as Error).message.split('\n')[0]}`, 'do not use YAML aliases');
    return undefined;
  }
}

/** monitoring.metrics: host families, each once. */
function metricsOf(m: Record<string, unknown>, at: At): string[] {
  const metrics: string[] = [];
  if (m.metrics === undefined || m.metrics === null) return metrics;
  if (!Array.isArray(m.metrics)) {
    at(['monitoring', 'metrics'], 'MONITORING_SHAPE', 'monitoring.metrics must be a list of metric names', 'e.g. metrics: [plugin_errors, plugin_api_calls]');
    return metrics;
  }
  m.metrics.forEach((name, i) => {
    const fam = typeof name === 'string' ? hostMetric(name) : undefined;
    if (!fam) {
      at(['monitoring', 'metrics', i], 'UNKNOWN_METRIC', `'${String(name)}' is not a metric the plugin host exports`, `use one of: ${knownNames()}`);
    } else if (!metrics.includes(fam.name)) metrics.push(fam.name);
  });
  return metrics;
}

/** monitoring.labels: valid Kubernetes labels. */
function labelsOf(m: Record<string, unknown>, at: At): Labels {
  const labels: Labels = {};
  if (m.labels === undefined || m.labels === null) return labels;
  if (!isMap(m.labels)) {
    at(['monitoring', 'labels'], 'MONITORING_SHAPE', 'monitoring.labels must be a mapping of label names to values', 'e.g. labels: { release: prometheus }');
    return labels;
  }
  for (const [k, v] of Object.entries(m.labels)) {
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k) || typeof v !== 'string' || !/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/.test(v)) {
      at(['monitoring', 'labels', k], 'INVALID_LABEL', `'${k}: ${String(v)}' is not a valid Kubernetes label`, 'names and values: letters, digits, - _ . (at most 63), values as strings');
    } else labels[k] = v;
  }
  return labels;
}

/** One entry of monitoring.alerts; undefined when it has errors (reported). */
function alertOf(a: unknown, i: number, seen: Set<string>, at: At): Alert | undefined {
  const p = ['monitoring', 'alerts', i];
  if (!isMap(a)) {
    at(p, 'MONITORING_SHAPE', 'an alert must be a mapping', 'give it name:, condition: and severity:');
    return undefined;
  }
  for (const k of Object.keys(a)) {
    if (!['name', 'condition', 'severity', 'for'].includes(k)) {
      at([...p, k], 'MONITORING_UNKNOWN_KEY', `unknown key '${k}' in an alert`, 'an alert has name:, condition:, severity: and optionally for:', true);
    }
  }
  const title = typeof a.name === 'string' ? a.name.trim() : '';
  const alert = alertName(title);
  if (!alert) {
    at([...p, 'name'], 'ALERT_NAME', 'the alert needs a name with letters or digits', 'e.g. name: "High Error Rate"');
  } else if (seen.has(alert)) {
    at([...p, 'name'], 'ALERT_DUPLICATE', `two alerts are named ${alert}`, 'give each alert its own name');
  }
  seen.add(alert);
  const severity = a.severity === undefined ? 'warning' : a.severity;
  if (typeof severity !== 'string' || !SEVERITIES.includes(severity)) {
    at([...p, 'severity'], 'ALERT_SEVERITY', `severity '${valueText(severity)}' is not one of ${SEVERITIES.join(', ')}`, 'e.g. severity: "warning"');
  }
  if (a.for !== undefined && (typeof a.for !== 'string' || !DURATION.test(a.for))) {
    at([...p, 'for'], 'ALERT_FOR', `for '${valueText(a.for)}' is not a Prometheus duration`, 'e.g. for: "5m"');
  }
  if (typeof a.condition !== 'string' || a.condition.trim() === '') {
    at([...p, 'condition'], 'ALERT_CONDITION', 'the alert needs a condition (a PromQL expression)', `e.g. condition: "rate(plugin_errors[5m]) > 0.1"`);
    return undefined;
  }
  const problem = conditionProblem(a.condition);
  if (problem) {
    at([...p, 'condition'], 'ALERT_CONDITION', problem.message, problem.hint);
    return undefined;
  }
  return { title, alert, condition: a.condition.trim(), severity: valueText(severity), ...(a.for ? { for: valueText(a.for) } : {}) };
}

/** monitoring.alerts: a list of alerts with distinct names. */
function alertsOf(m: Record<string, unknown>, at: At): Alert[] {
  if (m.alerts !== undefined && m.alerts !== null && !Array.isArray(m.alerts)) {
    at(['monitoring', 'alerts'], 'MONITORING_SHAPE', 'monitoring.alerts must be a list', 'each alert has name:, condition: and severity:');
    return [];
  }
  const seen = new Set<string>();
  const alerts: Alert[] = [];
  ((m.alerts as unknown[] | undefined) ?? []).forEach((a, i) => {
    const alert = alertOf(a, i, seen, at);
    if (alert) alerts.push(alert);
  });
  return alerts;
}

export function parseMonitoring(text: string, file = MONITORING_PATH): MonitoringParse {
  const diagnostics: Diagnostic[] = [];
  const err: Err = (line, column, code, message, hint) => diagnostics.push({ severity: 'error', code, message, hint, file, line, column });
  const read = readYaml(text, file, err);
  if (!read) return { diagnostics };
  const { data, loc } = read;
  const at: At = (path, code, message, hint, key = false) => {
    const { line, column } = loc.pos(path, key);
    err(line, column, code, message, hint);
  };

  if (!isMap(data) || !isMap(data.monitoring)) {
    at([], 'MONITORING_SHAPE', `${file} must hold a \`monitoring:\` block`, 'see docs/deploy.md for the format (metrics:, alerts:)');
    return { diagnostics };
  }
  for (const k of Object.keys(data)) {
    if (k !== 'monitoring') at([k], 'MONITORING_UNKNOWN_KEY', `unknown top-level key '${k}'`, 'only `monitoring:` is read', true);
  }
  const m = data.monitoring;
  for (const k of Object.keys(m)) {
    if (!['metrics', 'alerts', 'labels'].includes(k)) {
      at(['monitoring', k], 'MONITORING_UNKNOWN_KEY', `unknown key 'monitoring.${k}'`, 'use metrics:, alerts: and labels:', true);
    }
  }
  const metrics = metricsOf(m, at);
  const labels = labelsOf(m, at);
  const alerts = alertsOf(m, at);
  if (diagnostics.length > 0) return { diagnostics };
  return { config: { metrics, alerts, labels }, diagnostics };
}

function knownNames(): string {
  return [...Object.keys(RUNBOOK_NAMES), ...HOST_METRICS.map((m) => m.name)].filter((v, i, a) => a.indexOf(v) === i).join(', ');
}

function parse(expr: string) {
  return parser.parse(expr);
}

/** Why a condition is refused: not PromQL, or a plugin_* metric the host does not export. */
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
        const id = n.node.getChild('Identifier');
        const name = id ? expr.slice(id.from, id.to) : '';
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

/**
 * The condition with the host's metric names, each selector of a host
 * metric (or `up`) scoped to this plugin and environment unless it names
 * those labels itself. A bare histogram name means its 95th percentile over 5m.
 */
export function translateCondition(expr: string, scope: { plugin: string; environment: string }): string {
  const tree = parse(expr);
  const edits: { from: number; to: number; text: string }[] = [];
  tree.iterate({
    enter(n) {
      if (n.name !== 'VectorSelector') return undefined;
      const node: SyntaxNode = n.node;
      const id = node.getChild('Identifier');
      const name = id ? expr.slice(id.from, id.to) : '';
      const fam = hostMetric(name);
      if (!fam && name !== 'up') return false;
      const matchersNode = node.getChild('LabelMatchers');
      const inner = matchersNode ? expr.slice(matchersNode.from + 1, matchersNode.to - 1).trim().replace(/,\s*$/, '') : '';
      const named = new Set<string>();
      if (matchersNode) {
        for (let c = matchersNode.firstChild; c; c = c.nextSibling) {
          const ln = c.getChild('LabelName');
          if (ln) named.add(expr.slice(ln.from, ln.to));
        }
      }
      const extra = [
        ...(named.has('plugin') ? [] : [`plugin="${scope.plugin}"`]),
        ...(named.has('environment') ? [] : [`environment="${scope.environment}"`]),
      ];
      const matchers = `{${[inner, ...extra].filter(Boolean).join(', ')}}`;
      let text: string;
      if (!fam) text = `up${matchers}`;
      else if (fam.type === 'histogram' && !fam.series.includes(name)) {
        text = `histogram_quantile(0.95, sum by (le) (rate(${fam.name}_bucket${matchers}[5m])))`;
      } else text = `${RUNBOOK_NAMES[name] ?? name}${matchers}`;
      edits.push({ from: node.from, to: node.to, text });
      return false;
    },
  });
  let out = expr;
  for (const e of edits.sort((a, b) => b.from - a.from)) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return out;
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
            annotations: {
              summary: a.title,
              description: `${a.title}: ${p.pluginName} in ${p.environment} (${a.condition})`,
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
          ...(keep.length > 0
            ? { metricRelabelings: [{ action: 'keep', sourceLabels: ['__name__'], regex: `(${keep.join('|')})` }] }
            : {}),
        },
      ],
    },
  };
}
