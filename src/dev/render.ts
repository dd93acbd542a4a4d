/**
 * Human lines for the host's events (`dev` without --json). Everything the
 * plugin or a file says is untrusted text: it is printed with `inline` /
 * `block`, so it cannot move the cursor or pass for a line the CLI wrote.
 */
import { formatDiagnostic } from '../core/manifest/format.js';
import type { Diagnostic } from '../core/manifest/types.js';
import type { Output } from '../io/output.js';
import { block, inline } from '../io/terminal.js';
import type { HostEvent } from './host-process.js';
import { valueText } from '../io/value-text.js';

interface Endpoint {
  path: string;
  methods: string[];
}

interface LoadFailure {
  kind?: string;
  message?: string;
  file?: string;
  line?: number;
  column?: number;
}

function clock(e: HostEvent): string {
  return typeof e.time === 'string' ? e.time.slice(11, 19) : '';
}

function where(f: LoadFailure): string {
  if (!f.file) return '';
  return `${f.file}${f.line ? `:${f.line}` : ''}${f.line && f.column ? `:${f.column}` : ''} `;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : valueText(v);
}

/** The lines printed once the host is ready: where it listens, what it serves, who calls. */
export function renderReady(e: HostEvent, out: Output, watching: readonly string[]): void {
  const c = out.c;
  const name = e.loaded ? `${inline(str(e.plugin))} ${inline(str(e.version))}` : 'the plugin (not loaded yet)';
  out.result(`${c.green('●')} ${c.bold(name)} on ${c.cyan(str(e.url))}`);
  if (e.console) out.result(`  console    ${str(e.console)}`);
  if (e.loaded) {
    const hooks = (e.hooks as string[] | undefined) ?? [];
    const endpoints = (e.endpoints as Endpoint[] | undefined) ?? [];
    out.result(`  hooks      ${hooks.length ? hooks.map(inline).join(', ') : c.dim('none')}`);
    if (hooks.length) out.result(c.dim(`             fire one: curl -X POST ${str(e.url)}/__dev/hooks/${inline(hooks[0])}`));
    if (endpoints.length === 0) out.result(`  endpoints  ${c.dim('none')}`);
    endpoints.forEach((ep, i) => out.result(`  ${i === 0 ? 'endpoints ' : '          '} ${ep.methods.join(',').padEnd(4)} ${str(e.url)}${inline(ep.path)}`));
  }
  const caller = (e.caller ?? {}) as { user?: string; permissions?: string[] };
  const perms = caller.permissions?.length ? caller.permissions.map(inline).join(', ') : 'no permission';
  out.result(`  caller     ${inline(str(caller.user))} with ${perms} ${c.dim('(headers X-PlexiChat-User, X-PlexiChat-Permissions override)')}`);
  out.info(c.dim(watching.length ? `watching ${watching.map((w) => `${w}/`).join(' and ')}; Ctrl-C stops` : 'reload off (--no-reload); Ctrl-C stops'));
}

/** Diagnostics, each with its hint, errors in red and warnings in yellow. */
function renderDiagnostics(list: readonly Diagnostic[], out: Output): void {
  for (const d of list) {
    const [head, ...rest] = formatDiagnostic(d).split('\n');
    const paint = d.severity === 'error' ? out.c.red : out.c.yellow;
    out.result(`    ${head.replace(` ${d.severity} `, ` ${paint(d.severity)} `)}`);
    for (const l of rest) out.result(out.c.dim(`    ${l}`));
  }
}

function plural(k: number, w: string): string {
  return `${k} ${w}${k === 1 ? '' : 's'}`;
}

function counts(list: readonly Diagnostic[]): string {
  const errors = list.filter((d) => d.severity === 'error').length;
  return `${plural(errors, 'error')}, ${plural(list.length - errors, 'warning')}`;
}

interface Frame {
  file?: string;
  line?: number;
  function?: string;
  source?: string;
}

/**
 * Where a load failed, as the user wrote it: a syntax error's line with a caret
 * under the column; otherwise the plugin's own frames (the SDK's and importlib's
 * are left out; --verbose prints the whole traceback after).
 */
function renderFailure(f: LoadFailure & { source?: string; frames?: Frame[] }, out: Output): void {
  const c = out.c;
  if (typeof f.source === 'string' && f.line) {
    const text = f.source.replace(/\t/g, ' ');
    const indent = text.length - text.trimStart().length;
    const gutter = `${f.line} | `;
    out.result(`    ${c.dim(gutter)}${inline(text.trimStart())}`);
    if (f.column && f.column > indent) {
      out.result(`    ${' '.repeat(gutter.length - 2)}${c.dim('|')} ${' '.repeat(Math.min(f.column - 1 - indent, 400))}${c.red('^')}`);
    }
    return;
  }
  for (const fr of Array.isArray(f.frames) ? f.frames : []) {
    out.result(c.dim(`    ${inline(str(fr.file))}:${str(fr.line)} in ${inline(str(fr.function))}`));
    if (fr.source) out.result(`        ${inline(fr.source)}`);
  }
}

/** The whole traceback (internal frames too), only with --verbose. */
function renderTraceback(e: HostEvent, out: Output): void {
  if (out.verbose && typeof e.traceback === 'string' && e.traceback) out.result(out.c.dim(block('    ', e.traceback)));
}

/** What the renderer remembers between events. */
export interface RenderState {
  /** True once a validated event was shown (later ones show only what changed). */
  validatedOnce: boolean;
}

export function renderState(): RenderState {
  return { validatedOnce: false };
}

/** One event (other than ready) as human lines. */
export function renderEvent(e: HostEvent, out: Output, state: RenderState): void {
  const c = out.c;
  const t = c.dim(clock(e));
  switch (e.event) {
    case 'reloaded': {
      const changed = (e.changed as string[] | undefined) ?? [];
      const after = changed.length ? ` after ${changed.map(inline).join(', ')}` : '';
      out.result(
        `${t} ${c.green('reloaded')} ${inline(str(e.plugin))} ${inline(str(e.version))} in ${str(e.duration_ms)} ms${after}${e.kept_state ? ' (state kept)' : ''}`,
      );
      return;
    }
    case 'validated': {
      // Only what changed since the last report: new findings in full, resolved ones on a line each.
      const list = (Array.isArray(e.diagnostics) ? e.diagnostics : []) as Diagnostic[];
      const added = (Array.isArray(e.added) ? e.added : list) as Diagnostic[];
      const resolved = (Array.isArray(e.resolved) ? e.resolved : []) as Diagnostic[];
      const errors = list.some((d) => d.severity === 'error');
      const runs = errors ? c.dim(' (the plugin runs; build refuses it)') : '';
      if (!state.validatedOnce) {
        state.validatedOnce = true;
        if (list.length === 0) return;
        out.result(`${t} ${c.yellow('validate')} ${counts(list)}${runs}`);
        renderDiagnostics(list, out);
        return;
      }
      if (added.length === 0 && resolved.length === 0) return;
      const what = [added.length ? `${added.length} new` : '', resolved.length ? `${resolved.length} resolved` : ''].filter(Boolean).join(', ');
      out.result(`${t} ${c.yellow('validate')} ${what}; now ${counts(list)}${runs}`);
      renderDiagnostics(added, out);
      for (const d of resolved) {
        out.result(c.dim(`    ${c.green('resolved')} ${inline(`${d.file}${d.line ? `:${d.line}` : ''} ${d.code} ${d.message}`)}`));
      }
      return;
    }
    case 'reload_failed': {
      const f = (e.error ?? {}) as LoadFailure;
      const serving = e.serving as { plugin: string; version: string; generation: number } | null;
      const label = e.initial ? 'load failed' : 'reload failed';
      out.result(`${t} ${c.red(label)} ${where(f)}${inline(str(f.message))}`);
      renderFailure(f, out);
      renderTraceback(e, out);
      renderDiagnostics(
        ((Array.isArray(e.diagnostics) ? e.diagnostics : []) as Diagnostic[]).filter((d) => d.severity === 'error'),
        out,
      );
      out.result(
        serving
          ? c.dim(`    still serving ${inline(serving.plugin)} ${inline(str(serving.version))} (the last good version); save a fix to reload`)
          : c.dim('    nothing is serving yet; save a fix to load the plugin'),
      );
      return;
    }
    case 'request': {
      const status = Number(e.status);
      const paint = status >= 500 ? c.red : status >= 400 ? c.yellow : c.green;
      out.result(
        `${t} ${inline(str(e.method))} ${inline(str(e.path))} ${paint(String(status))} ${str(e.duration_ms)} ms${e.user ? c.dim(` (${inline(str(e.user))})`) : ''}`,
      );
      return;
    }
    case 'hook': {
      const err = e.error as { type?: string; message?: string; file?: string; line?: number } | undefined;
      const detail = err
        ? ` ${where(err)}${inline(str(err.type))}: ${inline(str(err.message))}`
        : ` (${str(e.handlers)} handler${e.handlers === 1 ? '' : 's'})`;
      out.result(`${t} hook ${inline(str(e.hook))} ${e.status === 'ok' ? c.green('ok') : c.red('error')} ${str(e.duration_ms)} ms${detail}`);
      return;
    }
    case 'log': {
      const level = str(e.level);
      const paint = level === 'error' || level === 'critical' ? c.red : level === 'warning' ? c.yellow : level === 'debug' ? c.dim : (s: string) => s;
      const label = `${t} ${paint(level.padEnd(7))} `;
      out.result(block(label, str(e.message)));
      renderTraceback(e, out);
      return;
    }
    case 'host_exited':
      out.result(
        `${t} ${c.red('the plugin host exited')} (${inline(str(e.code ?? e.signal))})${e.restarting ? '; restarting it' : '; save a file to start it again'}`,
      );
      return;
    default:
      // stopping, stopped: nothing to say in human mode
      return;
  }
}
