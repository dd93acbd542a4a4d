/**
 * `marketplace index --to DIR|s3://bucket/prefix [--data-dir DIR] [--s3-endpoint URL]`:
 * write the static registry (docs/static-registry.md) of a development
 * marketplace's published plugins, from its data dir (the server stopped:
 * a running one keeps its registry current with `serve --index-to`).
 * Idempotent: a second run writes nothing.
 */
import path from 'node:path';
import { userPath, type Ctx } from '../../io/context.js';
import { CliError, UsageError, WorkFailedError } from '../../errors.js';
import { MARKETPLACE_DATA_DIR, userDir } from '../../io/dirs.js';
import { inline } from '../../io/terminal.js';
import type { IndexReport } from '../../registry/writer.js';
import { registryWriteError } from '../../registry/errors.js';

export interface IndexOptions {
  to?: string;
  dataDir?: string;
  s3Endpoint?: string;
}

export interface IndexResult {
  to: string;
  data_dir: string;
  plugins: string[];
  versions: number;
  written: string[];
  unchanged: number;
}

function dataDirOf(opts: IndexOptions, ctx: Ctx): string {
  if (opts.dataDir !== undefined) return userPath(ctx, opts.dataDir);
  const base = userDir('data', ctx.env);
  if (base === undefined)
    throw new UsageError('no home folder to find the marketplace data in (HOME and XDG_DATA_HOME are not set)', { hint: 'pass --data-dir <dir>' });
  return path.join(base, MARKETPLACE_DATA_DIR);
}

async function openSource(dataDir: string) {
  const { missingServerPackages } = await import('../../server/deps.js');
  const missing = await missingServerPackages();
  if (missing.length > 0) {
    throw new WorkFailedError(`marketplace index needs ${missing.map((m) => m.name).join(', ')} to read the marketplace data`, {
      code: 'SERVER_DEPS_MISSING',
      hint: `run npm install ${missing.map((m) => `${m.name}@${m.range}`).join(' ')} where plexichat-plugin-cli is installed`,
    });
  }
  const { openDataDirSource } = await import('../../server/index-source.js');
  try {
    return await openDataDirSource(dataDir);
  } catch (err) {
    if ((err as { code?: string }).code === 'DATA_DIR_IN_USE') {
      throw new WorkFailedError(`a marketplace server is using ${dataDir}`, {
        code: 'DATA_DIR_IN_USE',
        hint: 'stop it and run index again, or let it keep the registry current: marketplace serve --index-to <dir|s3://…>',
      });
    }
    throw new WorkFailedError(`cannot read the marketplace data in ${dataDir}: ${String((err as Error).message).split('\n')[0]}`, {
      code: 'DATA_DIR_UNUSABLE',
      hint: 'pass the --data-dir of `marketplace serve`',
    });
  }
}

export async function run(opts: IndexOptions, ctx: Ctx): Promise<IndexResult> {
  if (opts.to === undefined) throw new UsageError('marketplace index needs --to <dir|s3://bucket/prefix>', { hint: 'e.g. marketplace index --to ./registry' });
  const dataDir = dataDirOf(opts, ctx);
  const { openSink } = await import('../../registry/sink.js');
  const sink = await openSink(opts.to, { flag: '--to', endpoint: opts.s3Endpoint, env: ctx.env, cwd: ctx.cwd });
  try {
    const opened = await openSource(dataDir);
    if (!opened)
      throw new UsageError(`${dataDir} holds no marketplace data (no marketplace.db)`, {
        code: 'NO_MARKETPLACE_DATA',
        hint: 'pass the --data-dir of `marketplace serve`',
      });
    try {
      const { writeRegistry } = await import('../../registry/writer.js');
      const report: IndexReport = await writeRegistry(opened.source, sink).catch((err: unknown) => {
        throw err instanceof CliError ? err : registryWriteError(err, sink.label);
      });
      return { to: sink.label, data_dir: dataDir, ...report };
    } finally {
      await opened.close();
    }
  } finally {
    await sink.close();
  }
}

export function render(r: IndexResult, ctx: Ctx): void {
  ctx.out.result(inline(`${ctx.out.c.green('✔')} indexed ${r.plugins.length} plugin(s), ${r.versions} version(s) into ${r.to}`));
  ctx.out.result(`  ${r.written.length} file(s) written, ${r.unchanged} unchanged`);
}
