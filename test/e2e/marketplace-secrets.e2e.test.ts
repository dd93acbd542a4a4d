/**
 * Secrets (issue 20, class 7): `marketplace serve` takes tokens from a file
 * (--tokens-file) and the environment, not only from flags that ps shows;
 * and a hostile server that echoes the caller's token in X-Request-Id, the
 * error document's fields or its headers never gets it into the CLI's text
 * or --json output.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

type Proc = ResultPromise<{ reject: false; env: Record<string, string>; extendEnv: true; stdin: 'ignore' }>;

function spawnServe(args: string[], env: Record<string, string> = {}): Proc {
  return execa(process.execPath, [BIN, 'marketplace', 'serve', ...args], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1', ...env },
    extendEnv: true,
    stdin: 'ignore',
    timeout: 60_000,
  });
}

function firstDocument(proc: Proc): Promise<{ url: string; tokens: { developer: string[]; reviewer: string[] } }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString('utf8');
      try {
        resolve(JSON.parse(text) as never);
        proc.stdout.off('data', onData);
      } catch {
        // not complete yet
      }
    };
    proc.stdout.on('data', onData);
    proc.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${r.stderr}`)), reject);
  });
}

async function me(url: string, token: string): Promise<{ status: number; role?: string }> {
  const res = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, role: ((await res.json()) as { role?: string }).role };
}

describe('marketplace serve: tokens from a file and from the environment', () => {
  it('--tokens-file and PLEXICHAT_SERVE_*_TOKENS are accepted together; the command line shows none of them; nothing generated', async () => {
    const dir = await tempDir({}, 'pxp-secrets-');
    const file = path.join(dir, 'tokens.txt');
    await fs.writeFile(file, '# tokens for the team\ndeveloper file-dev-token-0001\n\nreviewer  file-review-token-0001\r\ndeveloper file-dev-token-0002\n', {
      mode: 0o600,
    });
    const proc = spawnServe(['--json', '--port', '0', '--data-dir', path.join(dir, 'data'), '--tokens-file', file], {
      PLEXICHAT_SERVE_DEVELOPER_TOKENS: 'env-dev-token-0001, env-dev-token-0002',
      PLEXICHAT_SERVE_REVIEWER_TOKENS: 'env-review-token-0001',
    });
    try {
      const doc = await firstDocument(proc);
      expect(doc.tokens.developer).toEqual([]);
      // Tokens the user gave are never printed back: both lists are empty (only generated tokens are shown).
      expect(doc.tokens.reviewer).toEqual([]);
      for (const t of ['file-dev-token-0001', 'file-dev-token-0002', 'env-dev-token-0001', 'env-dev-token-0002'])
        expect(await me(doc.url, t)).toEqual({ status: 200, role: 'developer' });
      for (const t of ['file-review-token-0001', 'env-review-token-0001']) expect(await me(doc.url, t)).toEqual({ status: 200, role: 'reviewer' });
      expect((await me(doc.url, 'generated-never-0001')).status).toBe(401);
      // What ps shows: the command line.
      const cmdline = (await fs.readFile(`/proc/${proc.pid}/cmdline`, 'utf8').catch(() => proc.spawnargs.join('\0'))).split('\0').join(' ');
      expect(cmdline).toContain('--tokens-file');
      expect(cmdline).not.toMatch(/token-000/);
    } finally {
      proc.kill('SIGTERM');
    }
    const r = await proc;
    expect(r.exitCode).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/(file|env)-(dev|review)-token-000/);
    expect(r.stderr).not.toMatch(/can be read by other users/);
  });

  it('a tokens file others can read is said (chmod 600); the tokens still work', async () => {
    const dir = await tempDir({}, 'pxp-secrets-');
    const file = path.join(dir, 'tokens.txt');
    await fs.writeFile(file, 'developer open-dev-token-0001\n');
    await fs.chmod(file, 0o644);
    const proc = spawnServe(['--json', '--port', '0', '--data-dir', path.join(dir, 'data'), '--tokens-file', file]);
    try {
      const doc = await firstDocument(proc);
      expect((await me(doc.url, 'open-dev-token-0001')).status).toBe(200);
    } finally {
      proc.kill('SIGTERM');
    }
    const r = await proc;
    expect(r.stderr).toMatch(/--tokens-file .*tokens\.txt can be read by other users \(mode 644\): run chmod 600/);
    expect(r.stderr).not.toContain('open-dev-token-0001');
  });

  it('bad token files and variables: exit 2, one line naming the line or the rule, never the token, nothing served', async () => {
    const dir = await tempDir({}, 'pxp-secrets-');
    const write = async (name: string, text: string) => {
      const f = path.join(dir, name);
      await fs.writeFile(f, text, { mode: 0o600 });
      return f;
    };
    const cases: { args: string[]; env?: Record<string, string>; re: RegExp }[] = [
      { args: ['--tokens-file', path.join(dir, 'missing.txt')], re: /--tokens-file .*missing\.txt not found/ },
      {
        args: ['--tokens-file', await write('bad-role.txt', 'developer good-token-0001\nadmin secret-admin-token\n')],
        re: /line 2 is not "developer <token>"/,
      },
      { args: ['--tokens-file', await write('three.txt', 'developer secret-three a b\n')], re: /line 1 is not/ },
      { args: ['--tokens-file', await write('empty.txt', '# nothing\n\n')], re: /has no tokens/ },
      { args: ['--tokens-file', await write('short.txt', 'developer shorty\n')], re: /at least 8 characters/ },
      { args: ['--tokens-file', dir], re: /is a folder, not a regular file/ },
      {
        args: ['--developer-token', 'same-token-0001', '--tokens-file', await write('both.txt', 'reviewer same-token-0001\n')],
        re: /the same token is given for the developer and the reviewer role/,
      },
      { args: [], env: { PLEXICHAT_SERVE_DEVELOPER_TOKENS: 'tiny' }, re: /at least 8 characters/ },
      { args: [], env: { PLEXICHAT_SERVE_DEVELOPER_TOKENS: 'dual-token-0001', PLEXICHAT_SERVE_REVIEWER_TOKENS: 'dual-token-0001' }, re: /the same token/ },
    ];
    for (const c of cases) {
      for (const json of [false, true]) {
        const r = await runMain([...(json ? ['--json'] : []), 'marketplace', 'serve', '--port', '0', '--data-dir', path.join(dir, 'data'), ...c.args], {
          env: c.env ?? {},
        });
        expect(r.exitCode, `${c.args.join(' ')}\n${r.stderr}`).toBe(2);
        expect(json ? (JSON.parse(r.stdout) as { error: { message: string } }).error.message : r.stderr).toMatch(c.re);
        expect(r.stdout + r.stderr).not.toMatch(/secret-admin-token|secret-three|shorty|same-token-0001|dual-token-0001|tiny/);
        expect(hasStackTrace(r.stderr)).toBe(false);
      }
    }
    await expect(fs.stat(path.join(dir, 'data'))).rejects.toThrow();
  });

  it('--help recommends the file, and its example tokens are ones serve accepts', async () => {
    const r = await runMain(['marketplace', 'serve', '--help']);
    expect(r.stdout).toMatch(/--tokens-file <file>/);
    const ex = /--developer-token (\S+) --reviewer-token (\S+)/.exec(r.stdout);
    expect(ex).not.toBeNull();
    for (const t of [ex![1], ex![2]]) expect(t.length).toBeGreaterThanOrEqual(8);
  });
});

/** The token the CLI uses, not pcx_-shaped: only the registered-secret rule can catch it. */
const TOKEN = 'team-secret-Zq81xKv3';

describe('a hostile marketplace echoes the token: every field of the error document and every header the CLI shows is redacted', () => {
  let url: string;
  let server: http.Server;
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  beforeAll(async () => {
    server = http.createServer((req, res) => answer(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** An error document with the token (taken from the request's Authorization) in every field. */
  function echo(status: number, extraHeaders: Record<string, string> = {}) {
    return (req: http.IncomingMessage, res: http.ServerResponse) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || TOKEN;
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-${token}`, ...extraHeaders });
      res.end(
        JSON.stringify({
          error: {
            code: `CODE_${token}`,
            message: `you sent ${token}`,
            findings: [{ entry: `file-${token}`, code: `F_${token}`, message: `finding ${token}` }, `plain ${token}`],
            state: `state-${token}`,
            submission_id: `sub-${token}`,
            required_role: 'developer',
            token_role: 'reviewer',
            limit_bytes: 10,
            [`key_${token}`]: token,
          },
          request_id: `body-${token}`,
        }),
      );
    };
  }

  const runs: [string, string[]][] = [
    ['whoami', ['marketplace', 'whoami']],
    ['info', ['marketplace', 'info', 'some_plugin']],
    ['status', ['marketplace', 'status', 'sub_123']],
    ['keys list', ['marketplace', 'keys', 'list']],
    ['download', ['marketplace', 'download', 'some_plugin@1.0.0']],
  ];

  for (const status of [400, 401, 403, 404, 409, 413, 422, 500]) {
    it(`HTTP ${status} echoing the token in X-Request-Id, request_id, code, message, findings, state, ids and a key`, async () => {
      answer = echo(status);
      const cwd = await tempDir({}, 'pxp-echo-');
      // A 500 is retried (with backoff): one command, the flags that print the retries and the document.
      const retried = status >= 500;
      for (const [what, args] of retried ? runs.slice(0, 1) : runs) {
        for (const flags of retried ? [['--verbose'], ['--json']] : [[], ['--json'], ['--verbose'], ['--json', '--verbose']]) {
          const r = await runMain([...flags, ...args], { cwd, env: { PLEXICHAT_MARKETPLACE_URL: url, PLEXICHAT_TOKEN: TOKEN, PLEXICHAT_INSECURE: '1' } });
          expect(r.exitCode, `${what} ${flags.join(' ')}`).not.toBe(0);
          expect(r.stdout + r.stderr, `${what} ${flags.join(' ')}`).not.toContain(TOKEN);
          if (flags.includes('--json')) {
            const doc = JSON.parse(r.stdout) as { error: Record<string, unknown> };
            expect(JSON.stringify(doc)).toContain('[redacted]');
          }
        }
      }
    }, 120_000);
  }

  it('a redirect whose Location and a 503 whose Retry-After carry the token', async () => {
    const cwd = await tempDir({}, 'pxp-echo-');
    let n = 0;
    answer = (req, res) => {
      n += 1;
      if (n % 2 === 1) return echo(503, { 'retry-after': '0' })(req, res);
      return echo(302, { location: `http://evil.invalid/?t=${TOKEN}` })(req, res);
    };
    for (const flags of [[], ['--json'], ['--verbose']]) {
      const r = await runMain([...flags, 'marketplace', 'whoami'], {
        cwd,
        env: { PLEXICHAT_MARKETPLACE_URL: url, PLEXICHAT_TOKEN: TOKEN, PLEXICHAT_INSECURE: '1' },
      });
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    }
  });
});
