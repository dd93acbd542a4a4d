/**
 * login / logout / whoami against the real development marketplace on
 * 127.0.0.1:0, with canary tokens that must never show up in any output.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace, type CliResult } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { runTty } from '../helpers/run-tty.js';
import { isolatedEnv } from './marketplace-helpers.js';

// Not pcx_-shaped on purpose: the generic redaction pattern must not be what hides them.
const DEV = 'canaryDEV-7f3e9a1b2c4d5e6f';
const REV = 'canaryREV-0a1b2c3d4e5f6a7b';

let srv!: DevServer;

useDevServer((s) => (srv = s), { developerTokens: [DEV], reviewerTokens: [REV] });

function noSecret(r: CliResult, ...secrets: string[]): void {
  for (const s of [DEV, REV, ...secrets]) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('marketplace login / whoami / logout', () => {
  it('stores the token 0600 in a 0700 dir, whoami uses it, logout forgets it; the token is never printed', async () => {
    const env = await isolatedEnv();
    const login = await runMain(['--marketplace', srv.url, 'marketplace', 'login', '--token-stdin'], { env, input: `${DEV}\n` });
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ as dev-[0-9a-f]{64} \(developer\)/);
    noSecret(login);

    const dir = path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin');
    const file = path.join(dir, 'credentials.json');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(stored.tokens[srv.url].token).toBe(DEV);
    // login remembered the marketplace: no flag or env needed any more
    expect(JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'))).toEqual({ marketplace: srv.url });

    for (const args of [
      ['marketplace', 'whoami'],
      ['--verbose', 'marketplace', 'whoami'],
      ['--json', 'marketplace', 'whoami'],
    ]) {
      const who = await runMain(args, { env });
      expect(who.exitCode, who.stderr).toBe(0);
      expect(who.stdout).toMatch(/dev-[0-9a-f]{64}/);
      noSecret(who);
    }
    const json = JSON.parse((await runMain(['--json', 'marketplace', 'whoami'], { env })).stdout);
    expect(json).toMatchObject({ marketplace: srv.url, role: 'developer', tokenSource: 'credentials file' });

    const out = await runMain(['marketplace', 'logout'], { env });
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toMatch(/Logged out/);
    await expect(fs.stat(file)).rejects.toThrow();

    const after = await runMain(['marketplace', 'whoami'], { env });
    expect(after.exitCode).toBe(4);
    expect(after.stderr).toMatch(/not logged in/);
    expect(after.stderr).toMatch(/marketplace login.*PLEXICHAT_TOKEN/);
  });

  it('a bad token: exit 4, nothing written, the token not echoed (also with --verbose)', async () => {
    const env = await isolatedEnv();
    const bad = 'canaryBAD-1234567890abcdef';
    const r = await runMain(['--verbose', '--marketplace', srv.url, 'marketplace', 'login', '--token-stdin'], { env, input: bad });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/rejected this token \(HTTP 401, request id req_[0-9a-f]+\); nothing was saved/);
    noSecret(r, bad);
    await expect(fs.stat(path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin', 'credentials.json'))).rejects.toThrow();

    const viaEnv = await runMain(['--verbose', 'marketplace', 'whoami'], { env: { ...env, ...srv.env(bad) } });
    expect(viaEnv.exitCode).toBe(4);
    expect(viaEnv.stderr).toMatch(/HTTP 401 UNAUTHENTICATED/);
    expect(viaEnv.stderr).toMatch(/marketplace login` again or set PLEXICHAT_TOKEN/);
    noSecret(viaEnv, bad);
  });

  it('without a TTY and without --token-stdin: exit 2, no prompt', async () => {
    const env = await isolatedEnv();
    const r = await runMain(['--marketplace', srv.url, 'marketplace', 'login'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--token-stdin/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('empty standard input with --token-stdin: exit 2', async () => {
    const env = await isolatedEnv();
    const r = await runMain(['--marketplace', srv.url, 'marketplace', 'login', '--token-stdin'], { env, input: '\n' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no token on standard input/);
  });

  it('PLEXICHAT_TOKEN wins over the stored token', async () => {
    const env = await isolatedEnv();
    expect((await runMain(['--marketplace', srv.url, 'marketplace', 'login', '--token-stdin'], { env, input: DEV })).exitCode).toBe(0);
    const r = await runMain(['--json', 'marketplace', 'whoami'], { env: { ...env, PLEXICHAT_TOKEN: REV } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ role: 'reviewer', tokenSource: 'PLEXICHAT_TOKEN' });
    noSecret(r);
  });

  it('no token at all: exit 4 with the login hint', async () => {
    const env = await isolatedEnv(srv.env());
    const r = await runMain(['marketplace', 'whoami'], { env });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`not logged in to ${srv.url}`);
    expect(r.stderr).toMatch(/hint: run `plexichat-plugin marketplace login` or set PLEXICHAT_TOKEN/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('a corrupt credentials file: "cannot parse <path>", exit 4', async () => {
    const env = await isolatedEnv(srv.env());
    const file = path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin', 'credentials.json');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"tokens": {', { mode: 0o600 });
    const r = await runMain(['marketplace', 'whoami'], { env });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`cannot parse ${file}`);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('logout works when the marketplace is unreachable', async () => {
    const env = await isolatedEnv();
    expect((await runMain(['--marketplace', srv.url, 'marketplace', 'login', '--token-stdin'], { env, input: DEV })).exitCode).toBe(0);
    // The same URL later points at nothing: the stored entry is still removed.
    const port = await closedPort();
    const dead = `http://127.0.0.1:${port}`;
    const file = path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin', 'credentials.json');
    const doc = JSON.parse(await fs.readFile(file, 'utf8'));
    doc.tokens[dead] = doc.tokens[srv.url];
    await fs.writeFile(file, JSON.stringify(doc));
    const r = await runMain(['--marketplace', dead, 'marketplace', 'logout'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(await fs.readFile(file, 'utf8')).tokens[dead]).toBeUndefined();
    noSecret(r);
  });

  it('connection refused: exit 3 "cannot reach marketplace at <url>"', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const r = await runMain(['marketplace', 'whoami'], { env: await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: url, PLEXICHAT_TOKEN: DEV }) });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`cannot reach marketplace at ${url}`);
    expect(hasStackTrace(r.stderr)).toBe(false);
    noSecret(r);
  });

  it('an unreachable proxy: exit 3 naming the proxy without its password', async () => {
    const port = await closedPort();
    const env = await isolatedEnv({ ...srv.env(DEV), HTTP_PROXY: `http://bob:hunter22@127.0.0.1:${port}` });
    const r = await runMain(['--verbose', 'marketplace', 'whoami'], { env });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`cannot reach marketplace at ${srv.url} through the proxy http://[redacted]@127.0.0.1:${port}`);
    expect(r.stderr).not.toContain('hunter22');
    noSecret(r);
  });

  it('no marketplace URL: exit 2 saying how to set it', async () => {
    const r = await runMain(['marketplace', 'whoami'], { env: await isolatedEnv({ PLEXICHAT_TOKEN: DEV }) });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no marketplace URL is set/);
    expect(r.stderr).toMatch(/--marketplace.*PLEXICHAT_MARKETPLACE_URL/);
  });

  it('plain http to a non-loopback host is refused unless PLEXICHAT_INSECURE=1', async () => {
    const env = await isolatedEnv({ PLEXICHAT_TOKEN: DEV, PLEXICHAT_MARKETPLACE_URL: 'http://marketplace.invalid' });
    const r = await runMain(['marketplace', 'whoami'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/refusing to send a token over plain http to marketplace\.invalid/);
    noSecret(r);
    // Opted in, it tries (and fails on DNS: exit 3, not retried).
    const r2 = await runMain(['marketplace', 'whoami'], { env: { ...env, PLEXICHAT_INSECURE: '1' } });
    expect(r2.exitCode).toBe(3);
    expect(r2.stderr).toMatch(/cannot reach marketplace at http:\/\/marketplace\.invalid/);
    noSecret(r2);
  });

  it('no HOME and no XDG_CONFIG_HOME: PLEXICHAT_TOKEN still works; login says what to set (exit 2)', async () => {
    const env = { ...(await isolatedEnv(srv.env())), HOME: undefined, XDG_CONFIG_HOME: undefined };
    const who = await runMain(['marketplace', 'whoami'], { env: { ...env, PLEXICHAT_TOKEN: DEV } });
    expect(who.exitCode, who.stderr).toBe(0);
    const login = await runMain(['marketplace', 'login', '--token-stdin'], { env, input: DEV });
    expect(login.exitCode).toBe(2);
    expect(login.stderr).toMatch(/cannot find a config directory/);
    expect(login.stderr).toMatch(/XDG_CONFIG_HOME or HOME/);
    noSecret(login);
  });

  it('a config dir that cannot be written: exit 1 naming the file, no stack trace, nothing half-written', async () => {
    const env = await isolatedEnv(srv.env());
    // XDG_CONFIG_HOME is a regular file: nothing can be created below it.
    await fs.writeFile(env.XDG_CONFIG_HOME!, 'not a folder');
    const r = await runMain(['marketplace', 'login', '--token-stdin'], { env, input: DEV });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`cannot write ${path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin', 'credentials.json')}`);
    expect(r.stderr).toMatch(/PLEXICHAT_TOKEN/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await fs.readFile(env.XDG_CONFIG_HOME!, 'utf8')).toBe('not a folder');
    noSecret(r);
  });

  it('on a terminal: a hidden prompt, the token never echoed', async () => {
    const env = await isolatedEnv();
    const tty = runTty(['--marketplace', srv.url, 'marketplace', 'login'], { env });
    await tty.expect(`Token for ${srv.url}`);
    tty.send(`${DEV}\r`);
    const r = await tty.done();
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/Logged in to .* as dev-[0-9a-f]{64} \(developer\)/);
    expect(r.output).not.toContain(DEV);
    const file = path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin', 'credentials.json');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('Ctrl-C at the prompt: exit 130, nothing written', async () => {
    const env = await isolatedEnv();
    const tty = runTty(['--marketplace', srv.url, 'marketplace', 'login'], { env });
    await tty.expect('Token for');
    tty.send('canary-partial');
    tty.send('\x03');
    const r = await tty.done();
    expect(r.exitCode).toBe(130);
    expect(r.output).not.toContain('canary-partial');
    await expect(fs.stat(path.join(env.XDG_CONFIG_HOME!, 'plexichat-plugin'))).rejects.toThrow();
  });
});
