/**
 * Manifest rules: the schema (ajv) for structure and types, then the
 * catalogue, semver, PEP 440 and resource rules. Every diagnostic points
 * at the YAML node it is about.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access --
   the rules run on manifest data the generated schema validator has already checked (and report a wrong type once, through badTypes): they read its fields from a Record<string, any>. */
import semver from 'semver';
import { CATEGORIES, HOOK_NAMES, PERMISSION_NAMES } from '../catalog.js';
import { endpointProblem } from '../endpoint.js';
import { isPluginName, NAME_PATTERN } from '../plugin-name.js';
import { didYouMean } from '../suggest.js';
import type { Locator, Path } from '../yaml/locator.js';
import { KNOWN_KEYS } from './schema.js';
import { dotted, schemaIssues, typeName, valueAt, type SchemaIssue } from '../schema/issues.js';
import { validate as schemaValidator } from './schema-validator.generated.js';
import type { Diagnostic, Severity } from './types.js';

const PEP440_SPEC = String.raw`(~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+`;
const PEP440_REQUIREMENT = new RegExp(
  String.raw`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._,\s-]+\])?\s*(\(?\s*${PEP440_SPEC}(\s*,\s*${PEP440_SPEC})*\s*\)?)?\s*(;.+)?$`,
);
const PEP440_SPECIFIER_SET = new RegExp(String.raw`^\s*${PEP440_SPEC}(\s*,\s*${PEP440_SPEC})*\s*$`);
const CPU_QUANTITY = /^(\d+(\.\d+)?|\.\d+)m?$/;
const BYTES_QUANTITY = /^(\d+(\.\d+)?|\.\d+)([KMGTPE]i|[kKMGTPE]|e\d+)?$/;
const RESOURCE_KEYS = ['cpu', 'memory', 'storage', 'ephemeral-storage'];

const EXAMPLES: Record<string, string> = {
  'plugin.name': 'name: "my_plugin"',
  'plugin.version': 'version: "1.0.0"',
  'plugin.author': 'author: "Your Name"',
  'plugin.description': 'description: "What the plugin does, in one line"',
  'metadata.category': `category: "utility"   # one of: ${CATEGORIES.join(', ')}`,
  plugin: 'a `plugin:` block with name, version, author and description',
  metadata: 'a `metadata:` block with at least `category:`',
};

/** What a block's rules get: the manifest data, a way to report, and which paths had the wrong type. */
interface RuleContext {
  m: Record<string, any>;
  add: Add;
  /** False for a path (or its block) the schema already reported with the wrong type: later rules skip it. */
  ok: (path: Path) => boolean;
}

/**
 * The manifest rules after the schema, one function per manifest block, in
 * the order their diagnostics are reported. A rule is found by its code:
 * grep for 'INVALID_NAME' lands in the function that raises it.
 */
const BLOCK_RULES: readonly [block: string, rule: (cx: RuleContext) => void][] = [
  ['plugin', pluginRules],
  ['metadata', metadataRules],
  ['dependencies', dependencyRules],
  ['permissions', permissionRules],
  ['resources', resourceRules],
  ['hooks', hookRules],
  ['endpoints', endpointRules],
];

export function checkRules(data: unknown, at: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add: Add = (severity, code, path, message, hint, key = false) => {
    const { line, column } = at.pos(path, key);
    out.push({ severity, code, message, hint, file: at.file, line, column });
  };
  /** Paths whose type was wrong: the later rules skip them. */
  const badTypes = new Set<string>();
  for (const issue of schemaIssues(schemaValidator, data)) schemaError(issue, data, at, add, badTypes);
  const cx: RuleContext = {
    m: (data ?? {}) as Record<string, any>,
    add,
    ok: (path) => !badTypes.has(dotted(path)) && !badTypes.has(dotted(path.slice(0, 1))),
  };
  for (const [, rule] of BLOCK_RULES) rule(cx);
  return out;
}

const str = (v: unknown): v is string => typeof v === 'string';

/** plugin: name, version, author, description. */
function pluginRules({ m, add, ok }: RuleContext): void {
  const plugin = isObj(m.plugin) ? m.plugin : {};
  if (str(plugin.name) && ok(['plugin', 'name'])) {
    const n = plugin.name;
    if (!isPluginName(n)) {
      const fixed = n
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, '')
        .replace(/^(\d)/, 'p_$1')
        .slice(0, 64);
      add(
        'error',
        'INVALID_NAME',
        ['plugin', 'name'],
        `plugin.name '${n}' is not a valid plugin name (snake_case, 3-64 characters, ${NAME_PATTERN.source})`,
        isPluginName(fixed)
          ? `use snake_case, e.g. name: "${fixed}"`
          : 'use snake_case: lower-case letters, digits and single underscores, starting with a letter',
      );
    }
  }
  if (str(plugin.version) && ok(['plugin', 'version'])) {
    const v = plugin.version;
    if (!semver.valid(v) || v.startsWith('v') || v.startsWith('=')) {
      const coerced = semver.coerce(v)?.version;
      add(
        'error',
        'INVALID_VERSION',
        ['plugin', 'version'],
        `plugin.version '${v}' is not a semantic version`,
        coerced ? `use MAJOR.MINOR.PATCH, e.g. version: "${coerced}"` : 'use MAJOR.MINOR.PATCH, e.g. version: "1.0.0"',
      );
    }
  }
  for (const field of ['author', 'description'] as const) {
    if (str(plugin[field]) && ok(['plugin', field]) && plugin[field].trim() === '') {
      add(
        'error',
        field === 'author' ? 'EMPTY_AUTHOR' : 'EMPTY_DESCRIPTION',
        ['plugin', field],
        `plugin.${field} is empty`,
        `write it, e.g. ${EXAMPLES[`plugin.${field}`]}`,
      );
    }
  }
  if (str(plugin.description) && /\b(TODO|FIXME|TBD)\b/.test(plugin.description)) {
    add(
      'warning',
      'PLACEHOLDER',
      ['plugin', 'description'],
      'plugin.description still holds placeholder text',
      'describe what the plugin does; the marketplace shows it',
    );
  }
}

/** metadata: category, tags, homepage, license. */
function metadataRules({ m, add, ok }: RuleContext): void {
  const meta = isObj(m.metadata) ? m.metadata : {};
  if (str(meta.category) && ok(['metadata', 'category']) && !(CATEGORIES as readonly string[]).includes(meta.category)) {
    add(
      'error',
      'UNKNOWN_CATEGORY',
      ['metadata', 'category'],
      `unknown category '${meta.category}'${didYouMean(meta.category, CATEGORIES)}`,
      `use one of: ${CATEGORIES.join(', ')}`,
    );
  }
  if (Array.isArray(meta.tags)) {
    dupes(meta.tags, (i, t) => add('warning', 'DUPLICATE_TAG', ['metadata', 'tags', i], `tag '${t}' is listed twice`, 'remove the duplicate'));
    meta.tags.forEach((t: unknown, i: number) => {
      if (str(t) && t.trim() === '') add('error', 'EMPTY_TAG', ['metadata', 'tags', i], 'a tag is empty', 'remove it or give it a value');
    });
  }
  if (str(meta.homepage) && ok(['metadata', 'homepage']) && !isHttpUrl(meta.homepage)) {
    add(
      'error',
      'INVALID_URL',
      ['metadata', 'homepage'],
      `metadata.homepage '${meta.homepage}' is not an http(s) URL`,
      'use a full URL such as https://example.com/my-plugin',
    );
  }
  if (str(meta.license) && meta.license.trim() === '') {
    add('error', 'EMPTY_LICENSE', ['metadata', 'license'], 'metadata.license is empty', 'use an SPDX identifier such as MIT or Apache-2.0');
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** The normalized project name of a PEP 508 requirement (PEP 503: lowercase, runs of -_. as one -): `Foo_Bar[x]>=1` -> `foo-bar`. */
export function requirementName(requirement: string): string {
  return requirement
    .trim()
    .split(/[\s[(~=!<>;@]/)[0]
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
}

/** dependencies: core and python ranges, PEP 440 packages. */
function dependencyRules({ m, add, ok }: RuleContext): void {
  const deps = isObj(m.dependencies) ? m.dependencies : {};
  for (const field of ['core', 'python'] as const) {
    const v = deps[field];
    if (str(v) && ok(['dependencies', field])) {
      const isRange = semver.validRange(v, { loose: true }) !== null || (field === 'python' && PEP440_SPECIFIER_SET.test(v));
      if (!isRange) {
        add(
          'error',
          'INVALID_RANGE',
          ['dependencies', field],
          `dependencies.${field} '${v}' is not a version range`,
          `use a range such as ${field} : ">=${field === 'core' ? '2.0.0' : '3.8'}"`.replace(' :', ':'),
        );
      }
    }
  }
  if (Array.isArray(deps.packages)) {
    const names: string[] = [];
    deps.packages.forEach((p: unknown, i: number) => {
      if (!str(p)) return;
      if (!PEP440_REQUIREMENT.test(p.trim())) {
        add(
          'error',
          'INVALID_REQUIREMENT',
          ['dependencies', 'packages', i],
          `'${p}' is not a PEP 440 requirement`,
          'write it as name[extras]>=version, e.g. pandas>=1.3.0',
        );
        names.push('');
      } else {
        names.push(requirementName(p));
      }
    });
    dupes(names, (i, n) => {
      if (n) add('warning', 'DUPLICATE_PACKAGE', ['dependencies', 'packages', i], `package '${n}' is listed twice`, 'keep one requirement per package');
    });
  }
}

/** permissions: required and optional, from the catalogue, each once. */
function permissionRules({ m, add }: RuleContext): void {
  const perms = isObj(m.permissions) ? m.permissions : {};
  for (const kind of ['required', 'optional'] as const) {
    const list = perms[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((p: unknown, i: number) => {
      if (str(p) && !PERMISSION_NAMES.includes(p)) {
        add(
          'error',
          'UNKNOWN_PERMISSION',
          ['permissions', kind, i],
          `unknown permission '${p}'${didYouMean(p, PERMISSION_NAMES)}`,
          'use a permission from the catalogue (docs/catalogues.md)',
        );
      }
    });
    dupes(list, (i, p) => add('warning', 'DUPLICATE_PERMISSION', ['permissions', kind, i], `permission '${p}' is listed twice`, 'remove the duplicate'));
  }
  if (Array.isArray(perms.required) && Array.isArray(perms.optional)) {
    perms.optional.forEach((p: unknown, i: number) => {
      if (perms.required.includes(p)) {
        add('warning', 'PERMISSION_BOTH', ['permissions', 'optional', i], `permission '${String(p)}' is both required and optional`, 'keep it in one list');
      }
    });
  }
}

/** resources: known keys, valid quantities, requests within limits. */
function resourceRules({ m, add }: RuleContext): void {
  const res = isObj(m.resources) ? m.resources : {};
  const parsed: Record<string, Record<string, number>> = { limits: {}, requests: {} };
  for (const kind of ['limits', 'requests'] as const) {
    const block = res[kind];
    if (!isObj(block)) continue;
    for (const [k, v] of Object.entries(block)) {
      const path = ['resources', kind, k];
      if (!RESOURCE_KEYS.includes(k)) {
        add('warning', 'UNKNOWN_RESOURCE', path, `unknown resource '${k}'${didYouMean(k, RESOURCE_KEYS)}`, `use ${RESOURCE_KEYS.join(', ')}`, true);
        continue;
      }
      const q = String(v);
      const pattern = k === 'cpu' ? CPU_QUANTITY : BYTES_QUANTITY;
      if (!pattern.test(q)) {
        add(
          'error',
          'INVALID_QUANTITY',
          path,
          `resources.${kind}.${k} '${q}' is not a valid quantity`,
          k === 'cpu' ? 'use cores or millicores, e.g. "500m" or "1"' : 'use a byte quantity, e.g. "256Mi" or "1Gi"',
        );
        continue;
      }
      parsed[kind][k] = k === 'cpu' ? parseCpu(q) : parseBytes(q);
    }
  }
  for (const [k, req] of Object.entries(parsed.requests)) {
    const lim = parsed.limits[k];
    if (lim !== undefined && req > lim) {
      add(
        'error',
        'REQUEST_OVER_LIMIT',
        ['resources', 'requests', k],
        `resources.requests.${k} is larger than resources.limits.${k}`,
        'a request must not exceed its limit',
      );
    }
  }
}

/** hooks: from the catalogue, each once. */
function hookRules({ m, add }: RuleContext): void {
  if (!Array.isArray(m.hooks)) return;
  m.hooks.forEach((h: unknown, i: number) => {
    if (str(h) && !HOOK_NAMES.includes(h)) {
      add('error', 'UNKNOWN_HOOK', ['hooks', i], `unknown hook '${h}'${didYouMean(h, HOOK_NAMES)}`, 'use a hook from the catalogue (docs/catalogues.md)');
    }
  });
  dupes(m.hooks, (i, h) => add('warning', 'DUPLICATE_HOOK', ['hooks', i], `hook '${h}' is listed twice`, 'remove the duplicate'));
}

/** endpoints: paths that stay under /api/v1/ (core/endpoint.ts), each once. */
function endpointRules({ m, add }: RuleContext): void {
  if (!Array.isArray(m.endpoints)) return;
  m.endpoints.forEach((e: unknown, i: number) => {
    if (!str(e)) return;
    const problem = endpointProblem(e);
    if (problem) add('error', 'INVALID_ENDPOINT', ['endpoints', i], `endpoint '${e}' ${problem.reason}`, problem.hint);
  });
  dupes(m.endpoints, (i, e) => add('warning', 'DUPLICATE_ENDPOINT', ['endpoints', i], `endpoint '${e}' is listed twice`, 'remove the duplicate'));
}

type Add = (severity: Severity, code: string, path: Path, message: string, hint?: string, key?: boolean) => void;

function schemaError(e: SchemaIssue, data: unknown, at: Locator, add: Add, badTypes: Set<string>): void {
  const path = e.path;
  const name = dotted(path);
  switch (e.keyword) {
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const full = dotted([...path, missing]);
      const where = path.length ? `under \`${name}:\`` : 'at the top level';
      add('error', 'MISSING_FIELD', path, `missing required field '${full}'`, `add ${EXAMPLES[full] ?? `\`${missing}:\``} ${where}`, true);
      return;
    }
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = KNOWN_KEYS[name] ?? [];
      add(
        'warning',
        'UNKNOWN_FIELD',
        [...path, extra],
        `unknown field '${dotted([...path, extra])}'${didYouMean(extra, known)}`,
        known.length ? `fields here: ${known.join(', ')}` : undefined,
        true,
      );
      return;
    }
    case 'type': {
      badTypes.add(name);
      const expected = String((e.params as { type: string | string[] }).type);
      const actual = valueAt(data, path);
      const src = at.source(path);
      let hint = `write ${name} as ${expected === 'array' ? 'a list' : expected === 'object' ? 'a mapping' : `a ${expected}`}`;
      if (expected === 'string' && (typeof actual === 'number' || typeof actual === 'boolean')) {
        hint = `quote it: "${src ?? String(actual)}" (YAML reads ${src ?? String(actual)} as ${typeName(actual)}${typeof actual === 'number' && src && src !== String(actual) ? ` ${actual}` : ''})`;
      }
      add(
        'error',
        'WRONG_TYPE',
        path,
        `${name || 'the manifest'} must be ${expected === 'array' ? 'a list' : expected === 'object' ? 'a mapping' : `a ${expected.replace(',', ' or ')}`}, not ${typeName(actual)}`,
        hint,
      );
      return;
    }
    default:
      add('error', 'SCHEMA', path, `${name || 'the manifest'} ${e.message}`);
  }
}

function isObj(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dupes(list: unknown[], report: (index: number, value: string) => void): void {
  const seen = new Set<unknown>();
  list.forEach((v, i) => {
    if (typeof v !== 'string') return;
    if (seen.has(v)) report(i, v);
    seen.add(v);
  });
}

function parseCpu(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

function parseBytes(q: string): number {
  const m = /^([\d.]+)(.*)$/.exec(q);
  if (!m) return NaN;
  const n = Number(m[1]);
  const units: Record<string, number> = {
    '': 1,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  if (m[2].startsWith('e')) return n * 10 ** Number(m[2].slice(1));
  return n * (units[m[2]] ?? NaN);
}
