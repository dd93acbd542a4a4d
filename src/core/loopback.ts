/**
 * The loopback rule: which listen addresses can be reached from this machine
 * only. One rule for the CLI (`dev --host`, the marketplace client's plain-HTTP
 * allowance) and the same cases as the Python plugin host's
 * (plexichat_plugin_sdk/host_net.py; test/unit/loopback.test.ts runs one table
 * of cases against both): `localhost` in any case (a final dot allowed),
 * 127.0.0.0/8, `::1` in any spelling, with or without brackets, and
 * IPv4-mapped loopback (`::ffff:127.0.0.1`).
 */
import net from 'node:net';

export interface ListenHost {
  /** The canonical spelling: lower case, no brackets, no final dot; IPv6 compressed. */
  host: string;
  loopback: boolean;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function ipv6(text: string): string | undefined {
  if (net.isIPv6(text) === false) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text.toLowerCase(); // a zone id (fe80::1%eth0): valid, but never loopback
  }
}

function ipv6Loopback(canonical: string): boolean {
  if (canonical === '::1') return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(canonical);
  return mapped !== null && parseInt(mapped[1], 16) >> 8 === 127;
}

/**
 * A --host value as an address or host name, or undefined when it is neither
 * (an empty value, spaces, a URL, `127.1`, `999.1.1.1`).
 */
export function parseListenHost(text: string): ListenHost | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (net.isIPv4(t)) return { host: t, loopback: t.split('.')[0] === '127' };
  const v6 = ipv6(t);
  if (v6 !== undefined) return { host: v6, loopback: ipv6Loopback(v6) };
  const name = t.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (name.length === 0 || name.length > 253 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1])) return undefined;
  return { host: name, loopback: name === 'localhost' };
}

/** True for an address or name only this machine can reach (false for anything parseListenHost refuses). */
export function isLoopback(text: string): boolean {
  return parseListenHost(text)?.loopback ?? false;
}
