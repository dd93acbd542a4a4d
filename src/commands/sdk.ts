/**
 * `sdk wheel [--out DIR]`: write the bundled Python SDK as a standard wheel
 * (plexichat_plugin_sdk-<version>-py3-none-any.whl), built offline, so a
 * plugin's own virtual environment can `pip install` it and run a bare
 * `pytest` (docs/sdk.md, "The SDK as a wheel").
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { userPath, type Ctx } from '../io/context.js';
import { writeFileAtomic } from '../io/atomic.js';
import { cliVersion } from '../io/cli-version.js';
import { writingTo } from '../io/fs-errors.js';
import { buildSdkWheel, SDK_REQUIRES } from '../python/wheel.js';

export interface SdkWheelOptions {
  out?: string;
}

export interface SdkWheelResult {
  wheel: string;
  name: string;
  version: string;
  sha256: string;
  size: number;
  files: number;
  requires: string[];
}

export async function run(opts: SdkWheelOptions, ctx: Ctx): Promise<SdkWheelResult> {
  const given = opts.out ?? '.';
  const dir = userPath(ctx, given);
  const epoch = Number(ctx.env.SOURCE_DATE_EPOCH);
  const wheel = await buildSdkWheel({
    generator: `plexichat-plugin-cli ${cliVersion()}`,
    mtime: Number.isInteger(epoch) && epoch > 0 ? epoch : undefined,
  });
  const file = path.join(dir, wheel.name);
  await writingTo({ action: `write the SDK wheel to ${given}`, dir: given, flag: '--out <dir>', suffix: '; nothing was written' }, () =>
    writeFileAtomic(file, wheel.bytes, { makeFolder: true }),
  );
  return {
    wheel: file,
    name: wheel.name,
    version: wheel.version,
    sha256: createHash('sha256').update(wheel.bytes).digest('hex'),
    size: wheel.bytes.length,
    files: wheel.files.length,
    requires: SDK_REQUIRES,
  };
}

export function render(r: SdkWheelResult, ctx: Ctx): void {
  const { out } = ctx;
  const rel = path.relative(ctx.start, r.wheel);
  const shown = rel && !rel.startsWith('..') ? rel : r.wheel;
  out.result(`${out.c.green('✔')} wrote ${shown} (${r.files} files, ${r.size} bytes)`);
  out.info(`  sha256 ${r.sha256}`);
  out.info(`next: python3 -m venv plugin-env && plugin-env/bin/pip install ${shown}`);
  out.info(`      (it needs ${r.requires.join(', ')}; offline, make the venv with --system-site-packages where python3-yaml is installed, and add --no-index)`);
}
