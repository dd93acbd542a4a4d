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
import type { Manifest } from '../core/manifest/index.js';
import { MANIFEST_JSON_ENV } from '../python/pytest.js';
import { IMAGE_CONFIG_DIR } from './dockerfile.js';
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
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: configMapName(p.instance) } },
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
