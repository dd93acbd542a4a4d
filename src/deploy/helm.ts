/**
 * The Helm chart: the same objects as k8s/<env>-*.yaml, with what differs
 * between environments (release name, environment, replicas, image,
 * resources) taken from values. The templates use only Go's text/template
 * builtins (no Sprig), and every literal `{{` of the plugin's own text is
 * escaped, so `helm template` renders exactly these objects.
 */
import type { Manifest } from '../core/manifest/index.js';
import { goTemplateLiteral } from './go-template.js';
import { configMap, deployment, networkPolicy, service, type EnvParams, type Peers } from './k8s.js';
import { prometheusRule, serviceMonitor, type MonitoringConfig } from './monitoring.js';
import { instanceName, kebabName, standardLabels, type Environment } from './names.js';
import { toYaml, toYamlDocuments } from './yaml-out.js';

export interface ChartInput {
  manifest: Manifest;
  environments: Environment[];
  replicas: Record<Environment, number>;
  repository: string;
  tag: string;
  peers: Peers;
  resources?: EnvParams['resources'];
  monitoring?: MonitoringConfig;
}

/**
 * Template actions in YAML the writer serialises: each action is first a
 * placeholder, a plain lower-case word the YAML writer never quotes, then
 * `apply` escapes every literal `{{` of the text (the plugin's own text:
 * its description, author, settings, alert titles, ...) and only then puts
 * the actions in. The placeholders' prefix is one that occurs nowhere in
 * the inputs (`zzhelm<k>q`, the smallest free k), so no text of the plugin
 * can spell a placeholder and become an action; the same inputs give the
 * same prefix, so the chart stays reproducible.
 */
export class Actions {
  private readonly list: string[] = [];
  private readonly marker: string;
  private readonly pattern: RegExp;
  /** inputs: every text the templates may carry (JSON of the manifest, the monitoring config, flags). */
  constructor(inputs: string) {
    let k = 0;
    while (inputs.includes(`zzhelm${k}q`)) k++;
    this.marker = `zzhelm${k}q`;
    this.pattern = new RegExp(`${this.marker}(\\d+)zz`, 'g');
  }
  /** A placeholder for the template action `{{ expr }}`. */
  of(expr: string): string {
    this.list.push(`{{ ${expr} }}`);
    return `${this.marker}${this.list.length - 1}zz`;
  }
  /** A placeholder for a value rendered as a quoted string. */
  quoted(expr: string): string {
    return this.of(`${expr} | printf "%q"`);
  }
  /** The template text: literal `{{` escaped, then the placeholders replaced. */
  apply(yamlText: string): string {
    return goTemplateLiteral(yamlText).replace(this.pattern, (_, i: string) => this.list[Number(i)]);
  }
}

function chartName(manifest: Manifest): string {
  return kebabName(manifest.plugin.name);
}

/** Chart files, relative to the chart folder. */
export function renderChart(i: ChartInput): Map<string, string> {
  const { manifest } = i;
  const version = String(manifest.plugin.version);
  const files = new Map<string, string>();
  files.set(
    'Chart.yaml',
    toYaml({
      apiVersion: 'v2',
      name: chartName(manifest),
      description: manifest.plugin.description,
      type: 'application',
      version,
      appVersion: version,
      ...(manifest.metadata.homepage ? { home: manifest.metadata.homepage } : {}),
    }),
  );

  // The defaults are staging's, the least: an install without -f never runs as production
  // (two replicas, production's alert scope) by mistake; production names its values file.
  const values: Record<string, unknown> = {
    environment: 'staging',
    replicaCount: i.replicas.staging,
    image: { repository: i.repository, tag: i.tag },
    ...(i.resources ? { resources: i.resources } : {}),
    ...(i.monitoring ? { monitoring: { enabled: true } } : {}),
  };
  files.set(
    'values.yaml',
    `# Defaults: staging's (the least). Production: -f values-production.yaml (per environment: -f values-<environment>.yaml)\n${toYaml(values)}`,
  );
  for (const env of i.environments) {
    files.set(
      `values-${env}.yaml`,
      `# helm upgrade --install ${instanceName(manifest.plugin.name, env)} <chart folder> -f <chart folder>/values-${env}.yaml\n${toYaml({
        environment: env,
        replicaCount: i.replicas[env],
        image: { tag: i.tag },
      })}`,
    );
  }

  const a = new Actions(JSON.stringify([manifest, i.monitoring ?? null, i.repository, i.tag, i.environments, i.peers]));
  const resources = i.resources
    ? Object.fromEntries(
        Object.entries(i.resources).map(([kind, m]) => [
          kind,
          Object.fromEntries(Object.keys(m ?? {}).map((k) => [k, a.quoted(valuesPath(['resources', kind, k]))])),
        ]),
      )
    : undefined;
  const params: EnvParams = {
    instance: a.of('.Release.Name'),
    labels: {
      ...standardLabels({ pluginName: manifest.plugin.name, version, instance: 'x', env: 'x', managedBy: 'x' }),
      'app.kubernetes.io/instance': a.of('.Release.Name'),
      'app.kubernetes.io/managed-by': a.of('.Release.Service'),
      'plexichat.io/environment': a.quoted('.Values.environment'),
    },
    replicas: a.of('.Values.replicaCount') as unknown as number,
    image: a.of('printf "%s:%s" .Values.image.repository .Values.image.tag | printf "%q"'),
    ...(resources ? { resources } : {}),
  };
  files.set('templates/configmap.yaml', a.apply(toYaml(configMap(manifest, params))));
  files.set('templates/deployment.yaml', a.apply(toYaml(deployment(manifest, params))));
  files.set('templates/service.yaml', a.apply(toYaml(service(params))));
  files.set('templates/networkpolicy.yaml', a.apply(toYaml(networkPolicy(params, i.peers))));
  if (i.monitoring) {
    const mp = {
      pluginName: manifest.plugin.name,
      environment: a.of('.Values.environment'),
      instance: params.instance,
      labels: params.labels,
    };
    const gate = (text: string) => `{{- if .Values.monitoring.enabled }}\n${text}{{- end }}\n`;
    files.set('templates/prometheusrule.yaml', gate(a.apply(toYamlDocuments([prometheusRule(i.monitoring, mp)]))));
    files.set('templates/servicemonitor.yaml', gate(a.apply(toYamlDocuments([serviceMonitor(i.monitoring, mp)]))));
  }
  return files;
}

/** `.Values.a.b`, or `index .Values.a "b-c"` for keys that are not identifiers (ephemeral-storage). */
function valuesPath(keys: string[]): string {
  if (keys.every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))) return `.Values.${keys.join('.')}`;
  return `index .Values ${keys.map((k) => JSON.stringify(k)).join(' ')}`;
}
