/**
 * `dev`: run the plugin on this machine. The SDK's plugin host serves it on
 * loopback; saves under src/ and config/ reload it (validated first, the last
 * good version serving when the new one is broken); its events stream to the
 * terminal, or as NDJSON with --json. Runs until SIGINT/SIGTERM, then stops
 * the host and exits 0.
 *
 * Under --json, stdout carries one JSON object per line (the host's events:
 * ready, reloaded, reload_failed, request, hook, log, ..., then stopped)
 * instead of a single document, so run() resolves with undefined.
 */
import { userProgram, type Ctx } from '../io/context.js';
import { PERMISSION_NAMES } from '../core/catalog.js';
import { parseListenHost } from '../core/loopback.js';
import { didYouMean } from '../core/suggest.js';
import { UsageError, WorkFailedError } from '../errors.js';
import { projectImports } from '../python/imports.js';
import { findPythonCached } from '../python/probe-cache.js';
import { notRunnableError, tooOldError } from '../python/interpreter.js';
import { MIN_PYTHON_TEXT, tooOld } from '../python/version.js';
import type { HostEvent } from '../dev/host-process.js';

export interface DevOptions {
  host?: string;
  port?: number;
  allowRemote?: boolean;
  allowHost?: string[];
  user?: string;
  permissions?: string;
  keepState?: boolean;
  /** commander's --no-reload: reload === false. */
  reload?: boolean;
  python?: string;
}

export interface DevResult {
  url: string;
  reloads: number;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.?$/;

export function parsePermissions(text: string): string[] {
  const list = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of list) {
    if (!PERMISSION_NAMES.includes(p)) {
      throw new UsageError(`unknown permission '${p}' in --permissions${didYouMean(p, PERMISSION_NAMES)}`, {
        hint: 'use permission names from the catalogue (docs/catalogues.md), comma-separated; --permissions "" means none',
      });
    }
  }
  return [...new Set(list)];
}

function checkOptions(opts: DevOptions): { host: string; allowHosts: string[]; user?: string; permissions?: string[] } {
  const given = opts.host ?? '127.0.0.1';
  const listen = parseListenHost(given);
  if (!listen) {
    throw new UsageError(`--host ${JSON.stringify(given)} is not an IP address or a host name`, {
      hint: 'e.g. --host 127.0.0.1, --host ::1, --host localhost, or --host 0.0.0.0 --allow-remote (IPv4 in dotted-quad form)',
    });
  }
  if (!listen.loopback && !opts.allowRemote) {
    throw new UsageError(`--host ${listen.host} is not a loopback address, and the dev host has no authentication`, {
      hint: 'add --allow-remote to listen there anyway, or leave --host out (127.0.0.1)',
    });
  }
  const allowHosts = (opts.allowHost ?? []).map((n) => n.trim());
  for (const n of allowHosts) {
    if (!HOST_NAME.test(n) && !parseListenHost(n)) {
      throw new UsageError(`--allow-host ${JSON.stringify(n)} is not a host name`, {
        hint: 'give the name alone, without scheme, port or path: --allow-host dev.example.test',
      });
    }
  }
  // eslint-disable-next-line no-control-regex -- a user name with a control character is refused
  if (opts.user !== undefined && (opts.user.trim() === '' || opts.user.length > 128 || /[\u0000-\u001f\u007f,]/.test(opts.user))) {
    throw new UsageError('--user must be a user id on one line (1-128 characters, no commas)', { hint: 'e.g. --user user_1' });
  }
  return {
    host: listen.host,
    allowHosts,
    user: opts.user,
    permissions: opts.permissions === undefined ? undefined : parsePermissions(opts.permissions),
  };
}

/**
 * As `test` chooses (pytest not needed): on PATH, one that can import what the
 * project imports; remembered per project, so a warm start runs no probe.
 */
async function choosePython(opts: DevOptions, ctx: Ctx): Promise<string> {
  const modules = await projectImports(ctx.cwd);
  const found = await findPythonCached({ env: ctx.env, explicit: userProgram(ctx, opts.python), cwd: ctx.cwd, modules, venv: true });
  if (!found.ok) {
    if (found.reason === 'not-runnable') throw notRunnableError({ path: found.path!, source: opts.python !== undefined ? 'flag' : 'env' });
    throw new WorkFailedError('no Python interpreter found (looked for python3 and python on PATH)', {
      code: 'PYTHON_NOT_FOUND',
      hint: `install Python ${MIN_PYTHON_TEXT}+ (sudo apt-get install -y python3), or set PLEXICHAT_PYTHON / --python`,
    });
  }
  if (tooOld(found.python.version)) throw tooOldError(found.python.path, found.python.version);
  if (found.python.source === 'venv') ctx.out.info(`python: ${found.python.path} (the plugin's virtual environment; Python ${found.python.version})`);
  return found.python.path;
}

/**
 * Where the session's events go: NDJSON lines under --json (the whole traceback only
 * with --verbose), else human lines. Under --json, what comes before ready waits for
 * it: a session that fails to start prints its one error document and nothing else.
 */
function eventWriter(out: Ctx['out'], render: (e: HostEvent) => void): { emit: (e: HostEvent) => void; drop: () => void } {
  let held: HostEvent[] | undefined = out.json ? [] : undefined;
  const emit = (e: HostEvent): void => {
    if (held !== undefined) {
      if (e.event !== 'ready') {
        held.push(e);
        return;
      }
      const before = held;
      held = undefined;
      for (const h of before) emit(h);
    }
    if (!out.json) {
      if (e.event !== 'ready') render(e);
    } else if (e.traceback !== undefined && !out.verbose) {
      const { traceback: _internal, ...rest } = e;
      out.writeJsonLine(rest);
    } else out.writeJsonLine(e);
  };
  return {
    emit,
    drop: () => {
      if (held !== undefined) held = [];
    },
  };
}

export async function run(opts: DevOptions, given: Ctx): Promise<DevResult | undefined> {
  const { host, allowHosts, user, permissions } = checkOptions(opts);
  // The workspace's shared libraries on PYTHONPATH, the plugin's .env under the environment (dev only).
  const [{ workspaceEnv }, { withDotenv }] = await Promise.all([import('../workspace/env.js'), import('../dev/dotenv.js')]);
  const ctx: Ctx = { ...given, env: await withDotenv(given.cwd, await workspaceEnv(given.cwd, given.env)) };
  const { out } = ctx;
  const [{ DevSession, checkProject }, { renderEvent, renderReady, renderState }, { WATCHED }, { loadManifest }, python] = await Promise.all([
    import('../dev/session.js'),
    import('../dev/render.js'),
    import('../dev/watcher.js'),
    import('../core/manifest/index.js'),
    choosePython(opts, ctx),
  ]);

  // Only errors in the manifest stop dev from starting; they need no Python to find.
  const parsed = await loadManifest(ctx.cwd);
  if (parsed.diagnostics.some((d) => d.severity === 'error')) {
    const full = await checkProject(ctx.cwd, python, ctx.env);
    const manifestErrors = full.blocking.filter((d) => d.file === 'config/plugin.yaml');
    const errors = manifestErrors.length ? manifestErrors : parsed.diagnostics.filter((d) => d.severity === 'error');
    if (!out.json) {
      const { renderDiagnostics } = await import('../project/render-diagnostics.js');
      renderDiagnostics({ errors, warnings: [] }, ctx);
    }
    throw new WorkFailedError(`config/plugin.yaml has ${errors.length} error${errors.length === 1 ? '' : 's'}; the plugin cannot be loaded`, {
      code: 'MANIFEST_INVALID',
      hint: 'fix them (plexichat-plugin validate shows the same list) and run dev again',
      details: { diagnostics: errors },
    });
  }
  if (ctx.signal.aborted) return undefined;

  // Ctrl-C, SIGTERM, or a reader that went away (`dev --json | head -1`: the boundary
  // mutes the output and aborts, src/io/closed-pipe.ts) end the session.
  const done = new AbortController();
  const onAbort = () => done.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const state = renderState();
  const events = eventWriter(out, (e) => renderEvent(e, out, state));
  const emit = events.emit;
  const session = new DevSession(
    {
      python,
      project: ctx.cwd,
      host,
      port: opts.port ?? 0,
      allowRemote: Boolean(opts.allowRemote),
      allowHosts,
      user,
      permissions,
      keepState: Boolean(opts.keepState),
      noReload: opts.reload === false,
      env: ctx.env,
      clock: ctx.clock,
      emit,
      stderr: (line) => {
        if (/^warning: /.test(line)) out.warn(line.replace(/^warning: /, ''));
        else out.debug(`host: ${line}`);
      },
    },
    parsed.data,
  );
  // The full validation (code cross-checks: a Python scan) runs while the host starts.
  const checking = checkProject(ctx.cwd, python, ctx.env);
  checking.catch(() => undefined);
  let ready;
  try {
    ready = await session.start();
  } catch (err) {
    await session.stop().catch(() => undefined);
    events.drop();
    throw err;
  }
  if (!out.json) renderReady(ready, out, opts.reload === false ? [] : WATCHED);
  void checking.then(
    (initial) => session.reportDiagnostics(initial.diagnostics),
    () => undefined,
  );
  await new Promise<void>((resolve) => {
    if (done.signal.aborted || ctx.signal.aborted) return resolve();
    done.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await session.stop();
  ctx.signal.removeEventListener('abort', onAbort);
  return out.json ? undefined : { url: session.url, reloads: session.reloads };
}

export function render(r: DevResult | undefined, ctx: Ctx): void {
  if (r) ctx.out.info(`stopped (${r.reloads} reload${r.reloads === 1 ? '' : 's'})`);
}
