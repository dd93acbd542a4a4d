/**
 * Shared by the deploy tests: render a project, read what was written,
 * validate objects against the Kubernetes schemas (kubernetes-models,
 * Kubernetes 1.34's OpenAPI) and the Prometheus Operator's CRDs, and render
 * the Helm chart's templates with Go's own text/template (compiled to WASM).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parse as goTemplate } from '@evertdespiegeleer/go-template';
import { listFiles } from '../helpers/temp-project.js';

export { RUNBOOK_PLUGIN as SHARED_RUNBOOK } from '../helpers/requires.js';
export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/deploy');

/** Every file below dir with its text. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await listFiles(dir)) out.set(f, await fs.readFile(path.join(dir, f), 'utf8'));
  return out;
}

/** The YAML documents of a file, as objects. */
export function yamlObjects(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(d.errors[0].message);
    return d.toJS() as Record<string, unknown>;
  });
}

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** Validate one object against its schema; throws with the schema's message. */
export function validateObject(obj: Record<string, unknown>): void {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema for ${key} (not a stable API version this renderer should emit)`);
  new Model(obj).validate();
}

/** Helm's deep merge of values files (maps merge, everything else replaces). */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = mergeValues(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

/** `helm template <release> <chart> -f values-<env>.yaml`, with text/template's builtins. */
export async function renderChart(chartDir: string, release: string, env: string): Promise<Record<string, unknown>[]> {
  const chart = parseYaml(await fs.readFile(path.join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const values = mergeValues(
    parseYaml(await fs.readFile(path.join(chartDir, 'values.yaml'), 'utf8')),
    parseYaml(await fs.readFile(path.join(chartDir, `values-${env}.yaml`), 'utf8')),
  );
  const data = {
    Values: values,
    Release: { Name: release, Namespace: 'default', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const objects: Record<string, unknown>[] = [];
  const templates = (await fs.readdir(path.join(chartDir, 'templates'))).filter((f) => f.endsWith('.yaml')).sort();
  for (const t of templates) {
    const text = await goTemplate(await fs.readFile(path.join(chartDir, 'templates', t), 'utf8'), data);
    objects.push(...yamlObjects(text).filter((o) => o !== null));
  }
  return objects;
}

export async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Compare rendered files with the golden copy in test/fixtures/deploy/golden/<name>.
 * UPDATE_GOLDEN=1 rewrites the golden copy instead (review the diff before committing).
 */
export async function expectGolden(name: string, files: Map<string, string>): Promise<{ missing: string[]; extra: string[]; differ: string[] }> {
  const dir = path.join(FIXTURES, 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') {
    await fs.rm(dir, { recursive: true, force: true });
    for (const [f, text] of files) {
      await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await fs.writeFile(path.join(dir, f), text);
    }
  }
  const golden = await readTree(dir);
  return {
    missing: [...golden.keys()].filter((f) => !files.has(f)),
    extra: [...files.keys()].filter((f) => !golden.has(f)),
    differ: [...files.keys()].filter((f) => golden.has(f) && golden.get(f) !== files.get(f)),
  };
}
