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
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
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
    if (hooks.length) out.result(c.dim(`             fire one: curl -X POST ${str(e.url)}/__dev/hooks/${inline(hooks[0]!)}`));
    if (endpoints.length === 0) out.result(`  endpoints  ${c.dim('none')}`);
    endpoints.forEach((ep, i) =>
      out.result(`  ${i === 0 ? 'endpoints ' : '          '} ${ep.methods.join(',').padEnd(4)} ${str(e.url)}${inline(ep.path)}`),
    );
  }
  const caller = (e.caller ?? {}) as { user?: string; permissions?: string[] };
  const perms = caller.permissions?.length ? caller.permissions.map(inline).join(', ') : 'no permission';
  out.result(`  caller     ${inline(str(caller.user))} with ${perms} ${c.dim('(headers X-PlexiChat-User, X-PlexiChat-Permissions override)')}`);
  out.info(c.dim(watching.length ? `watching ${watching.map((w) => `${w}/`).join(' and ')}; Ctrl-C stops` : 'reload off (--no-reload); Ctrl-C stops'));
}

/** Diagnostics under an event: errors always; warnings only when they differ from the last ones shown. */
function renderDiagnostics(list: unknown, out: Output, seen: { warnings: string }, withWarnings: boolean): void {
  const all = (Array.isArray(list) ? list : []) as Diagnostic[];
  const warnings = all.filter((d) => d.severity !== 'error');
  const key = JSON.stringify(warnings.map((d) => [d.code, d.file, d.line, d.message]));
  const showWarnings = withWarnings && key !== seen.warnings;
  if (withWarnings) seen.warnings = key;
  for (const d of all.filter((x) => x.severity === 'error' || showWarnings)) {
    const [head, ...rest] = formatDiagnostic(d).split('\n');
    const paint = d.severity === 'error' ? out.c.red : out.c.yellow;
    out.result(`    ${head!.replace(` ${d.severity} `, ` ${paint(d.severity)} `)}`);
    for (const l of rest) out.result(out.c.dim(`    ${l}`));
  }
}

/** What the renderer remembers between events. */
export interface RenderState {
  /** The warnings shown last (they are repeated only when they change). */
  warnings: string;
}

export function renderState(): RenderState {
  return { warnings: '' };
}

/** One event (other than ready) as human lines. */
export function renderEvent(e: HostEvent, out: Output, state: RenderState): void {
  const c = out.c;
  const t = c.dim(clock(e));
  switch (e.event) {
    case 'reloaded': {
      const changed = (e.changed as string[] | undefined) ?? [];
      const after = changed.length ? ` after ${changed.map(inline).join(', ')}` : '';
      out.result(`${t} ${c.green('reloaded')} ${inline(str(e.plugin))} ${inline(str(e.version))} in ${str(e.duration_ms)} ms${after}${e.kept_state ? ' (state kept)' : ''}`);
      renderDiagnostics(e.diagnostics, out, state, true);
      return;
    }
    case 'validated': {
      const list = (Array.isArray(e.diagnostics) ? e.diagnostics : []) as Diagnostic[];
      const errors = list.filter((d) => d.severity === 'error').length;
      const key = JSON.stringify(list.filter((d) => d.severity !== 'error').map((d) => [d.code, d.file, d.line, d.message]));
      if (errors === 0 && key === state.warnings) return;
      const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
      out.result(`${t} ${c.yellow('validate')} ${n(errors, 'error')}, ${n(list.length - errors, 'warning')}${errors ? c.dim(' (the plugin runs; build refuses it)') : ''}`);
      renderDiagnostics(list, out, state, true);
      return;
    }
    case 'reload_failed': {
      const f = (e.error ?? {}) as LoadFailure;
      const serving = e.serving as { plugin: string; version: string; generation: number } | null;
      const label = e.initial ? 'load failed' : 'reload failed';
      out.result(`${t} ${c.red(label)} ${where(f)}${inline(str(f.message))}`);
      renderDiagnostics(e.diagnostics, out, state, false);
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
      out.result(`${t} ${inline(str(e.method))} ${inline(str(e.path))} ${paint(String(status))} ${str(e.duration_ms)} ms${e.user ? c.dim(` (${inline(str(e.user))})`) : ''}`);
      return;
    }
    case 'hook': {
      const err = e.error as { type?: string; message?: string; file?: string; line?: number } | undefined;
      const detail = err ? ` ${where(err)}${inline(str(err.type))}: ${inline(str(err.message))}` : ` (${str(e.handlers)} handler${e.handlers === 1 ? '' : 's'})`;
      out.result(`${t} hook ${inline(str(e.hook))} ${e.status === 'ok' ? c.green('ok') : c.red('error')} ${str(e.duration_ms)} ms${detail}`);
      return;
    }
    case 'log': {
      const level = str(e.level);
      const paint = level === 'error' || level === 'critical' ? c.red : level === 'warning' ? c.yellow : level === 'debug' ? c.dim : (s: string) => s;
      const label = `${t} ${paint(level.padEnd(7))} `;
      out.result(block(label, str(e.message)));
      return;
    }
    case 'host_exited':
      out.result(`${t} ${c.red('the plugin host exited')} (${inline(str(e.code ?? e.signal))})${e.restarting ? '; restarting it' : '; save a file to start it again'}`);
      return;
    default:
      // stopping, stopped: nothing to say in human mode
      return;
  }
}
