#!/usr/bin/env node
// The import graph of src/: every relative import (static, `export … from`,
// and dynamic `import('…')`), checked for two things:
//   1. no import from a lower floor to a higher one (the floors are below);
//   2. no cycle between modules (type-only imports included: a cycle of
//      types is still a cycle a reader has to untangle);
//   3. no command module importing another command module.
// Usage: node scripts/import-graph.mjs [--json]   (exit 1 when either is found)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');

/**
 * Floors, lowest first, by the module's top folder under src/ alone: a
 * module may import its own floor or a lower one. No folder or file is
 * placed on a floor other than its room's.
 * 0  io/, and the modules at the root of src/ (errors.ts), which import nothing of src/
 * 1  core/                         pure domain rules (no process, network or TTY)
 * 2  every other room: the operations (python/, project/, check/, marketplace/,
 *    server/, signing/, deploy/, dev/, release/)
 * 3  commands/                     one module per command: flags, one call, render;
 *                                  no command module imports another (commandImports)
 * 4  cli/                          program, the error boundary
 */
const FLOORS = { io: 0, core: 1, commands: 3, cli: 4 };

export function floorOf(rel) {
  const parts = rel.split('/');
  if (parts.length === 1) return 0;
  return FLOORS[parts[0]] ?? 2;
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.ts$/.test(e.name) && !/\.d\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

export function graph() {
  const files = walk(src);
  const edges = new Map();
  for (const f of files) {
    const rel = path.relative(src, f).split(path.sep).join('/');
    const text = fs
      .readFileSync(f, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const deps = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      const target = path
        .relative(src, path.resolve(path.dirname(f), spec))
        .split(path.sep)
        .join('/')
        .replace(/\.js$/, '.ts');
      if (!target.startsWith('..')) deps.add(target);
    }
    edges.set(rel, [...deps].sort());
  }
  return edges;
}

export function upward(edges) {
  const out = [];
  for (const [from, deps] of edges) {
    for (const to of deps) if (floorOf(to) > floorOf(from)) out.push({ from, to });
  }
  return out;
}

/** Imports between two command modules: commands compose operations, never each other. */
export function commandImports(edges) {
  const out = [];
  for (const [from, deps] of edges) {
    if (!from.startsWith('commands/')) continue;
    for (const to of deps) if (to.startsWith('commands/')) out.push({ from, to });
  }
  return out;
}

/** Modules at the root of src/ (floor 0 by place) that import any module of src/. */
export function rootImports(edges) {
  const out = [];
  for (const [from, deps] of edges) if (!from.includes('/') && deps.length > 0) out.push({ from, to: deps });
  return out;
}

/** Strongly connected components of more than one module (Tarjan), or a self-import. */
export function cycles(edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) strong(v);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const edges = graph();
  const up = upward(edges);
  const cyc = cycles(edges);
  const cmd = commandImports(edges);
  const root = rootImports(edges);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ modules: edges.size, upward: up, cycles: cyc, commandImports: cmd, rootImports: root }, null, 2));
  } else {
    console.log(`${edges.size} modules, ${[...edges.values()].reduce((n, d) => n + d.length, 0)} imports`);
    for (const u of up) console.log(`upward: ${u.from} (floor ${floorOf(u.from)}) imports ${u.to} (floor ${floorOf(u.to)})`);
    for (const c of cyc) console.log(`cycle: ${c.join(' <-> ')}`);
    for (const c of cmd) console.log(`command imports command: ${c.from} imports ${c.to}`);
    for (const r of root) console.log(`root module imports: ${r.from} imports ${r.to.join(', ')}`);
    if (up.length === 0 && cyc.length === 0 && cmd.length === 0 && root.length === 0) console.log('no upward import, no cycle, no command importing another');
  }
  process.exitCode = up.length || cyc.length || cmd.length || root.length ? 1 : 0;
}
