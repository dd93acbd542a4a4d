#!/usr/bin/env node
/**
 * For bench/build.mjs: the packing half of `build` alone (file list, secret
 * scan, zip, atomic write), without the validation that `build` runs
 * alongside it. Usage: node bench/build-core.mjs <project> <outDir> <name> <version>
 */
import { buildArchive } from '../dist/core/package/build.js';

const [projectDir, outDir, name, version] = process.argv.slice(2);
const r = await buildArchive({ projectDir, outDir, plugin: { name, version } });
if (!r.archive) {
  console.error(JSON.stringify({ problems: r.list.problems, secrets: r.secrets }));
  process.exit(1);
}
