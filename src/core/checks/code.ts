/**
 * The cross-checks between the manifest and what the code registers (the
 * scan's result): pure rules, no I/O. Each finding is at the code's line, or
 * at the manifest's entry for something declared and never implemented.
 */
import type { Diagnostic, Manifest } from '../manifest/types.js';
import { MANIFEST_PATH } from '../manifest/types.js';
import type { Locator } from '../yaml/locator.js';
import type { DecoratorUse, DynamicDecorator, ScanResult } from './scan-result.js';
import { HOOK_NAMES, PERMISSION_NAMES } from '../catalog.js';
import { didYouMean } from '../suggest.js';
import { endpointProblem } from '../endpoint.js';

export type Lists = Pick<Manifest, 'hooks' | 'endpoints' | 'permissions'>;

/** hooks/endpoints/permissions of a manifest that failed other rules (only the string entries). */
export function listsOf(js: Record<string, unknown>): Lists {
  const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const perms = (js.permissions && typeof js.permissions === 'object' ? js.permissions : {}) as Record<string, unknown>;
  return {
    hooks: strs(js.hooks),
    endpoints: strs(js.endpoints),
    permissions: { required: strs(perms.required), optional: strs(perms.optional) },
  };
}

/** How each registration is checked against the manifest. */
const RULES: Record<
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

const at = (u: { file: string; line: number; column: number }) => ({ file: u.file, line: u.line, column: u.column });

/** How a registration reads in a message: "@hook on f()" or "self.hooks entry for f()". */
function written(u: DecoratorUse): string {
  if (u.style === 'dict') return `the self.${u.kind}s entry for ${u.function}`;
  return `@${u.kind} on ${u.function}()`;
}

function dynamicUse(u: DecoratorUse): Diagnostic {
  if (u.style === 'dict') {
    return {
      severity: 'warning',
      code: 'DYNAMIC_REGISTRATION',
      message: `${written(u)} has a key that is not a string literal, so it cannot be checked`,
      hint: `write each ${u.kind === 'endpoint' ? 'path' : 'hook name'} as a string literal key of self.${u.kind}s = {...}`,
      ...at(u),
    };
  }
  return {
    severity: 'warning',
    code: 'DYNAMIC_DECORATOR',
    message: `${written(u)} has no string literal argument, so it cannot be checked`,
    hint: `pass the ${u.kind === 'endpoint' ? 'path' : 'name'} as a string literal`,
    ...at(u),
  };
}

/** A path the code serves that is not an endpoint a plugin may serve (core/endpoint.ts), declared or not. */
function invalidEndpoint(u: DecoratorUse & { value: string }): Diagnostic | undefined {
  const problem = u.kind === 'endpoint' ? endpointProblem(u.value) : undefined;
  if (!problem) return undefined;
  return {
    severity: 'error',
    code: 'INVALID_ENDPOINT',
    message: `endpoint '${u.value}' served by ${u.function}() ${problem.reason}`,
    hint: problem.hint,
    ...at(u),
  };
}

function undeclared(m: Lists, u: DecoratorUse & { value: string }): Diagnostic | undefined {
  const rule = RULES[u.kind];
  if (rule.declared(m).includes(u.value)) return undefined;
  const NOUN = rule.noun.toUpperCase();
  const known = !rule.catalogue || rule.catalogue.includes(u.value);
  return {
    severity: 'error',
    code: known ? `UNDECLARED_${NOUN}` : `UNKNOWN_${NOUN}`,
    message: known
      ? `${rule.noun} '${u.value}' is ${rule.verb} ${u.function}() but not declared in ${MANIFEST_PATH}`
      : `${rule.noun} '${u.value}' ${rule.catalogueVerb} ${u.function}() is not in the ${rule.noun} catalogue${didYouMean(u.value, rule.catalogue ?? [])}`,
    hint: known ? `add '- ${u.value}' under ${rule.list} in ${MANIFEST_PATH}` : `use a ${rule.noun} from the catalogue (docs/catalogues.md)`,
    ...at(u),
  };
}

function unboundDecorator(d: DynamicDecorator): Diagnostic {
  return {
    severity: 'warning',
    code: 'DYNAMIC_DECORATOR',
    message: `@${d.decorator} on ${d.function}() may be a plexichat_plugin_sdk decorator, but it ${d.reason}, so it cannot be checked`,
    hint: 'import the decorator from plexichat_plugin_sdk (an alias is fine) and apply it with string literal arguments',
    ...at(d),
  };
}

/** Declared in the manifest but registered nowhere: warnings at the manifest entry. */
function unimplemented(m: Lists, uses: DecoratorUse[], locator: Locator | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const declared = [
    { kind: 'hook', list: 'hooks', names: m.hooks ?? [] },
    { kind: 'endpoint', list: 'endpoints', names: m.endpoints ?? [] },
  ] as const;
  for (const { kind, list, names } of declared) {
    const done = new Set(uses.filter((u) => u.kind === kind).map((u) => u.value));
    names.forEach((name, i) => {
      if (done.has(name)) return;
      out.push({
        severity: 'warning',
        code: `UNIMPLEMENTED_${kind.toUpperCase()}`,
        message: `${kind} '${name}' is declared but no handler was found in src/ (neither @${kind}('${name}') nor a self.${list} entry)`,
        hint: `implement it with @${kind}('${name}') (or in self.${list} = {...}), or remove it from ${list}:`,
        file: MANIFEST_PATH,
        ...(locator?.pos([list, i]) ?? { line: 0, column: 0 }),
      });
    });
  }
  return out;
}

/**
 * One hook or endpoint registered more than once in a class: both ways (a
 * decorator and a self.hooks / self.endpoints entry) is a warning; one path
 * served by two different handlers is an error (the SDK refuses to load it).
 */
function registeredTwice(uses: DecoratorUse[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const groups = new Map<string, DecoratorUse[]>();
  for (const u of uses) {
    if (u.kind === 'require_permission' || u.value === null || u.class === null) continue;
    const k = `${u.file}\0${u.class}\0${u.kind}\0${u.value}`;
    groups.set(k, [...(groups.get(k) ?? []), u]);
  }
  for (const group of groups.values()) {
    const [first, ...rest] = group.sort((a, b) => a.line - b.line);
    if (!first) continue;
    const handlers = new Set(group.map((u) => u.function));
    const bothWays = group.some((u) => u.style === 'dict') && group.some((u) => u.style !== 'dict');
    const clash = first.kind === 'endpoint' && handlers.size > 1;
    if (!clash && !bothWays) continue;
    const second = rest.find((u) => u.function !== first.function || u.style !== first.style) ?? rest[0];
    const NOUN = first.kind.toUpperCase();
    out.push({
      severity: clash ? 'error' : 'warning',
      code: `${NOUN}_REGISTERED_TWICE`,
      message: `${first.kind} '${first.value}' is registered twice in ${first.class}: ${written(first)} (line ${first.line}) and ${written(second)}`,
      hint: clash
        ? `serve ${first.value} from one handler (the SDK refuses two)`
        : `register it one way: either the decorator or the self.${first.kind}s entry`,
      ...at(second),
    });
  }
  return out;
}

export function crossCheck(m: Lists, scan: Pick<ScanResult, 'uses' | 'dynamic'>, locator: Locator | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const u of scan.uses) {
    const d =
      u.value === null ? dynamicUse(u) : (invalidEndpoint(u as DecoratorUse & { value: string }) ?? undeclared(m, u as DecoratorUse & { value: string }));
    if (d) out.push(d);
  }
  out.push(...(scan.dynamic ?? []).map(unboundDecorator));
  out.push(...unimplemented(m, scan.uses, locator));
  out.push(...registeredTwice(scan.uses));
  return out;
}
