/**
 * The operation of `deploy render` for one plugin folder: the Dockerfile,
 * Kubernetes manifests per environment, optional Helm chart and monitoring
 * objects, from config/plugin.yaml (and config/monitoring.yaml). The
 * rendering is render.ts (pure); this module reads the inputs, compares
 * with what is on disk, and writes. The command (commands/deploy.ts) and a
 * workspace run (workspace/operations.ts) both call renderProject.
 *
 * Files are compared before anything is written: a file deploy render did
 * not make, or one edited by hand since, stops the run (exit 1, nothing
 * written) unless --force. --check writes nothing and exits 1 with a diff
 * when a file is missing or differs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../io/context.js';
import { CliError, UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { readRegularText } from '../io/read-file.js';
import { openAtomic, type AtomicFile } from '../io/atomic.js';
import { folderInPlace, writingTo, type OutputTarget } from '../io/fs-errors.js';
import { loadManifest, formatDiagnostic, type Manifest } from '../core/manifest/index.js';
import { fileState, type FileState } from './header.js';
import { baseImageProblem, repositoryProblem } from './image-ref.js';
import { MONITORING_PATH, parseMonitoring, type MonitoringConfig } from './monitoring.js';
import { ENVIRONMENTS, NAMESPACE, kebabName, labelValue, parseLabels, type Environment } from './names.js';
import { DEFAULT_PEERS, type Peers } from './k8s.js';
import { defaultRepository, renderDeploy, reservedPaths, type RenderedFile, type SdkFile } from './render.js';
import { inline } from '../io/terminal.js';

export interface DeployRenderOptions {
  env?: string[];
  out?: string;
  /** Where --out points (the caller resolves it: from the user's folder, or from each plugin's in a workspace run). */
  outPath?: string;
  image?: string;
  /** A named target's deploy.registry: the image is <registry>/<plugin name> unless --image. */
  registry?: string;
  baseImage?: string;
  helm?: boolean;
  check?: boolean;
  force?: boolean;
  platformNamespace?: string;
  platformPods?: string;
  scraperNamespace?: string;
  scraperPods?: string;
}

export type FileStatus =
  /** --check: the file on disk is what would be rendered. */
  | 'up-to-date'
  /** --check: missing on disk. */
  | 'missing'
  /** --check: differs from what would be rendered. */
  | 'stale'
  | 'created'
  | 'updated'
  | 'unchanged';

export interface DeployFile {
  path: string;
  status: FileStatus;
  /** What the file on disk was: ours and untouched, ours but edited, or not ours. */
  onDisk?: FileState;
}

export interface DeployResult {
  plugin: { name: string; version: string };
  image: string;
  environments: Environment[];
  helm: boolean;
  monitoring: boolean;
  check: boolean;
  /** --check: every file is as rendered. */
  upToDate?: boolean;
  /** --check: unified diff of what would change (disk → rendered). */
  diff?: string;
  files: DeployFile[];
  warnings: string[];
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function environments(values: string[] | undefined): Environment[] {
  if (!values || values.length === 0) return [...ENVIRONMENTS];
  for (const v of values) {
    if (!(ENVIRONMENTS as readonly string[]).includes(v)) {
      throw new UsageError(`--env ${v}: unknown environment`, { hint: `use ${ENVIRONMENTS.join(' or ')} (repeat --env for both)` });
    }
  }
  return ENVIRONMENTS.filter((e) => values.includes(e));
}

/** --platform-namespace/-pods and --scraper-namespace/-pods: who the NetworkPolicy admits. */
function peers(opts: DeployRenderOptions): Peers {
  const one = (who: 'platform' | 'scraper', ns: string | undefined, pods: string | undefined) => {
    if (ns !== undefined && !NAMESPACE.test(ns)) {
      throw new UsageError(`--${who}-namespace ${ns}: not a namespace name`, { hint: 'lower-case letters, digits and -, e.g. --platform-namespace plexichat' });
    }
    const labels = pods === undefined ? DEFAULT_PEERS[who].pods : parseLabels(pods);
    if (typeof labels === 'string') {
      throw new UsageError(`--${who}-pods: ${labels}`, {
        hint: `give the pods' labels as name=value[,name=value], e.g. --${who}-pods app.kubernetes.io/name=${who === 'platform' ? 'plexichat' : 'prometheus'}`,
      });
    }
    return { namespace: ns ?? DEFAULT_PEERS[who].namespace, pods: labels };
  };
  return { platform: one('platform', opts.platformNamespace, opts.platformPods), scraper: one('scraper', opts.scraperNamespace, opts.scraperPods) };
}

/** --out (`outPath`: where it points), as a folder relative to the project (the Docker build context), checked. */
function outDir(projectDir: string, out: string | undefined, outPath: string | undefined): string {
  if (out === undefined) return '';
  const rel = toPosix(path.relative(projectDir, outPath ?? path.resolve(projectDir, out)));
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
    throw new UsageError(`--out ${out} is outside the project`, {
      hint: 'the Dockerfile copies from the project (its build context), so render into the project or a folder inside it',
    });
  }
  if (rel !== '' && !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(rel)) {
    throw new UsageError(`--out ${out}: use a folder name of letters, digits, '.', '_' and '-'`, { hint: 'e.g. --out deploy' });
  }
  return rel;
}

/** The image repository a target's deploy.registry gives this plugin: <registry>/<plugin name>. */
function registryImage(registry: string | undefined, manifest: Manifest): string | undefined {
  if (registry === undefined) return undefined;
  const image = `${registry.replace(/\/+$/, '')}/${kebabName(manifest.plugin.name)}`;
  const p = repositoryProblem(image);
  if (p)
    throw new UsageError(`the target's deploy.registry ${registry}: ${p}`, {
      hint: 'give the repository prefix only, e.g. registry: registry.example.com/team',
    });
  return image;
}

/** What stands at a path deploy render writes when it is a link, FIFO, socket or device (never opened). */
export const NOT_REGULAR = '(not a regular file: a symlink, FIFO, socket or device)\n';

/**
 * A file's text, undefined when absent. Anything but a regular file is
 * never opened (a FIFO would block): a target path gets NOT_REGULAR (so it
 * counts as not ours), an input (followLinks) an error. A target path that
 * cannot be looked at (a folder in its place, a parent that is a file, a
 * link loop, a name too long) throws the system's error, for writingTo to
 * say as a write to --out.
 */
async function readText(file: string, rel: string, followLinks = false): Promise<string | undefined> {
  try {
    const st = followLinks ? await fs.stat(file) : await fs.lstat(file);
    if (st.isDirectory()) {
      if (!followLinks) throw folderInPlace(file);
      throw new WorkFailedError(`${rel} is a folder`, { code: 'UNREADABLE', hint: `${rel} must be a file` });
    }
    if (!st.isFile()) {
      if (!followLinks) return NOT_REGULAR;
      throw new WorkFailedError(`${rel} is not a regular file (a FIFO, socket or device)`, { code: 'NOT_REGULAR', hint: `replace ${rel} with a YAML file` });
    }
    return await readRegularText(file, { shown: rel, code: 'NOT_REGULAR', hint: `replace ${rel} with a YAML file` });
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || (code === 'ENOTDIR' && followLinks)) return undefined;
    if (!followLinks) throw err;
    throw new WorkFailedError(`cannot read ${rel} (${code ?? (err as Error).message})`, { code: 'UNREADABLE', hint: 'check the permissions' });
  }
}

/**
 * Every folder on the way to an output file, checked on its real path: a
 * symbolic link among them (`k8s/`, `helm/`, `--out`'s folder, `.plexichat/`)
 * that leads outside the project, or nowhere, stops the run before anything
 * is read or written. (The file itself is never followed: a link where a
 * file goes is "not a regular file", replaced only with --force.)
 */
async function refuseLinksOut(projectDir: string, files: readonly string[]): Promise<void> {
  const root = await fs.realpath(projectDir);
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`);
  const seen = new Set<string>();
  for (const f of files) {
    const parts = f.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (seen.has(rel)) continue;
      seen.add(rel);
      const st = await fs.lstat(path.join(projectDir, rel)).catch(() => undefined);
      if (!st) break;
      if (!st.isSymbolicLink()) continue;
      let target: string | undefined;
      try {
        target = await fs.realpath(path.join(projectDir, rel));
      } catch (err) {
        // A loop: the write says so (SYMLINK_LOOP) before anything is written.
        if (errnoCode(err) === 'ELOOP') break;
      }
      if (target !== undefined && inside(target)) continue;
      const where = target === undefined ? 'a symbolic link that leads nowhere' : `a symbolic link to ${target}, outside the project`;
      throw new WorkFailedError(`${rel} is ${where}: deploy render writes only inside the project; nothing was written`, {
        code: 'OUTSIDE_PROJECT',
        hint: `replace the link ${rel} with a folder (or remove it), or render into another --out`,
        details: { path: rel, ...(target !== undefined ? { target } : {}) },
      });
    }
  }
}

/** A rendered file's place, as io/fs-errors.ts words a failure to write there. */
function fileTarget(rel: string, out: string): OutputTarget {
  return { action: `write ${rel}`, dir: out || '.', flag: '--out <dir>', suffix: '; nothing was written' };
}

/**
 * Write every file or none: each is staged as a temp file beside its final
 * name (folders made as needed) and synced, and only then are they all
 * renamed into place. On a failure the temp files and the folders made go.
 */
async function writeAll(projectDir: string, files: RenderedFile[], out: string): Promise<void> {
  const { makeDir } = await import('../io/make-dir.js');
  const staged: AtomicFile[] = [];
  const made: string[] = [];
  try {
    for (const f of files) {
      await writingTo(fileTarget(f.path, out), async () => {
        const file = path.join(projectDir, f.path);
        const first = await makeDir(path.dirname(file));
        if (first) made.push(first);
        const tmp = await openAtomic(file);
        staged.push(tmp);
        await tmp.handle.writeFile(f.content);
        await tmp.handle.sync();
      });
    }
  } catch (err) {
    for (const t of staged) await t.abort();
    for (const d of made.reverse()) await fs.rm(d, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  for (const [i, t] of staged.entries()) await writingTo(fileTarget(files[i].path, out), () => t.commit());
}

/** The SDK's Python files (what the image needs to run the host). */
async function sdkFiles(root: string): Promise<SdkFile[]> {
  const out: SdkFile[] = [];
  async function walk(rel: string) {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') await walk(r);
      } else if (e.isFile() && (e.name.endsWith('.py') || e.name === 'py.typed')) {
        out.push({ path: r, content: await fs.readFile(path.join(root, r), 'utf8') });
      }
    }
  }
  await walk('plexichat_plugin_sdk');
  return out;
}

async function readManifest(projectDir: string, ctx: Ctx) {
  const parsed = await loadManifest(projectDir);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (!parsed.manifest || errors.length > 0) {
    for (const d of errors) ctx.out.stderr.write(`${formatDiagnostic(d)}\n`);
    throw new WorkFailedError(`config/plugin.yaml has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was rendered`, {
      code: 'VALIDATION_FAILED',
      hint: 'fix the errors above (`plexichat-plugin validate` shows them too), then render again',
      details: { diagnostics: errors },
    });
  }
  return parsed.manifest;
}

async function readMonitoring(projectDir: string, ctx: Ctx): Promise<MonitoringConfig | undefined> {
  const text = await readText(path.join(projectDir, MONITORING_PATH), MONITORING_PATH, true);
  if (text === undefined) return undefined;
  const r = parseMonitoring(text);
  if (!r.config) {
    for (const d of r.diagnostics.slice(0, -1)) ctx.out.stderr.write(`${formatDiagnostic(d)}\n`);
    const last = r.diagnostics[r.diagnostics.length - 1];
    throw new WorkFailedError(`${last.file}:${last.line}:${last.column}: ${last.message}`, {
      code: last.code,
      hint: last.hint,
      details: { diagnostics: r.diagnostics },
    });
  }
  return r.config;
}

/** The files `build` packs, through build's own list and secret scan (a dry run). */
async function packedFiles(projectDir: string, manifest: Manifest, ctx: Ctx): Promise<{ files: string[]; warnings: string[] }> {
  const { buildArchive } = await import('../core/package/build.js');
  const outcome = await buildArchive({
    projectDir,
    outDir: path.join(projectDir, 'dist'),
    plugin: { name: manifest.plugin.name, version: String(manifest.plugin.version) },
    dryRun: true,
    signal: ctx.signal,
  });
  const { list } = outcome;
  const refused = [
    ...list.problems.map((p) => p.message),
    ...outcome.secrets.map((s) => `${s.file}${s.line > 0 ? `:${s.line}` : ''} [${s.rule}] ${s.description}`),
  ];
  if (refused.length > 0) {
    for (const l of refused.slice(0, -1)) ctx.out.error(l);
    throw new WorkFailedError(`${refused[refused.length - 1]}: \`plexichat-plugin build\` refuses this project, so no image is rendered for it`, {
      code: 'BUILD_REFUSED',
      hint: 'run `plexichat-plugin build --dry-run` and fix what it reports, then render again',
      details: { problems: list.problems, secrets: outcome.secrets },
    });
  }
  return { files: list.files.map((f) => f.path), warnings: list.warnings };
}

/** Render (or with check, compare) the deploy files of the plugin in projectDir. */
/** The flags' own checks (before any plugin is read): the environments and who the NetworkPolicy admits. */
export function checkDeployFlags(opts: DeployRenderOptions): { envs: Environment[]; admitted: Peers } {
  const envs = environments(opts.env);
  if (opts.image !== undefined) {
    const p = repositoryProblem(opts.image);
    if (p) throw new UsageError(`--image: ${p}`, { hint: 'pass the repository only, e.g. --image registry.example.com/team/my-plugin' });
  }
  if (opts.baseImage !== undefined) {
    const p = baseImageProblem(opts.baseImage);
    if (p) throw new UsageError(`--base-image: ${p}`, { hint: 'pin a tag or digest, e.g. --base-image python:3.12.11-slim-bookworm' });
  }
  if (opts.check && opts.force) throw new UsageError('--check and --force do not go together', { hint: '--check writes nothing' });
  return { envs, admitted: peers(opts) };
}

export async function renderProject(projectDir: string, opts: DeployRenderOptions, ctx: Ctx): Promise<DeployResult> {
  const out = outDir(projectDir, opts.out, opts.outPath);
  const { envs, admitted } = checkDeployFlags(opts);

  const manifest = await readManifest(projectDir, ctx);
  const image = opts.image ?? registryImage(opts.registry, manifest);
  // Before anything else looks into them (build's file list would follow no link either).
  const reserved = reservedPaths(out, manifest);
  await refuseLinksOut(projectDir, [...reserved.files, ...reserved.dirs.map((d) => `${d}templates/x`)]);
  const monitoring = await readMonitoring(projectDir, ctx);
  const packed = await packedFiles(projectDir, manifest, ctx);
  const { sdkPythonPath } = await import('../python/pytest.js');
  const sdk = await sdkFiles(sdkPythonPath());

  const rendered = renderDeploy({
    manifest,
    packed: packed.files,
    sdk,
    environments: envs,
    outDir: out,
    helm: Boolean(opts.helm),
    peers: admitted,
    ...(monitoring ? { monitoring } : {}),
    ...(image !== undefined ? { image } : {}),
    ...(opts.baseImage !== undefined ? { baseImage: opts.baseImage } : {}),
  });

  const result: DeployResult = {
    plugin: { name: manifest.plugin.name, version: String(manifest.plugin.version) },
    image: `${image ?? defaultRepository(manifest)}:${labelValue(String(manifest.plugin.version))}`,
    environments: envs,
    helm: Boolean(opts.helm),
    monitoring: Boolean(monitoring),
    check: Boolean(opts.check),
    files: [],
    warnings: [...packed.warnings],
  };

  await refuseLinksOut(
    projectDir,
    rendered.map((f) => f.path),
  );
  const onDisk = new Map<string, string | undefined>();
  for (const f of rendered) onDisk.set(f.path, await writingTo(fileTarget(f.path, out), () => readText(path.join(projectDir, f.path), f.path)));

  if (opts.check) return check(rendered, onDisk, result);

  // Refuse before writing anything: files not ours, or edited by hand.
  const blocked = rendered.filter((f) => {
    const old = onDisk.get(f.path);
    return old !== undefined && old !== f.content && fileState(old) !== 'generated';
  });
  if (blocked.length > 0 && !opts.force) {
    const lines = blocked.map((f) => {
      const old = onDisk.get(f.path)!;
      const why =
        old === NOT_REGULAR
          ? NOT_REGULAR.trim().slice(1, -1)
          : fileState(old) === 'foreign'
            ? 'not made by deploy render'
            : 'edited by hand since it was rendered';
      return `${f.path}: ${why}`;
    });
    for (const l of lines.slice(0, -1)) ctx.out.error(l);
    throw new WorkFailedError(
      `${lines[lines.length - 1]}; ${blocked.length} file${blocked.length === 1 ? '' : 's'} would be overwritten; nothing was written`,
      {
        code: 'HAND_EDITED',
        hint: 'move your changes into config/plugin.yaml (or the flags) and pass --force to replace the files, or render into another --out',
        details: { files: blocked.map((f) => f.path) },
      },
    );
  }

  for (const f of rendered) {
    const old = onDisk.get(f.path);
    const entry: DeployFile = { path: f.path, status: old === undefined ? 'created' : old === f.content ? 'unchanged' : 'updated' };
    if (old !== undefined) entry.onDisk = fileState(old);
    result.files.push(entry);
  }
  await writeAll(
    projectDir,
    rendered.filter((f) => onDisk.get(f.path) !== f.content),
    out,
  );
  result.warnings.push(...(await packedDeployFiles(projectDir, out, manifest)));
  return result;
}

function check(rendered: RenderedFile[], onDisk: Map<string, string | undefined>, result: DeployResult): Promise<DeployResult> {
  return (async () => {
    const { createTwoFilesPatch } = await import('diff');
    const patches: string[] = [];
    for (const f of rendered) {
      const old = onDisk.get(f.path);
      const entry: DeployFile = { path: f.path, status: old === undefined ? 'missing' : old === f.content ? 'up-to-date' : 'stale' };
      if (old !== undefined) entry.onDisk = fileState(old);
      if (entry.status !== 'up-to-date') {
        patches.push(createTwoFilesPatch(`a/${f.path}`, `b/${f.path}`, old ?? '', f.content, undefined, undefined, { context: 3 }).replace(/^=+\n/, ''));
      }
      result.files.push(entry);
    }
    result.upToDate = patches.length === 0;
    result.diff = patches.join('');
    return result;
  })();
}

/** Generated files build would pack into the plugin archive (a hint to add them to .pluginignore). */
async function packedDeployFiles(projectDir: string, out: string, manifest: Manifest): Promise<string[]> {
  const { listProjectFiles } = await import('../core/package/file-list.js');
  const list = await listProjectFiles(projectDir, { outDir: path.join(projectDir, 'dist') });
  const reserved = reservedPaths(out, manifest);
  const hits = list.files.map((f) => f.path).filter((p) => reserved.files.has(p) || reserved.dirs.some((d) => p.startsWith(d)));
  if (hits.length === 0) return [];
  const top = [...new Set(hits.map((p) => reserved.dirs.find((d) => p.startsWith(d)) ?? p))];
  return [`\`plexichat-plugin build\` packs the deploy files into the plugin archive: add ${top.join(', ')} to .pluginignore`];
}

/** The account of a render (or --check) on ctx's output. */
export function showDeploy(r: DeployResult, ctx: Ctx): void {
  const { out } = ctx;
  if (r.check) {
    if (r.upToDate) {
      out.result(`${out.c.green('✔')} ${r.files.length} deploy files are up to date with config/plugin.yaml`);
      return;
    }
    out.result(r.diff!.replace(/\n$/, ''));
    for (const f of r.files.filter((x) => x.status !== 'up-to-date')) {
      const why =
        f.status === 'missing' ? 'missing' : f.onDisk === 'hand-edited' ? 'edited by hand' : f.onDisk === 'foreign' ? 'not made by deploy render' : 'stale';
      out.error(`${f.path}: ${why}`);
    }
    out.error('the deploy files are out of date: run `plexichat-plugin deploy render` and commit the result');
    return;
  }
  for (const f of r.files.filter((x) => x.status !== 'unchanged')) out.result(inline(`${f.status.padEnd(9)} ${f.path}`));
  const changed = r.files.filter((x) => x.status !== 'unchanged').length;
  out.result(
    inline(
      `${out.c.green('✔')} ${r.plugin.name} ${r.plugin.version} (${r.image}): ${changed} file${changed === 1 ? '' : 's'} written, ${r.files.length - changed} unchanged`,
    ),
  );
  for (const w of r.warnings) out.warn(w);
}

export function deployExit(r: DeployResult): number {
  return r.check && !r.upToDate ? 1 : 0;
}
