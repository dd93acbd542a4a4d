/**
 * One loopback rule for the CLI (src/core/loopback.ts) and the Python plugin
 * host (plexichat_plugin_sdk/host_net.py): the same table of cases
 * (test/helpers/loopback-cases.ts), run against the host in
 * test/e2e/dev-trust.e2e.test.ts. A value the CLI refuses as neither address nor name never
 * reaches the host.
 */
import { describe, expect, it } from 'vitest';
import { isLoopback, parseListenHost } from '../../src/core/loopback.js';
import { isLoopbackHost } from '../../src/marketplace/config.js';
import { LOOPBACK, NOT_A_HOST, REMOTE } from '../helpers/loopback-cases.js';

describe('the loopback rule (core/loopback.ts)', () => {
  it('loopback: localhost in any case, 127.0.0.0/8, ::1 in any spelling, IPv4-mapped loopback', () => {
    for (const h of LOOPBACK) expect([h, isLoopback(h)]).toEqual([h, true]);
  });
  it('not loopback: other addresses and names', () => {
    for (const h of REMOTE) expect([h, parseListenHost(h)?.loopback]).toEqual([h, false]);
  });
  it('neither an address nor a host name: refused (dev exits 2 before starting anything)', () => {
    for (const h of NOT_A_HOST) expect([h, parseListenHost(h)]).toEqual([h, undefined]);
  });
  it('canonical spellings: lower case, no brackets, no final dot, IPv6 compressed', () => {
    expect(parseListenHost('LOCALHOST')).toEqual({ host: 'localhost', loopback: true });
    expect(parseListenHost('localhost.')).toEqual({ host: 'localhost', loopback: true });
    expect(parseListenHost('[0:0:0:0:0:0:0:1]')).toEqual({ host: '::1', loopback: true });
    expect(parseListenHost('Dev.Example.TEST')).toEqual({ host: 'dev.example.test', loopback: false });
  });
  it("the marketplace client's plain-HTTP allowance uses the same rule (and names under .localhost)", () => {
    for (const h of LOOPBACK.filter((x) => x.trim() === x)) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of REMOTE) expect([h, isLoopbackHost(h)]).toEqual([h, false]);
    expect(isLoopbackHost('app.localhost')).toBe(true);
  });
});
