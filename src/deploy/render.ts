/**
 * Everything `deploy render` writes, as pure functions of the manifest,
 * the list of files `build` packs, the SDK's files and the flags: the same
 * inputs give the same bytes. Paths are relative to the project root (the
 * Docker build context), with forward slashes.
 */
import type { Manifest } from '../core/manifest/index.js';
import { DEFAULT_BASE_IMAGE, renderDockerfile, renderDockerignore } from './dockerfile.js';
import { withHeader } from './header.js';
import { renderChart } from './helm.js';
import { DEFAULT_PEERS, configMap, containerResources, deployment, networkPolicy, service, type EnvParams, type Peers } from './k8s.js';
import { prometheusRule, serviceMonitor, type MonitoringConfig } from './monitoring.js';
import { ENVIRONMENTS, MANAGED_BY, REPLICAS, instanceName, kebabName, labelValue, standardLabels, type Environment } from './names.js';
import { toYamlDocuments } from './yaml-out.js';

export interface SdkFile {
  /** Relative to the SDK's root (the folder holding plexichat_plugin_sdk/). */
  path: string;
  content: string;
}

export interface DeployInput {
  manifest: Manifest;
  /** The files `build` packs (its shared file list), relative to the project root. */
  packed: readonly string[];
  sdk: readonly SdkFile[];
  monitoring?: MonitoringConfig;
  environments: readonly Environment[];
  /** Output folder relative to the project root, posix, '' for the root itself. */
  outDir: string;
  /** Image repository (default plexichat/<name>). */
  image?: string;
  baseImage?: string;
  helm?: boolean;
  /** Who the NetworkPolicy admits (default DEFAULT_PEERS). */
  peers?: Peers;
}

export interface RenderedFile {
  path: string;
  content: string;
}

export function defaultRepository(manifest: Manifest): string {
  return `plexichat/${kebabName(manifest.plugin.name)}`;
}

function prefix(outDir: string): string {
  return outDir === '' ? '' : `${outDir.replace(/\/+$/, '')}/`;
}

/** Where the vendored SDK goes (inside the build context). */
export function sdkDir(outDir: string): string {
  return `${prefix(outDir)}.plexichat/sdk`;
}

/**
 * Every path deploy render may write, whatever the flags: never part of
 * what the image copies, so the ignore file does not depend on --env or --helm.
 */
export function reservedPaths(outDir: string, manifest: Manifest): { files: Set<string>; dirs: string[] } {
  const p = prefix(outDir);
  const files = new Set([`${p}Dockerfile`, `${p}.dockerignore`, `${p}Dockerfile.dockerignore`]);
  for (const env of ENVIRONMENTS) {
    files.add(`${p}k8s/${env}-deployment.yaml`);
    files.add(`${p}k8s/${env}-monitoring.yaml`);
  }
  return { files, dirs: [`${sdkDir(outDir)}/`, `${p}helm/${kebabName(manifest.plugin.name)}/`] };
}

export function renderDeploy(i: DeployInput): RenderedFile[] {
  const { manifest } = i;
  const p = prefix(i.outDir);
  const version = String(manifest.plugin.version);
  const tag = labelValue(version);
  const repository = i.image ?? defaultRepository(manifest);
  const reserved = reservedPaths(i.outDir, manifest);
  const packed = i.packed.filter((f) => !reserved.files.has(f) && !reserved.dirs.some((d) => f.startsWith(d)));
  const files: RenderedFile[] = [];
  const add = (path: string, body: string) => files.push({ path, content: withHeader(body) });

  add(`${p}Dockerfile`, renderDockerfile({ manifest, baseImage: i.baseImage ?? DEFAULT_BASE_IMAGE, sdkDir: sdkDir(i.outDir) }));
  add(p === '' ? '.dockerignore' : `${p}Dockerfile.dockerignore`, renderDockerignore(packed, sdkDir(i.outDir)));
  for (const f of i.sdk) add(`${sdkDir(i.outDir)}/${f.path}`, f.content);

  const resources = containerResources(manifest);
  for (const env of i.environments) {
    const instance = instanceName(manifest.plugin.name, env);
    const labels = standardLabels({ pluginName: manifest.plugin.name, version, instance, env, managedBy: MANAGED_BY });
    const params: EnvParams = { instance, labels, replicas: REPLICAS[env], image: `${repository}:${tag}`, ...(resources ? { resources } : {}) };
    add(
      `${p}k8s/${env}-deployment.yaml`,
      `# ${manifest.plugin.name} ${version} in ${env}: kubectl apply -f ${p}k8s/${env}-deployment.yaml\n${toYamlDocuments([
        configMap(manifest, params),
        deployment(manifest, params),
        service(params),
        networkPolicy(params, i.peers ?? DEFAULT_PEERS),
      ])}`,
    );
    if (i.monitoring) {
      const mp = { pluginName: manifest.plugin.name, environment: env, instance, labels };
      add(
        `${p}k8s/${env}-monitoring.yaml`,
        `# Alerts and scraping for ${instance} (needs the Prometheus Operator's CRDs), from config/monitoring.yaml\n${toYamlDocuments([
          prometheusRule(i.monitoring, mp),
          serviceMonitor(i.monitoring, mp),
        ])}`,
      );
    }
  }

  if (i.helm) {
    const chart = renderChart({
      manifest,
      environments: [...i.environments],
      replicas: REPLICAS,
      repository,
      tag,
      peers: i.peers ?? DEFAULT_PEERS,
      ...(resources ? { resources } : {}),
      ...(i.monitoring ? { monitoring: i.monitoring } : {}),
    });
    for (const [rel, body] of chart) add(`${p}helm/${kebabName(manifest.plugin.name)}/${rel}`, body);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
