/**
 * Token roles as a class, against the real development marketplace: an
 * answer naming a role API v1 does not define is a protocol error (whoami,
 * login), and every role refusal (403 FORBIDDEN_ROLE) says which role the
 * action needs and which role the token has, whatever the action. The
 * clients run through `main` in-process; `serve` as the bin.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { expectOneError, isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';

let srv!: DevServer;

useDevServer((s) => (srv = s));

const as = (token: string) => isolatedEnv(srv.env(token));

describe('whoami and login: only the roles API v1 defines', () => {
  it('whoami shows the role of each real token', async () => {
    for (const [token, role] of [
      [srv.developer, 'developer'],
      [srv.reviewer, 'reviewer'],
    ] as const) {
      const r = await runMain(['--json', 'marketplace', 'whoami'], { env: await as(token) });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).role).toBe(role);
    }
  });

  it('an unknown, empty, missing or non-string role is exit 3 naming what came, never shown as a role', async () => {
    const bodies: [unknown, RegExp][] = [
      [{ user: 'dev-1', role: 'admin' }, /unknown role "admin", not one of developer, reviewer/],
      [{ user: 'dev-1', role: 'Developer' }, /unknown role "Developer"/],
      [{ user: 'dev-1', role: '' }, /unknown role ""/],
      [{ user: 'dev-1', role: 42 }, /unknown role 42/],
      [{ user: 'dev-1', role: null }, /unknown role null/],
      [{ user: 'dev-1' }, /no user/],
      [{ user: '', role: 'developer' }, /no user/],
    ];
    for (const [json, re] of bodies) {
      srv.injectFault({ route: 'me', kind: 'answer', json });
      const r = await runMain(['marketplace', 'whoami'], { env: await as(srv.developer) });
      expectOneError(r, 3, re);
      expect(r.stdout).toBe('');
      if (/role/.test(re.source)) expect(r.stderr).toMatch(/hint: API v1 gives every token one of the roles developer or reviewer/);
    }
    srv.injectFault({ route: 'me', kind: 'answer', json: { user: 'dev-1', role: 'admin' } });
    const j = await runMain(['--json', 'marketplace', 'whoami'], { env: await as(srv.developer) });
    expect(j.exitCode).toBe(3);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'UNEXPECTED_RESPONSE', exitCode: 3 });
  });

  it('login refuses a token the marketplace gives an unknown role, and stores nothing', async () => {
    const env = await as(srv.developer);
    delete env.PLEXICHAT_TOKEN;
    srv.injectFault({ route: 'me', kind: 'answer', json: { user: 'adm-1', role: 'admin' } });
    const r = await runMain(['marketplace', 'login', '--token-stdin'], { env, input: srv.developer });
    expectOneError(r, 3, /unknown role "admin"/);
    await expect(fs.stat(path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin', 'credentials.json'))).rejects.toThrow();
  });
});

describe('every role refusal names the role needed and the role the token has', () => {
  it('submit with a reviewer token: needs a developer token, this is a reviewer token (exit 4, nothing stored)', async () => {
    const name = uniqueName('revsubmit');
    const dir = await pluginProject({ name });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await as(srv.reviewer) });
    expectOneError(
      r,
      4,
      /could not upload the archive: HTTP 403 FORBIDDEN_ROLE: this needs a developer token; yours is a reviewer token/,
      /to upload the archive you need a developer token, and this is a reviewer token: set PLEXICHAT_TOKEN to a developer token/,
    );
    expect(r.stderr).not.toMatch(/reviewing needs/);
    expect(srv.countSubmissions(name)).toBe(0);
    const j = await runMain(['--json', 'marketplace', 'submit'], { cwd: dir, env: await as(srv.reviewer) });
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'FORBIDDEN_ROLE', requiredRole: 'developer', tokenRole: 'reviewer' });
  });

  it('review with a developer token, publish and keys with a reviewer token: each hint fits its action', async () => {
    const name = uniqueName('roles');
    const dir = await pluginProject({ name });
    const sub = await runMain(['--json', 'marketplace', 'submit'], { cwd: dir, env: await as(srv.developer) });
    expect(sub.exitCode, sub.stderr).toBe(0);
    const id = JSON.parse(sub.stdout).submission.id as string;

    const review = await runMain(['marketplace', 'review', id, '--approve'], { env: await as(srv.developer) });
    expectOneError(review, 4, /HTTP 403 FORBIDDEN_ROLE/, new RegExp(`to review submission ${id} you need a reviewer token, and this is a developer token`));

    const approve = await runMain(['marketplace', 'review', id, '--approve'], { env: await as(srv.reviewer) });
    expect(approve.exitCode, approve.stderr).toBe(0);
    const publish = await runMain(['marketplace', 'publish', id], { env: await as(srv.reviewer) });
    expectOneError(publish, 4, /HTTP 403 FORBIDDEN_ROLE/, new RegExp(`to publish submission ${id} you need a developer token, and this is a reviewer token`));

    const list = await runMain(['marketplace', 'keys', 'list'], { env: await as(srv.reviewer) });
    expectOneError(list, 4, /HTTP 403 FORBIDDEN_ROLE/, /to list your keys you need a developer token, and this is a reviewer token/);

    const revoke = await runMain(['marketplace', 'keys', 'revoke', '0123456789abcdef'], { env: await as(srv.reviewer) });
    expectOneError(revoke, 4, /HTTP 403 FORBIDDEN_ROLE/, /to revoke key 0123456789abcdef you need a developer token, and this is a reviewer token/);
    for (const r of [review, publish, list, revoke]) {
      expect(r.stderr).not.toMatch(/reviewing needs|reviewer tokens can only review/);
      for (const t of [srv.developer, srv.reviewer]) expect(r.stderr).not.toContain(t);
    }
  });

  it('a 403 FORBIDDEN_ROLE that does not say the roles is not guessed at: the hint points at whoami', async () => {
    const dir = await pluginProject({ name: uniqueName('vague') });
    srv.injectFault({ route: 'submit', kind: 'status', status: 403, code: 'FORBIDDEN_ROLE', message: 'not for you' });
    const r = await runMain(['marketplace', 'submit'], { cwd: dir, env: await as(srv.developer) });
    expectOneError(
      r,
      4,
      /HTTP 403 FORBIDDEN_ROLE: not for you/,
      /this token's role may not upload the archive: `plexichat-plugin marketplace whoami` shows its role/,
    );
    expect(r.stderr).not.toMatch(/you need a/);
  });
});

describe('serve: one token for two roles (the bin, as a user runs it)', () => {
  it('--developer-token X --reviewer-token X is refused, exit 2, whatever the flag form; nothing is made', async () => {
    const root = await tempDir({}, 'pxp-roles-');
    const data = path.join(root, 'data');
    for (const flags of [
      ['--developer-token', 'pcx_same_for_both', '--reviewer-token', 'pcx_same_for_both'],
      ['--developer-token=pcx_same_for_both', '--reviewer-token=pcx_same_for_both'],
      ['--reviewer-token', 'pcx_same_for_both', '--developer-token', 'pcx_other_token', '--developer-token', 'pcx_same_for_both'],
    ]) {
      const r = await runCli(['marketplace', 'serve', '--port', '0', '--data-dir', data, ...flags], { timeout: 30_000 });
      expectOneError(r, 2, /the same token is given for the (developer and the reviewer|reviewer and the developer) role; each role needs its own token/);
      expect(r.stderr).not.toContain('pcx_same_for_both');
      expect(r.stdout).toBe('');
    }
    expect(await fs.readdir(root)).toEqual([]);
  });
});
