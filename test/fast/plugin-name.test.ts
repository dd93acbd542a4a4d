/**
 * One plugin-name rule: over a generated set of names, `init` (in-process,
 * writing a real project), `validate`'s manifest rules (on the file init
 * wrote) and the development marketplace (over HTTP) agree on every name.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest/index.js';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

/** A small deterministic generator (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function names(): string[] {
  const fixed = [
    'abc',
    'abc_',
    '_abc',
    'ab',
    'a_b',
    'a__b',
    'abc_def',
    'abc__def',
    'abc1',
    '1abc',
    'a1_2b',
    'abc_1',
    'Abc',
    'abc-def',
    'abc.def',
    'abc def',
    'x'.repeat(64),
    'x'.repeat(65),
    `a${'_b'.repeat(31)}`,
    'advanced_analytics',
    'über',
    'abc\u0000',
    'ab_',
    'a_',
    'aaa_',
    'a1',
    'a11',
    '__init__',
  ];
  const next = rng(9);
  const alphabet = 'abcz019_____A-.';
  const out = new Set(fixed);
  while (out.size < fixed.length + 120) {
    const len = 1 + Math.floor(next() * 12);
    let s = '';
    for (let i = 0; i < len; i += 1) s += alphabet[Math.floor(next() * alphabet.length)];
    out.add(s);
  }
  return [...out];
}

async function serverAccepts(srv: DevServer, name: string): Promise<boolean> {
  const res = await fetch(`${srv.url}/api/v1/plugins/${encodeURIComponent(name)}`);
  const body = (await res.json()) as { error?: { code: string } };
  return !(res.status === 400 && body.error?.code === 'INVALID_NAME');
}

describe('the plugin-name rule is the same for init, validate and the marketplace', () => {
  let srv: DevServer;
  beforeAll(async () => {
    srv = await startDevServer();
  });
  afterAll(async () => {
    await srv.stop();
  });

  it('every name init accepts passes validate and the server; every name they refuse init refuses', async () => {
    const root = await tempDir();
    const disagreements: string[] = [];
    let accepted = 0;
    for (const [i, name] of names().entries()) {
      const dir = path.join(root, `p${i}`);
      const init = await runMain(['init', dir, '--name', name, '--category', 'utility', '--yes']);
      const initOk = init.exitCode === 0;
      if (!initOk) expect(init.exitCode, `${JSON.stringify(name)}: ${init.stderr}`).toBe(2);
      // A URL path cannot carry '.' or '..' as a segment (every HTTP client resolves them away),
      // so the server can never be asked about those two; init and validate refuse them.
      const serverOk = /^\.{1,2}$/.test(name) ? false : await serverAccepts(srv, name);
      let validateOk: boolean;
      if (initOk) {
        accepted += 1;
        const parsed = parseManifest(await fs.readFile(path.join(dir, 'config', 'plugin.yaml')));
        validateOk = !parsed.diagnostics.some((d) => d.code === 'INVALID_NAME');
      } else {
        const yaml = `plugin:\n  name: ${JSON.stringify(name)}\n  version: 1.0.0\n  author: a\n  description: d\nmetadata:\n  category: utility\n`;
        validateOk = !parseManifest(yaml).diagnostics.some((d) => d.code === 'INVALID_NAME');
      }
      if (initOk !== validateOk || initOk !== serverOk) {
        disagreements.push(`${JSON.stringify(name)}: init ${initOk}, validate ${validateOk}, server ${serverOk}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(10);
  }, 120_000);

  it('init --name abc_ is refused with a suggestion, as validate would refuse it', async () => {
    const root = await tempDir();
    const r = await runMain(['init', path.join(root, 'x'), '--name', 'abc_', '--category', 'utility', '--yes']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/abc_/);
    expect(r.stderr).toMatch(/underscore/);
  });
});
