/**
 * The plugin host's Prometheus metrics, and the names the runbook's
 * monitoring.yaml uses for them. An alert written with a runbook name
 * (`plugin_errors`) is rendered with the series the host really exports
 * (`plugin_errors_total`). The host's side: docs/dev.md ("Metrics").
 */

export interface HostMetric {
  /** The family name the host exports. */
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  /** Series names of the family (a histogram has _bucket, _sum and _count). */
  series: string[];
}

function family(name: string, type: HostMetric['type']): HostMetric {
  const series =
    type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
  return { name, type, series };
}

export const HOST_METRICS: readonly HostMetric[] = [
  family('plugin_api_calls_total', 'counter'),
  family('plugin_errors_total', 'counter'),
  family('plugin_hook_calls_total', 'counter'),
  family('plugin_active_users', 'gauge'),
  family('plugin_response_time_seconds', 'histogram'),
  family('plugin_loaded', 'gauge'),
  family('plugin_info', 'gauge'),
];

/**
 * Runbook name → the host's family. `plugin_performance` (in the runbook's
 * metrics list) and `plugin_response_time` (in its alert) are both the
 * response time.
 */
export const RUNBOOK_NAMES: Readonly<Record<string, string>> = {
  plugin_active_users: 'plugin_active_users',
  plugin_api_calls: 'plugin_api_calls_total',
  plugin_errors: 'plugin_errors_total',
  plugin_hook_calls: 'plugin_hook_calls_total',
  plugin_performance: 'plugin_response_time_seconds',
  plugin_response_time: 'plugin_response_time_seconds',
};

/** The host family a name means (a runbook name or one of the host's own), or undefined. */
export function hostMetric(name: string): HostMetric | undefined {
  const fam = RUNBOOK_NAMES[name] ?? name;
  return HOST_METRICS.find((m) => m.name === fam || m.series.includes(name));
}
