/**
 * The endpoint rule (src/core/endpoint.ts) as a class: every way a path can
 * leave /api/v1/ once a router or proxy normalises it is refused, every
 * accepted path is one a URL parser reads back unchanged, and the Python
 * SDK's copy (plexichat_plugin_sdk/_endpoint.py, applied when a plugin
 * registers a path) gives the same reason and hint for every case.
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { endpointProblem, ENDPOINT_PREFIX } from '../../src/core/endpoint.js';
import { findPython } from '../../src/python/discover.js';

const SDK = fileURLToPath(new URL('../../sdk/python/', import.meta.url));

/** Paths that must be refused, each with the words its reason must carry. */
const REFUSED: [path: string, reason: RegExp][] = [
  ['/api/v1/../../admin/users', /'\.' or '\.\.' segment/],
  ['/api/v1/..', /'\.' or '\.\.' segment/],
  ['/api/v1/x/..', /'\.' or '\.\.' segment/],
  ['/api/v1/x/../../../etc/passwd', /'\.' or '\.\.' segment/],
  ['/api/v1/./x', /'\.' or '\.\.' segment/],
  ['/api/v1/x/.', /'\.' or '\.\.' segment/],
  ['/api/../v1/x', /'\.' or '\.\.' segment/],
  ['/../api/v1/x', /'\.' or '\.\.' segment/],
  ['../api/v1/x', /'\.' or '\.\.' segment/],
  ['/api/v1/%2e%2e/admin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/%2E%2E/admin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/%2e./admin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/.%2E/admin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/%2e/admin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/x%2fadmin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/x%2F..%2Fadmin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/x%5cadmin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/x%5C..%5Cadmin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/%252e%252e/admin', /percent-encoded dot, slash or backslash/],
  ['/api/v1/%25252F', /percent-encoded dot, slash or backslash/],
  ['/api/v1/x\\..\\admin', /backslash/],
  ['/api/v1\\x', /backslash/],
  ['\\api\\v1\\x', /backslash/],
  ['/api/v1//admin', /empty segment/],
  ['/api/v1/x//y', /empty segment/],
  ['/api/v1/x/', /empty segment/],
  ['/api/v1/', /empty segment/],
  ['//api/v1/x', /not an absolute path under \/api\/v1\//],
  ['/api//v1/x', /not an absolute path under \/api\/v1\//],
  ['/api/v1', /not an absolute path under \/api\/v1\//],
  ['/api/v2/x', /not an absolute path under \/api\/v1\//],
  ['/API/v1/x', /not an absolute path under \/api\/v1\//],
  ['api/v1/x', /not an absolute path under \/api\/v1\//],
  ['/hello/status', /not an absolute path under \/api\/v1\//],
  ['http://evil.example/api/v1/x', /not an absolute path under \/api\/v1\//],
  ['/api/v1/x%20y', /percent-encoding/],
  ['/api/v1/%41dmin', /percent-encoding/],
  ['/api/v1/x%', /percent-encoding/],
  ['/api/v1/x y', /space or control character/],
  ['/api/v1/x\ty', /space or control character/],
  ['/api/v1/x\n/../admin', /space or control character/],
  ['/api/v1/x\u0000', /space or control character/],
  ['/api/v1/x\u007f', /space or control character/],
  ['/api/v1/x?y=1', /not URL path characters/],
  ['/api/v1/x#frag', /not URL path characters/],
  ['/api/v1/\u2025/admin', /not URL path characters/],
  ['/api/v1/\uff0e\uff0e/admin', /not URL path characters/],
  ['/api/v1/caf\u00e9', /not URL path characters/],
  ['/api/v1/x<y>', /not URL path characters/],
  ['/api/v1/`x`', /not URL path characters/],
  ['/api/v1/"x"', /not URL path characters/],
  ['/api/v1/x|y', /not URL path characters/],
  ['/api/v1/x^y', /not URL path characters/],
  ['', /empty/],
];

const ACCEPTED = [
  '/api/v1/hello/status',
  '/api/v1/my_plugin/users/{user_id}',
  '/api/v1/a',
  '/api/v1/.well-known',
  '/api/v1/x/...',
  '/api/v1/x/..y',
  '/api/v1/x/y..',
  '/api/v1/v1.2/report',
  "/api/v1/a-b_c~d:e@f!g$h&i'j(k)l*m+n,o;p=q",
];

/** Risky pieces, joined at random into paths the rule has to judge (same answer in both languages). */
const PIECES = ['/', '//', '.', '..', '%2e', '%2E', '%2f', '%5c', '%25', '\\', 'api', 'v1', 'x', '{id}', ' ', '?', '~', '%41', '\u00e9'];

function generated(n: number, seed = 7): string[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let p = rnd() < 0.7 ? ENDPOINT_PREFIX : '';
    const k = 1 + Math.floor(rnd() * 6);
    for (let j = 0; j < k; j++) p += PIECES[Math.floor(rnd() * PIECES.length)];
    out.push(p);
  }
  return out;
}

/** What a router does with the path: a URL parser's resolution against a base. */
const resolved = (p: string) => new URL(p, 'http://plugin.invalid').pathname;

describe('the endpoint rule', () => {
  it.each(REFUSED)('refuses %j with a reason and a hint naming a good path', (p, reason) => {
    const problem = endpointProblem(p);
    expect(problem, p).toBeDefined();
    expect(problem!.reason).toMatch(reason);
    expect(problem!.reason).not.toContain('\n');
    expect(problem!.hint).toMatch(/\/api\/v1\/[A-Za-z0-9_{}.~-]+/);
    expect(endpointProblem(problem!.hint.replace(/^.*e\.g\. /, '').replace(/^.*such as /, ''))).toBeUndefined();
  });

  it.each(ACCEPTED)('accepts %j', (p) => {
    expect(endpointProblem(p)).toBeUndefined();
  });

  it('accepts only paths a URL parser reads back unchanged, under /api/v1/', () => {
    const all = [...ACCEPTED, ...REFUSED.map(([p]) => p), ...generated(3000)];
    let accepted = 0;
    for (const p of all) {
      if (endpointProblem(p)) continue;
      accepted += 1;
      expect(resolved(p), p).toBe(p.replace(/\{/g, '%7B').replace(/\}/g, '%7D'));
      expect(resolved(p).startsWith(ENDPOINT_PREFIX), p).toBe(true);
    }
    expect(accepted).toBeGreaterThan(ACCEPTED.length);
  });

  it('every path that resolves outside /api/v1/ is refused', () => {
    for (const p of [...REFUSED.map(([x]) => x), ...generated(3000, 11)]) {
      let outside: boolean;
      try {
        outside = !resolved(p).startsWith(ENDPOINT_PREFIX) || resolved(p.replace(/\\/g, '/')) !== resolved(p);
      } catch {
        outside = true;
      }
      if (outside) expect(endpointProblem(p), p).toBeDefined();
    }
  });

  it("the Python SDK's copy gives the same answer for every case", async () => {
    const found = await findPython({ env: process.env });
    if (!found.ok) throw new Error('this test needs Python 3 (sudo apt-get install -y python3)');
    const cases = [...REFUSED.map(([p]) => p), ...ACCEPTED, ...generated(2000, 3)];
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(SDK)})`,
      'from plexichat_plugin_sdk._endpoint import endpoint_problem',
      'cases = json.loads(sys.stdin.read())',
      'out = [endpoint_problem(c) for c in cases]',
      'sys.stdout.write(json.dumps([None if o is None else {"reason": o[0], "hint": o[1]} for o in out]))',
    ].join('\n');
    const r = await execa(found.python.path, ['-c', script], { input: JSON.stringify(cases), reject: false, env: { PYTHONDONTWRITEBYTECODE: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout) as ({ reason: string; hint: string } | null)[];
    const ts = cases.map((c) => endpointProblem(c) ?? null);
    const differ = cases.filter((c, i) => JSON.stringify(py[i]) !== JSON.stringify(ts[i]));
    expect(differ, `first difference: ${JSON.stringify(differ[0])}`).toEqual([]);
  });
});
