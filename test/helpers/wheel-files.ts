/**
 * Real wheels for the dependency tests, made by test/helpers/wheels.py with
 * the interpreter the test runs pip under: `make` writes a small wheel
 * (METADATA, WHEEL, RECORD; a platform tag when asked), `repack` turns a
 * package installed in that interpreter into a wheel.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const WHEELS_PY = fileURLToPath(new URL('./wheels.py', import.meta.url));

/** A wheel of `name` `version` in `out` (its tag, e.g. cp311-cp311-manylinux_2_17_x86_64; what it requires). */
export async function makeWheel(python: string, out: string, name: string, version: string, opts: { tag?: string; requires?: string[] } = {}): Promise<void> {
  const args = [WHEELS_PY, 'make', out, name, version, ...(opts.tag ? ['--tag', opts.tag] : []), ...(opts.requires ?? []).flatMap((r) => ['--requires', r])];
  await execa(python, args);
}
