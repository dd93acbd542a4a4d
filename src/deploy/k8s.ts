/**
 * The Kubernetes objects of one environment: a ConfigMap with the manifest
 * (the SDK reads it through MANIFEST_JSON_ENV), a Deployment
 * whose container gets the manifest's resources and probes on the host's
 * health endpoint, and a Service. Only stable API versions (v1, apps/v1).
 * The object types come from kubernetes-models, so a misspelt field does
 * not compile.
 */
import { createHash } from 'node:crypto';
import type { IConfigMap, IService } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { Manifest } from '../core/manifest/index.js';
import { MANIFEST_JSON_ENV } from '../python/pytest.js';
import { AUTH_SECRET_KEY, IMAGE_AUTH_DIR, IMAGE_CONFIG_DIR } from './dockerfile.js';
import { CONTAINER_PORT, HEALTH_PATH, RUN_AS, SERVICE_PORT, selectorLabels, type Labels } from './names.js';

/** What varies between environments (and what the Helm chart takes from its values). */
export interface EnvParams {
  /** Object name (the Helm release name). */
  instance: string;
  labels: Labels;
  replicas: number;
  image: string;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

/** The manifest as the pods read it. */
export function manifestJson(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function configSha256(manifest: Manifest): string {
  return createHash('sha256').update(manifestJson(manifest)).digest('hex');
}

/** The manifest's resources as Kubernetes quantities (strings). */
export function containerResources(manifest: Manifest): EnvParams['resources'] {
  const r = manifest.resources;
  if (!r || (!r.limits && !r.requests)) return undefined;
  const conv = (m?: Record<string, string | number>) => (m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v).trim()])) : undefined);
  const out: NonNullable<EnvParams['resources']> = {};
  const limits = conv(r.limits);
  const requests = conv(r.requests);
  if (limits && Object.keys(limits).length > 0) out.limits = limits;
  if (requests && Object.keys(requests).length > 0) out.requests = requests;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function configMapName(instance: string): string {
  return `${instance}-config`;
}

/**
 * The Kubernetes Secret holding the plugin's request-signing secret (key
 * `secret`), which the platform signs each call with and the SDK host checks.
 * deploy render only refers to it: the value never appears in a rendered
 * file (docs/deploy.md says how to create it).
 */
export function authSecretName(instance: string): string {
  return `${instance}-auth`;
}

/** Who may connect to the plugin's pods: the platform and the metrics scraper (namespace and pod labels). */
export interface Peers {
  platform: Peer;
  scraper: Peer;
}
export interface Peer {
  namespace: string;
  pods: Labels;
}

/** Defaults: PlexiChat in namespace `plexichat`, Prometheus in `monitoring` (override with the flags). */
export const DEFAULT_PEERS: Peers = {
  platform: { namespace: 'plexichat', pods: { 'app.kubernetes.io/name': 'plexichat' } },
  scraper: { namespace: 'monitoring', pods: { 'app.kubernetes.io/name': 'prometheus' } },
};

export function configMap(manifest: Manifest, p: EnvParams): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: configMapName(p.instance), labels: p.labels },
    data: { 'manifest.json': manifestJson(manifest) },
  };
}

export function deployment(manifest: Manifest, p: EnvParams): IDeployment {
  const probe = { httpGet: { path: HEALTH_PATH, port: 'http' }, timeoutSeconds: 3 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: p.instance, labels: p.labels },
    spec: {
      replicas: p.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(p.labels) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: p.labels,
          // A changed manifest rolls the pods.
          annotations: { 'plexichat.io/config-sha256': configSha256(manifest) },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            // The Secret's file is readable by this group only (defaultMode 0440 below).
            fsGroup: RUN_AS,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'plugin',
              image: p.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [{ name: 'http', containerPort: CONTAINER_PORT, protocol: 'TCP' }],
              env: [{ name: MANIFEST_JSON_ENV, value: `${IMAGE_CONFIG_DIR}/manifest.json` }],
              ...(p.resources ? { resources: p.resources } : {}),
              startupProbe: { ...probe, periodSeconds: 2, failureThreshold: 30 },
              livenessProbe: { ...probe, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: IMAGE_CONFIG_DIR, readOnly: true },
                { name: 'auth', mountPath: IMAGE_AUTH_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: configMapName(p.instance) } },
            {
              name: 'auth',
              secret: { secretName: authSecretName(p.instance), items: [{ key: AUTH_SECRET_KEY, path: AUTH_SECRET_KEY }], defaultMode: 0o440 },
            },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

export function service(p: EnvParams): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: p.instance, labels: p.labels },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(p.labels),
      ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/**
 * Only the platform and the metrics scraper reach the pods (on the host's
 * port); everything else in the cluster is refused. The host checks each
 * call's signature as well: this keeps the rest of the cluster from even
 * trying, and keeps /metrics and /healthz to the scraper (the kubelet's
 * probes are not subject to NetworkPolicy).
 */
export function networkPolicy(p: EnvParams, peers: Peers): INetworkPolicy {
  const from = (peer: Peer) => ({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
    podSelector: { matchLabels: peer.pods },
  });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: p.instance, labels: p.labels },
    spec: {
      podSelector: { matchLabels: selectorLabels(p.labels) },
      policyTypes: ['Ingress'],
      ingress: [{ from: [from(peers.platform), from(peers.scraper)], ports: [{ port: 'http', protocol: 'TCP' }] }],
    },
  };
}
