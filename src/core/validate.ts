/**
 * `validate`: the manifest rules plus the cross-checks between the
 * manifest and the code in src/.
 */
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
// The manifest modules (yaml, semver, the schema) are imported after the
// Python scan has been started, so their loading overlaps the scan.
import type { Diagnostic, Manifest, ParsedManifest } from './manifest/index.js';
import type { Locator } from './manifest/rules.js';
import { MANIFEST_PATH } from './manifest/types.js';
import { scanProject, type DecoratorUse, type ScanOutcome } from '../python/scan.js';
import { HOOK_NAMES, PERMISSION_NAMES } from './catalog.js';
import { didYouMean } from './suggest.js';
import { MIN_PYTHON_TEXT } from '../python/version.js';

export interface ValidationReport {
  ok: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  manifest?: Manifest;
  /** 'skipped' when no Python interpreter was found (a warning says so). */
  codeChecks: 'ran' | 'skipped';
}

export interface ValidateOptions {
  env: NodeJS.ProcessEnv;
  /** Interpreter for the code checks (default: discovery as in `test`). */
  python?: string;
  /** Treat warnings as errors. */
  strict?: boolean;
  /** The manifest when the caller is loading it anyway (build needs its name early). */
  manifest?: Promise<ParsedManifest>;
}

function byLocation(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code);
}

export async function validateProject(dir: string, opts: ValidateOptions): Promise<ValidationReport> {
  const hasSrc = await isDir(path.join(dir, 'src'));
  // Start the one Python process first; it runs while the manifest is read.
  let scanning: Promise<ScanOutcome> | undefined;
  if (hasSrc && (await exists(path.join(dir, MANIFEST_PATH)))) scanning = scanProject(dir, { env: opts.env, python: opts.python });
  const parsed = opts.manifest ?? import('./manifest/index.js').then(({ loadManifest }) => loadManifest(dir));
  const { manifest, diagnostics, data, locator } = await parsed;
  const all: Diagnostic[] = [...diagnostics];
  let codeChecks: ValidationReport['codeChecks'] = 'skipped';

  // The code checks need the lists even when other manifest rules failed.
  const lists = manifest ?? (data ? listsOf(data) : undefined);
  if (!hasSrc) {
    all.push({
      severity: 'error',
      code: 'MISSING_SOURCE',
      message: 'the plugin has no src/ directory',
      hint: 'put the plugin code in src/plugin.py (see `plexichat-plugin init`)',
      file: 'src',
      line: 0,
      column: 0,
    });
  }
  if (lists && scanning) {
    const outcome = await scanning;
    if (!outcome.ok) {
      all.push({
        severity: 'warning',
        code: 'CODE_CHECKS_SKIPPED',
        message:
          outcome.reason === 'not-found'
            ? 'no Python interpreter found: the code checks (hooks, endpoints, permissions used in src/) were skipped'
            : `no usable Python interpreter (${outcome.tried.join(', ')}${outcome.detail ? `: ${outcome.detail}` : ''}): the code checks were skipped`,
        hint: `install python3 (${MIN_PYTHON_TEXT} or newer), or set PLEXICHAT_PYTHON to an interpreter`,
        file: 'src',
        line: 0,
        column: 0,
      });
    } else {
      const scan = outcome.result;
      codeChecks = 'ran';
      all.push(...crossCheck(lists, scan.uses, locator));
      for (const e of scan.syntaxErrors) {
        const unreadable = e.kind === 'unreadable';
        all.push({
          severity: unreadable ? 'warning' : 'error',
          code: unreadable ? 'UNREADABLE_SOURCE' : 'PYTHON_SYNTAX',
          message: unreadable ? `cannot read ${e.file}: ${e.message}` : `Python syntax error: ${e.message}`,
          hint: unreadable ? 'fix or remove the file (a dangling link?)' : 'fix the code; the plugin cannot load',
          file: e.file,
          line: e.line,
          column: e.column,
        });
      }
      if (scan.classes.length === 0 && scan.syntaxErrors.length === 0) {
        all.push({
          severity: 'warning',
          code: 'NO_PLUGIN_CLASS',
          message: scan.files ? 'no class deriving from Plugin was found in src/' : 'src/ holds no Python files',
          hint: 'define `class MyPlugin(Plugin):` in src/plugin.py (from plexichat_plugin_sdk import Plugin)',
          file: 'src',
          line: 0,
          column: 0,
        });
      }
    }
  }

  if (opts.strict) for (const d of all) d.severity = 'error';
  const errors = all.filter((d) => d.severity === 'error').sort(byLocation);
  const warnings = all.filter((d) => d.severity === 'warning').sort(byLocation);
  return { ok: errors.length === 0, errors, warnings, manifest: errors.length ? undefined : manifest, codeChecks };
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

type Lists = Pick<Manifest, 'hooks' | 'endpoints' | 'permissions'>;

/** hooks/endpoints/permissions of a manifest that failed other rules (only the string entries). */
function listsOf(js: Record<string, unknown>): Lists {
  const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const perms = (js.permissions && typeof js.permissions === 'object' ? js.permissions : {}) as Record<string, unknown>;
  return {
    hooks: strs(js.hooks),
    endpoints: strs(js.endpoints),
    permissions: { required: strs(perms.required), optional: strs(perms.optional) },
  };
}

/** How each decorator is checked against the manifest. */
const DECORATOR_RULES: Record<
  DecoratorUse['kind'],
  { noun: string; verb: string; catalogueVerb: string; list: string; declared: (m: Lists) => string[]; catalogue?: string[] }
> = {
  hook: { noun: 'hook', verb: 'handled by', catalogueVerb: 'used by', list: 'hooks:', declared: (m) => m.hooks ?? [], catalogue: HOOK_NAMES },
  endpoint: { noun: 'endpoint', verb: 'served by', catalogueVerb: 'served by', list: 'endpoints:', declared: (m) => m.endpoints ?? [] },
  require_permission: {
    noun: 'permission',
    verb: 'required by',
    catalogueVerb: 'required by',
    list: 'permissions.required (or optional)',
    declared: (m) => [...(m.permissions?.required ?? []), ...(m.permissions?.optional ?? [])],
    catalogue: PERMISSION_NAMES,
  },
};

function crossCheck(m: Lists, uses: DecoratorUse[], locator: Locator | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (u: DecoratorUse) => ({ file: u.file, line: u.line, column: u.column });

  for (const u of uses) {
    if (u.value === null) {
      out.push({
        severity: 'warning',
        code: 'DYNAMIC_DECORATOR',
        message: `@${u.kind} on ${u.function}() has no string literal argument, so it cannot be checked`,
        hint: `pass the ${u.kind === 'endpoint' ? 'path' : 'name'} as a string literal`,
        ...at(u),
      });
      continue;
    }
    const rule = DECORATOR_RULES[u.kind];
    if (rule.declared(m).includes(u.value)) continue;
    const NOUN = rule.noun.toUpperCase();
    const known = !rule.catalogue || rule.catalogue.includes(u.value);
    out.push({
      severity: 'error',
      code: known ? `UNDECLARED_${NOUN}` : `UNKNOWN_${NOUN}`,
      message: known
        ? `${rule.noun} '${u.value}' is ${rule.verb} ${u.function}() but not declared in ${MANIFEST_PATH}`
        : `${rule.noun} '${u.value}' ${rule.catalogueVerb} ${u.function}() is not in the ${rule.noun} catalogue${didYouMean(u.value, rule.catalogue ?? [])}`,
      hint: known
        ? `add '- ${u.value}' under ${rule.list} in ${MANIFEST_PATH}`
        : `use a ${rule.noun} from the catalogue (docs/catalogues.md)`,
      ...at(u),
    });
  }

  // Declared but not implemented: warnings at the manifest entry.
  const implemented = (kind: DecoratorUse['kind']) => new Set(uses.filter((u) => u.kind === kind).map((u) => u.value));
  const declared = [
    { kind: 'hook', list: 'hooks', names: m.hooks ?? [] },
    { kind: 'endpoint', list: 'endpoints', names: m.endpoints ?? [] },
  ] as const;
  for (const { kind, list, names } of declared) {
    const done = implemented(kind);
    names.forEach((name, i) => {
      if (done.has(name)) return;
      out.push({
        severity: 'warning',
        code: `UNIMPLEMENTED_${kind.toUpperCase()}`,
        message: `${kind} '${name}' is declared but no @${kind}('${name}') handler was found in src/`,
        hint: `implement it with @${kind}('${name}'), or remove it from ${list}:`,
        file: MANIFEST_PATH,
        ...(locator?.pos([list, i]) ?? { line: 0, column: 0 }),
      });
    });
  }
  return out;
}
