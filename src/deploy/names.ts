/**
 * Names and labels of the deploy objects, derived from the manifest. The
 * runbook calls the staging Deployment `advanced-analytics-staging` and the
 * production one `advanced-analytics`; the image is
 * `plexichat/advanced-analytics:<version>`.
 */
import { createHash } from 'node:crypto';

export const ENVIRONMENTS = ['staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Per-environment defaults (replicas). */
export const REPLICAS: Record<Environment, number> = { staging: 1, production: 2 };

/** The port the plugin host listens on inside the container. */
export const CONTAINER_PORT = 8080;
/** The Service's port. */
export const SERVICE_PORT = 80;
/** The host's health and metrics endpoints (the SDK's plugin host). */
export const HEALTH_PATH = '/healthz';
export const METRICS_PATH = '/metrics';
/** The numeric user and group the container runs as (numeric, so runAsNonRoot can check it). */
export const RUN_AS = 10001;

/** `advanced_analytics` → `advanced-analytics` (a DNS-1123 label). */
export function kebabName(pluginName: string): string {
  return pluginName.replace(/_+/g, '-').replace(/^-+|-+$/g, '');
}

/** A DNS-1123 label of at most 63 characters: long names keep a short hash of the whole. */
export function dnsLabel(name: string, max = 63): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${name.slice(0, max - 7).replace(/-+$/, '')}-${hash}`;
}

/** The Deployment's and Service's name in one environment. */
export function instanceName(pluginName: string, env: Environment): string {
  const base = kebabName(pluginName);
  return env === 'production' ? dnsLabel(base) : dnsLabel(`${base}-${env}`);
}

export interface Labels {
  [key: string]: string;
}

/** A Kubernetes label name (optional DNS prefix) and value. */
export const LABEL_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
/** A namespace name (DNS-1123 label). */
export const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `k=v,k2=v2` as labels, or why not. */
export function parseLabels(text: string): Labels | string {
  const out: Labels = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const k = pair.slice(0, eq).trim();
    const v = pair.slice(eq + 1).trim();
    if (eq < 0 || !LABEL_NAME.test(k) || !LABEL_VALUE.test(v) || v === '') return `'${pair}' is not a label name=value pair`;
    out[k] = v;
  }
  return out;
}

/** The standard app.kubernetes.io labels plus the plugin and environment. */
export function standardLabels(o: { pluginName: string; version: string; instance: string; env: string; managedBy: string }): Labels {
  return {
    'app.kubernetes.io/name': dnsLabel(kebabName(o.pluginName)),
    'app.kubernetes.io/instance': o.instance,
    'app.kubernetes.io/version': labelValue(o.version),
    'app.kubernetes.io/component': 'plugin',
    'app.kubernetes.io/part-of': 'plexichat',
    'app.kubernetes.io/managed-by': o.managedBy,
    'plexichat.io/plugin': o.pluginName,
    'plexichat.io/environment': o.env,
  };
}

/** The labels a selector uses: they never change across versions. */
export function selectorLabels(labels: Labels): Labels {
  return {
    'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
    'app.kubernetes.io/instance': labels['app.kubernetes.io/instance'],
  };
}

export const MANAGED_BY = 'plexichat-plugin';

/**
 * A label value (and image tag) from a version: semver's `+build` is not
 * allowed there, so `+` becomes `_` (as Helm charts do), at most 63 characters.
 */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, '');
}
