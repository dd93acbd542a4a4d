#!/usr/bin/env node
// The npm package ships npm-shrinkwrap.json: the versions package-lock.json
// pins, without the development-only entries. So `npm install -g <tarball>`
// installs exactly what the tests ran against, and can do it from the npm
// cache alone (`--offline`) once `npm ci` has filled it. Written by prepack,
// removed by postpack (`--remove`); never committed (.gitignore).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Write npm-shrinkwrap.json for the package in `into` (default: this checkout) from this checkout's lock. */
export function writeShrinkwrap(into = root) {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const packages = Object.fromEntries(Object.entries(lock.packages ?? {}).filter(([, p]) => !p.dev));
  fs.writeFileSync(path.join(into, 'npm-shrinkwrap.json'), `${JSON.stringify({ ...lock, packages }, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--remove')) fs.rmSync(path.join(root, 'npm-shrinkwrap.json'), { force: true });
  else writeShrinkwrap();
}
