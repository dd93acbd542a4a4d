#!/usr/bin/env node
// Functions in src/ longer than the limit (default 100 lines), found with the
// TypeScript parser. A long function is allowed when a comment directly above
// it says why: `// long-function: <reason>`.
// Usage: node scripts/function-lengths.mjs [limit] [--json]   (exit 1 when one is over)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.ts$/.test(e.name) && !/\.(d|generated)\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

function nameOf(node) {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

export function longFunctions(limit = 100) {
  const out = [];
  for (const file of walk(path.join(root, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      const isFn =
        ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isArrowFunction(node) ||
        ts.isFunctionExpression(node) ||
        ts.isConstructorDeclaration(node);
      if (isFn && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.end).line;
        const lines = end - start + 1;
        if (lines > limit) {
          const stmt = ts.isArrowFunction(node) || ts.isFunctionExpression(node) ? (node.parent?.parent?.parent ?? node) : node;
          const leading = text.slice(Math.max(0, stmt.getFullStart()), stmt.getStart(sf));
          const reason = /\/\/\s*long-function:\s*(\S.*)/.exec(leading)?.[1];
          out.push({ file: path.relative(root, file), line: start + 1, name: nameOf(node), lines, reason });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const limit = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100);
  const found = longFunctions(limit);
  if (process.argv.includes('--json')) console.log(JSON.stringify(found, null, 2));
  else {
    for (const f of found) console.log(`${f.file}:${f.line} ${f.name} ${f.lines} lines${f.reason ? ` (allowed: ${f.reason})` : ''}`);
    console.log(`${found.filter((f) => !f.reason).length} function(s) over ${limit} lines without a reason`);
  }
  process.exitCode = found.some((f) => !f.reason) ? 1 : 0;
}
