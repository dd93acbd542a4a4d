/**
 * config/monitoring.yaml, in-process: the schema (schemas/files/monitoring.schema.json)
 * and the rules after it, every error at file:line:column.
 */
import { describe, expect, it } from 'vitest';
import { parseMonitoring } from '../../../src/deploy/monitoring.js';

const good = `monitoring:
  metrics: [plugin_errors, plugin_api_calls]
  alerts:
    - name: "High Error Rate"
      condition: "rate(plugin_errors[5m]) > 0.1"
      severity: "warning"
      for: 5m
  labels: { release: prometheus }
`;

const codes = (text: string) => parseMonitoring(text).diagnostics.map((d) => [d.code, d.line, d.column, d.message]);

describe('config/monitoring.yaml', () => {
  it('reads a good file into the model', () => {
    const r = parseMonitoring(good);
    expect(r.diagnostics).toEqual([]);
    expect(r.config).toEqual({
      metrics: ['plugin_errors_total', 'plugin_api_calls_total'],
      alerts: [{ title: 'High Error Rate', alert: 'HighErrorRate', condition: 'rate(plugin_errors[5m]) > 0.1', severity: 'warning', for: '5m' }],
      labels: { release: 'prometheus' },
    });
  });

  it('empty lists and an absent severity are fine', () => {
    const r = parseMonitoring('monitoring:\n  metrics:\n  alerts:\n    - name: Down\n      condition: up == 0\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.alerts[0]).toMatchObject({ alert: 'Down', severity: 'warning' });
    expect(r.config?.metrics).toEqual([]);
  });

  it("wrong types: each at its node, in the file's own words", () => {
    expect(codes('monitoring:\n  metrics: plugin_errors\n')).toEqual([['MONITORING_SHAPE', 2, 12, 'monitoring.metrics must be a list of metric names']]);
    expect(codes('monitoring:\n  alerts: {}\n')).toEqual([['MONITORING_SHAPE', 2, 11, 'monitoring.alerts must be a list']]);
    expect(codes('monitoring:\n  alerts:\n    - just a string\n')).toEqual([['MONITORING_SHAPE', 3, 7, 'an alert must be a mapping']]);
    expect(codes('monitoring:\n  labels: [a]\n')).toEqual([['MONITORING_SHAPE', 2, 11, 'monitoring.labels must be a mapping of label names to values']]);
    expect(codes('monitoring:\n  labels: { release: 1 }\n')).toEqual([['INVALID_LABEL', 2, 22, "'release: 1' is not a valid Kubernetes label"]]);
    expect(codes('monitoring:\n  metrics: [5]\n')).toEqual([['UNKNOWN_METRIC', 2, 13, "'5' is not a metric the plugin host exports"]]);
    expect(codes('monitoring:\n  alerts:\n    - name: A\n      condition: up == 0\n      for: 5\n')).toEqual([
      ['ALERT_FOR', 5, 12, "for '5' is not a Prometheus duration"],
    ]);
  });

  it('missing required: no monitoring block, an alert without name or condition', () => {
    for (const text of ['', 'monitor:\n  alerts: []\n', 'monitoring: 3\n', '- a\n']) {
      const d = parseMonitoring(text).diagnostics;
      expect(d, text).toHaveLength(1);
      expect(d[0]).toMatchObject({ code: 'MONITORING_SHAPE', message: 'config/monitoring.yaml must hold a `monitoring:` block', line: 1, column: 1 });
    }
    expect(codes('monitoring:\n  alerts:\n    - severity: info\n')).toEqual([
      ['ALERT_NAME', 3, 7, 'the alert needs a name with letters or digits'],
      ['ALERT_CONDITION', 3, 7, 'the alert needs a condition (a PromQL expression)'],
    ]);
  });

  it('unknown keys: at the key, at every level', () => {
    expect(codes(`${good}extra: 1\n`)).toEqual([['MONITORING_UNKNOWN_KEY', 9, 1, "unknown top-level key 'extra'"]]);
    expect(codes(good.replace('  labels:', '  label:'))).toEqual([['MONITORING_UNKNOWN_KEY', 8, 3, "unknown key 'monitoring.label'"]]);
    expect(codes(good.replace('      for: 5m', '      fr: 5m'))).toEqual([['MONITORING_UNKNOWN_KEY', 7, 7, "unknown key 'fr' in an alert"]]);
  });

  it('the rules after the schema: metric names, labels, severities, names, PromQL', () => {
    expect(codes(good.replace('severity: "warning"', 'severity: "page"'))).toEqual([
      ['ALERT_SEVERITY', 6, 17, "severity 'page' is not one of critical, warning, info"],
    ]);
    expect(codes(good.replace('plugin_api_calls]', 'plugin_speed]'))).toEqual([
      ['UNKNOWN_METRIC', 2, 28, "'plugin_speed' is not a metric the plugin host exports"],
    ]);
    expect(codes(good.replace('release: prometheus', 'release: "a b"'))).toEqual([['INVALID_LABEL', 8, 22, "'release: a b' is not a valid Kubernetes label"]]);
    expect(codes(good.replace('rate(plugin_errors[5m]) > 0.1', 'rate(plugin_errors[5m] >'))[0]?.slice(0, 3)).toEqual(['ALERT_CONDITION', 5, 18]);
    const twice = `${good}    - name: "High error rate"\n      condition: up == 0\n`.replace('  labels: { release: prometheus }\n', '');
    expect(codes(twice)).toEqual([['ALERT_DUPLICATE', 8, 13, 'two alerts are named HighErrorRate']]);
  });

  it("every problem at once, sorted by position; YAML errors with the file's codes", () => {
    const d = codes('monitoring:\n  metrics: [nope]\n  alerts:\n    - name: A\n      condition: up == 0\n      severity: loud\n  extra: 1\n');
    expect(d.map((x) => x[0])).toEqual(['UNKNOWN_METRIC', 'ALERT_SEVERITY', 'MONITORING_UNKNOWN_KEY']);
    expect(codes('monitoring:\n  metrics: []\n  metrics: []\n')[0]).toEqual([
      'MONITORING_DUPLICATE_KEY',
      3,
      3,
      expect.stringContaining("the key 'metrics' appears twice"),
    ]);
    expect(codes('monitoring: [\n')[0]?.[0]).toBe('MONITORING_SYNTAX');
  });
});
