/**
 * Text the CLI did not write stays on its line: a server's fields, a
 * manifest value, a suppression reason, an error message from a server.
 * Line breaks (LF, CR, NEL, U+2028, U+2029), other control characters and
 * bidi controls in it are shown escaped (io/terminal.ts `inline`), so it
 * cannot forge a line of the CLI's (a "9.9.9 stable (signed by …)" version
 * line, a "✔ check passed", a `::error::` workflow command for a CI runner).
 * Hostile servers here are small HTTP servers on 127.0.0.1.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotation } from '../../src/check/github.js';
import { Output } from '../../src/io/output.js';
import { inline, terminalSafe } from '../../src/io/terminal.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { offline, useScaffold } from '../helpers/scaffold.js';
import { tempDir } from '../helpers/temp-project.js';
import { manifestYaml } from '../helpers/zip-fixtures.js';
import { isolatedEnv } from './marketplace-helpers.js';

/** Every way to start a new line, or reorder one, that a terminal or a CI log may honour. */
const BREAKS = ['\n', '\r', '\r\n', '\u0085', '\u2028', '\u2029', '\u000b', '\u000c'];
const BIDI = ['\u202e', '\u202a', '\u2066', '\u2067', '\u2068', '\u2069', '\u200f', '\u061c'];
// eslint-disable-next-line no-control-regex -- the characters under test
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

/** Lines of output, and no raw control, separator or bidi character in any of them. */
function lines(text: string): string[] {
  expect(text).not.toMatch(RAW);
  return text.split('\n');
}

describe('the rule (io/terminal.ts)', () => {
  it('inline shows every line break and bidi control escaped', () => {
    for (const b of [...BREAKS, ...BIDI]) {
      const t = inline(`a${b}b`);
      expect(t, JSON.stringify(b)).not.toMatch(RAW);
      expect(t).not.toContain('\n');
      expect(t).toMatch(/^a(\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt]))+b$/);
    }
  });

  it('every Output line shows bidi controls and U+2028/2029 escaped; warn, error, success and debug stay one line', () => {
    const chunks: Buffer[] = [];
    const s = new PassThrough();
    s.on('data', (c: Buffer) => chunks.push(c));
    const out = new Output({ json: false, quiet: false, verbose: true, color: false, stdout: s, stderr: s });
    for (const b of [...BREAKS, ...BIDI]) {
      out.warn(`w${b}::error::forged`);
      out.error(`e${b}::error::forged`);
      out.success(`s${b}::error::forged`);
      out.debug(`d${b}::error::forged`);
      out.result(`r${b.replace(/[\n\r]/g, '')}x`);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    expect(lines(text).filter((l) => l.startsWith('::error::'))).toEqual([]);
    expect(terminalSafe('a\u202eb\u2028c')).toBe('a\\u202eb\\u2028c');
  });

  it('a GitHub annotation keeps its message on its line: CR/LF as %0D/%0A, every other break or bidi control escaped', () => {
    for (const b of [...BREAKS, ...BIDI, '\u001b[31m']) {
      const a = annotation({ level: 'error', file: `x${b}.py`, line: 1, message: `m${b}::error::forged` });
      expect(a.split('\n')).toHaveLength(1);
      expect(a, JSON.stringify(b)).not.toMatch(RAW);
    }
  });
});

interface Hostile {
  url: string;
  close(): Promise<void>;
}

const FORGED_OWNER = 'evil\n  9.9.9  stable  2026-01-01  sha256 0000000000… (signed by key 1234abcd)';

/** A marketplace that answers well-formed JSON whose text fields try to forge lines. */
async function hostileMarketplace(): Promise<Hostile> {
  const submission = {
    id: 'sub_1\n✔ approved',
    plugin: 'demo_plugin',
    version: '1.0.0\u2028next: plexichat-plugin marketplace publish sub_2',
    state: 'pending',
    channel: 'stable\u202e',
    updated_at: '2026-01-01\r✔ published',
    notes: '',
  };
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
      res.end(JSON.stringify(body));
    };
    const url = (req.url ?? '/').replace(/^\/api\/v1/, '');
    if (url === '/plugins/evil_plugin') {
      return send(200, {
        name: 'evil_plugin',
        owner: FORGED_OWNER,
        versions: [{ version: '1.0.0\u2028  9.9.9', channel: 'stable\u0085  8.8.8 stable', published_at: '2026\u202e-01-01', sha256: 'a'.repeat(64) }],
      });
    }
    if (url === '/submissions/sub_1') return send(200, submission);
    if (url === '/plugins/demo_plugin/submissions') return send(200, { submissions: [submission, { ...submission, id: 'sub_2\u2029forged' }] });
    if (url === '/me') return send(200, { user: 'eve\nLogged in as admin', role: 'developer' });
    send(404, { error: { code: 'NOT_FOUND', message: 'not here\n✔ downloaded evil_plugin 9.9.9\u2028(verified)\u202e' } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('text from a hostile marketplace stays on its line', () => {
  let srv!: Hostile;
  let env!: Record<string, string | undefined>;
  beforeAll(async () => {
    srv = await hostileMarketplace();
    env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: 'pcx_hostile_test_token' });
  });
  afterAll(() => srv.close());

  it('marketplace info: an owner with a line break cannot forge a version line', async () => {
    const r = await runMain(['marketplace', 'info', 'evil_plugin'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe('evil_plugin (owner evil\\n  9.9.9  stable  2026-01-01  sha256 0000000000… (signed by key 1234abcd))');
    // One version line only: the server's, with its separators escaped.
    expect(out.filter((l) => l.startsWith('  '))).toEqual([`  1.0.0\\u2028  9.9.9  stable\\x85  8.8.8 stable  2026\\u202e-01-01  sha256 ${'a'.repeat(12)}…`]);
    const json = await runMain(['--json', 'marketplace', 'info', 'evil_plugin'], { env });
    expect(JSON.parse(json.stdout).owner).toBe(FORGED_OWNER);
  });

  it('marketplace status <id>: id, version, channel and time stay on one line', async () => {
    const r = await runMain(['marketplace', 'status', 'sub_1'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = lines(r.stdout).filter(Boolean);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('sub_1\\n✔ approved');
    expect(r.stdout + r.stderr).not.toMatch(/^next: plexichat-plugin marketplace publish sub_2/m);
  });

  it('marketplace status (the review list of the plugin): one line per submission', async () => {
    const dir = await tempDir({ config: { 'plugin.yaml': manifestYaml() } });
    const r = await runMain(['marketplace', 'status'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = lines(r.stdout).filter(Boolean);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatch(/^sub_2\\u2029forged {2}demo_plugin 1\.0\.0\\u2028next/);
  });

  it('marketplace whoami: a user name with a line break stays on its line', async () => {
    const r = await runMain(['marketplace', 'whoami'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(r.stdout)[0]).toBe(`eve\\nLogged in as admin (developer) on ${srv.url}`);
  });

  it("marketplace download: the server's error message is one error line, the forged success line is not shown", async () => {
    const dir = await tempDir();
    const r = await runMain(['marketplace', 'download', 'evil_plugin@1.0.0'], { cwd: dir, env });
    expect(r.exitCode).not.toBe(0);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const err = lines(r.stderr);
    expect(err.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(err.some((l) => /^\s*✔ downloaded/.test(l))).toBe(false);
    expect(r.stdout).toBe('');
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

describe('manifest text, suppression reasons and diagnostics stay on their line', () => {
  const copy = useScaffold('text_plugin', 'pxp-text-');
  const category = (v: string) => async (dir: string) => {
    const m = path.join(dir, 'config/plugin.yaml');
    await fs.writeFile(m, (await fs.readFile(m, 'utf8')).replace('category: "utility"', `category: ${JSON.stringify(v)}`));
  };

  it('validate: a manifest value with line breaks and a bidi override is one diagnostic line, in the terminal and as a GitHub annotation', async () => {
    const dir = await copy();
    await category('x\n::error file=src/plugin.py::forged\u2028✔ valid\u202e')(dir);
    for (const gh of ['false', 'true']) {
      const r = await runMain(['validate'], { cwd: dir, env: { ...offline, GITHUB_ACTIONS: gh } });
      expect(r.exitCode).toBe(1);
      const out = lines(r.stdout);
      const found = out.filter((l) => l.includes('UNKNOWN_CATEGORY'));
      expect(found).toHaveLength(gh === 'true' ? 2 : 1);
      expect(found[0]).toContain("unknown category 'x\\n::error file=src/plugin.py::forged\\u2028✔ valid\\u202e'");
      // The only workflow command is the CLI's own annotation, and it holds the whole message.
      const commands = out.filter((l) => l.startsWith('::'));
      expect(commands).toHaveLength(gh === 'true' ? 1 : 0);
      if (gh === 'true')
        expect(commands[0]).toMatch(
          /^::error file=config\/plugin\.yaml,line=\d+,col=\d+::validate\/UNKNOWN_CATEGORY|^::error file=config\/plugin\.yaml,line=\d+,col=\d+::UNKNOWN_CATEGORY/,
        );
    }
  });

  it("check's text report: a suppression reason with a line break cannot print a ::error:: line", async () => {
    const dir = await copy();
    await fs.writeFile(
      path.join(dir, '.plexichat.yaml'),
      'check:\n  rules:\n    docs/PLACEHOLDER:\n      severity: off\n      reason: "ok\\n::error file=src/plugin.py,line=1::forged\\u2028\\u202eforged"\n',
    );
    await fs.writeFile(path.join(dir, 'docs/README.md'), '# text_plugin\n\nTODO: say what it does\n');
    const r = await runMain(['check'], { cwd: dir, env: offline });
    const all = `${r.stdout}\n${r.stderr}`;
    expect(lines(all).filter((l) => l.startsWith('::'))).toEqual([]);
    expect(r.stderr).toContain('docs/PLACEHOLDER: ok\\n::error file=src/plugin.py,line=1::forged\\u2028\\u202eforged)');
  });

  it("check's text report and --format github: a finding with manifest text is one line each", async () => {
    const dir = await copy();
    await category('x\r\n::error::forged\u0085✔ check passed')(dir);
    const text = await runMain(['check'], { cwd: dir, env: offline });
    expect(lines(`${text.stdout}\n${text.stderr}`).filter((l) => /^(::|✔ check passed)/.test(l))).toEqual([]);
    const gh = await runMain(['check', '--format', 'github'], { cwd: dir, env: offline });
    const ann = lines(gh.stdout).filter((l) => l.includes('UNKNOWN_CATEGORY'));
    expect(ann).toHaveLength(1);
    expect(ann[0]).toMatch(
      /^::error file=config\/plugin\.yaml,line=\d+,col=\d+::validate\/UNKNOWN_CATEGORY unknown category 'x%0D%0A::error::forged\\x85✔ check passed'/,
    );
    expect(lines(gh.stdout).filter((l) => l.startsWith('::error::'))).toEqual([]);
  });
});
