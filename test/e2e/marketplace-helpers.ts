/**
 * Shared pieces of the marketplace e2e tests: an isolated config dir per
 * CLI run, a counting (and connection-dropping) HTTP proxy, and polling.
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import { tempDir } from '../helpers/temp-project.js';

let unique = 0;
/** A fresh plugin name per test: ownership and versions never collide. */
export function uniqueName(base: string): string {
  unique += 1;
  return `${base}_${process.pid}_${unique}`;
}

/** Env for a CLI run with its own empty config dir (no stored token, no config.json). */
export async function isolatedEnv(extra: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  const home = await tempDir({}, 'pxp-home-');
  return {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    PLEXICHAT_TOKEN: undefined,
    PLEXICHAT_MARKETPLACE_URL: undefined,
    HTTP_PROXY: undefined,
    HTTPS_PROXY: undefined,
    http_proxy: undefined,
    https_proxy: undefined,
    NO_PROXY: undefined,
    no_proxy: undefined,
    ...extra,
  };
}

export interface TestProxy {
  url: string;
  /** CONNECT tunnels and plain proxied requests seen, by target host:port. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A tiny HTTP proxy on 127.0.0.1:0 that counts what goes through it
 * (CONNECT tunnels, which undici uses by default, and absolute-form
 * requests). `dropAfterBytes` cuts a tunnel once that many request bytes
 * have passed, the first `dropConnections` such tunnels (default: all): a
 * connection lost mid-upload. `stallAfterBytes` stops forwarding instead (a network
 * that hangs mid-upload).
 */
export async function startProxy(opts: { dropAfterBytes?: number; dropConnections?: number; stallAfterBytes?: number } = {}): Promise<TestProxy> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  let dropped = 0;
  const server = http.createServer((req, res) => {
    // Absolute-form request (proxy without tunnelling).
    requests.push(req.headers.host ?? '');
    const target = new URL(req.url ?? '/');
    const up = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req, client, head) => {
    const target = req.url ?? '';
    requests.push(target);
    const [host, port] = target.split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      let seen = 0;
      client.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        // Only tunnels that carry that many bytes count (small look-ups before the upload pass).
        if (opts.dropAfterBytes !== undefined && seen > opts.dropAfterBytes && dropped < (opts.dropConnections ?? Infinity)) {
          dropped += 1;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (opts.stallAfterBytes !== undefined && seen > opts.stallAfterBytes) {
          client.pause();
          return;
        }
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on('drain', () => {
        if (opts.stallAfterBytes === undefined || seen <= opts.stallAfterBytes) client.resume();
      });
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Poll until fn() is true (for server-side clean-up that finishes just after the client gave up). */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A failed run as a user must see it: the exit code, exactly one `error:` line
 * matching `re` (and, when given, a `hint:` line matching `hint`), no stack trace.
 */
export function expectOneError(r: { exitCode: number; stderr: string }, exitCode: number, re: RegExp, hint?: RegExp): void {
  expect(r.exitCode, r.stderr).toBe(exitCode);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(re);
  if (hint) expect(r.stderr.split('\n').find((l) => l.trim().startsWith('hint:')) ?? '', r.stderr).toMatch(hint);
  expect(r.stderr).not.toMatch(/unexpected internal error/);
  expect(/\n\s+at .+:\d+:\d+\)?/.test(r.stderr)).toBe(false);
}
