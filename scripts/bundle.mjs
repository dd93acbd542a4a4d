#!/usr/bin/env node
/**
 * The CLI as the bins run it: dist/cli/main.js and what it imports, bundled
 * by esbuild into dist/bundle/ (ES modules, one chunk per lazy import, so a
 * command still loads only what it uses). Start-up was mostly module
 * resolution and loading: about 90 of our modules and some 150 files of
 * commander, yaml and semver for a small `build`; bench/startup.mjs and
 * bench/build.mjs measure it. Runs after tsc in `npm run build`, from its
 * JavaScript output, so the bundle is exactly what the tests of dist/ run.
 *
 * Bundled: the runtime dependencies that are plain JavaScript. Left to
 * Node's resolution: the server's optional packages (native better-sqlite3,
 * fastify and its plugins), undici (loaded with createRequire for its
 * WebAssembly), and any package not named here.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'bundle');

const BUNDLED = new Set([
  'commander',
  'yaml',
  'semver',
  'ignore',
  'fastest-levenshtein',
  'yauzl',
  'buffer-crc32',
  'pend',
  'smol-toml',
  '@renovatebot/pep440',
  'diff',
  '@lezer/highlight',
  '@lezer/lr',
  '@lezer/common',
  '@prometheus-io/lezer-promql',
  'fast-xml-parser',
  'strnum',
]);

/** The package a bare import names: `yaml`, `@lezer/lr` (its subpaths too). */
function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const externals = {
  name: 'externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      return BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};

fs.rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'dist/cli/main.js' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  plugins: [externals],
  // CommonJS dependencies call require() for Node's own modules.
  banner: { js: "import { createRequire as __pxpRequire } from 'node:module'; const require = __pxpRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

// Which modules each file of the bundle holds (paths from the repository root), for the
// tests that ask what a run loaded (test/helpers/load-hook.ts).
const holds = {};
for (const [file, out] of Object.entries(result.metafile.outputs)) holds[path.basename(file)] = Object.keys(out.inputs).sort();
fs.writeFileSync(path.join(OUT, 'modules.json'), `${JSON.stringify(holds, null, 1)}\n`);
