/**
 * An https marketplace: the development marketplace behind a TLS-terminating
 * reverse proxy on 127.0.0.1:0, with a self-signed certificate for
 * localhost. Trust comes from NODE_EXTRA_CA_CERTS (what corporate users set);
 * HTTPS_PROXY tunnels with CONNECT; an untrusted certificate is a clear
 * exit 3, never retried.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, startProxy } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';

// A throw-away P-256 key and a self-signed certificate for localhost / 127.0.0.1,
// valid 2000-2100, made for this test only (openssl ca -selfsign). Not a secret.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJuL+LG6zuT51wojI
L9Lpf7vntYeThENrwjMEYoxfJF6hRANCAAQiTh14iKkuPglpuB3dH2WF4wsaVtF/
bmaPmA1XbWpXG7EIJ0cGVFWzdOjyKPCFt2GV8sz5KDbKspj/D90u9Inj
-----END PRIVATE KEY-----
`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCJOHXiIqS4+CWm4
Hd0fZYXjCxpW0X9uZo+YDVdtalcbsQgnRwZUVbN06PIo8IW3YZXyzPkoNsqymP8P
3S70ieOjcDBuMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAPBgNVHRMBAf8E
BTADAQH/MAsGA1UdDwQEAwIChDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4E
FgQUn6OUmctxzWQy0mRMHdY8PBmczLAwCgYIKoZIzj0EAwIDSAAwRQIhAO8d5BYy
uco5Af9bfRgGYmq4cMMabPd5xIIEBpMU9V+/AiBgotF4rwl3olWu5xGPNSVFCvXL
Rvvzv4pfMr4z5u8BiA==
-----END CERTIFICATE-----
`;

let srv: DevServer;
let front: https.Server;
let url: string;
let caFile: string;

beforeAll(async () => {
  srv = await startDevServer();
  const target = new URL(srv.url);
  front = https.createServer({ key: KEY, cert: CERT }, (req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  url = `https://localhost:${(front.address() as net.AddressInfo).port}`;
  const dir = await tempDir({}, 'pxp-tls-');
  caFile = path.join(dir, 'ca.pem');
  await fs.writeFile(caFile, CERT);
});
afterAll(async () => {
  front?.closeAllConnections();
  await new Promise<void>((r) => (front ? front.close(() => r()) : r()));
  await srv?.stop();
});

describe('an https marketplace', () => {
  it('an untrusted certificate: exit 3 with the NODE_EXTRA_CA_CERTS hint, no retries, no stack trace', async () => {
    const r = await runCli(['marketplace', 'whoami'], {
      env: await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: url, PLEXICHAT_TOKEN: srv.developer }),
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/cannot verify the TLS certificate of localhost:\d+ \([A-Z_]+\)/);
    expect(r.stderr).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(r.stderr).not.toMatch(/retrying/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('trusted through NODE_EXTRA_CA_CERTS: login, submit and status over TLS, also through HTTPS_PROXY', async () => {
    const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: url, NODE_EXTRA_CA_CERTS: caFile });
    const login = await runCli(['marketplace', 'login', '--token-stdin'], { env, input: srv.developer });
    expect(login.exitCode, login.stderr).toBe(0);

    const proxy = await startProxy();
    try {
      const dir = await pluginProject({ name: `tls_plugin_${process.pid}` });
      const sub = await runCli(['--json', 'marketplace', 'submit'], { cwd: dir, env: { ...env, HTTPS_PROXY: proxy.url } });
      expect(sub.exitCode, sub.stderr).toBe(0);
      expect(JSON.parse(sub.stdout)).toMatchObject({ submission: { state: 'pending' }, existing: false });
      // https goes through the proxy as a CONNECT tunnel to the marketplace's host and port
      expect(proxy.requests).toContain(new URL(url).host);
      const st = await runCli(['marketplace', 'status'], { cwd: dir, env: { ...env, HTTPS_PROXY: proxy.url } });
      expect(st.exitCode, st.stderr).toBe(0);
      expect(st.stdout).toMatch(/pending/);
    } finally {
      await proxy.close();
    }
  });
});
