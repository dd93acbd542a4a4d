/**
 * DSSE's Pre-Authentication Encoding and envelope, against the
 * specification's published test vectors (secure-systems-lab/dsse:
 * protocol.md's example, and testvectors/vectors.json's Ed25519 key A).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { envelopeSignatureMatches, IN_TOTO_PAYLOAD_TYPE, pae, parseEnvelope, signEnvelope } from '../../../src/attest/dsse.js';

/** The RFC 8032 test key 1, key "A" of the DSSE vectors. */
const SEED_A = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUBLIC_A = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const privateA = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(SEED_A, 'hex')]),
  format: 'der',
  type: 'pkcs8',
});
const publicA = createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(PUBLIC_A, 'hex')]),
  format: 'der',
  type: 'spki',
});

const STATEMENT = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');

describe('PAE', () => {
  it("protocol.md's example: DSSEv1 29 http://example.com/HelloWorld 11 hello world", () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it.each([
    [
      'single-signature',
      IN_TOTO_PAYLOAD_TYPE,
      STATEMENT,
      '445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d',
    ],
    ['empty-payload', IN_TOTO_PAYLOAD_TYPE, Buffer.alloc(0), '445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020'],
    [
      'non-ascii-payload-type (LEN counts bytes)',
      'application/vnd.exämple+json',
      STATEMENT,
      '445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d',
    ],
  ])('vector %s', (_id, type, body, hex) => {
    expect(pae(type, body).toString('hex')).toBe(hex);
  });
});

describe('the envelope', () => {
  it('signs the single-signature vector to the published signature (Ed25519 is deterministic)', () => {
    const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, STATEMENT, privateA, 'A');
    expect(env).toEqual({
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: 'eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==',
      signatures: [{ keyid: 'A', sig: '2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==' }],
    });
    expect(envelopeSignatureMatches(env, env.signatures[0], publicA)).toBe(true);
  });

  it('accepts URL-safe base64 (url-safe-base64 vector) and rejects a swapped payload type (payload-type-swapped vector)', () => {
    const urlSafe = parseEnvelope(
      JSON.stringify({
        payload: '-_-_Pj8=',
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        signatures: [{ sig: 'P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==', keyid: 'A' }],
      }),
    );
    expect(envelopeSignatureMatches(urlSafe, urlSafe.signatures[0], publicA)).toBe(true);
    const swapped = parseEnvelope(
      JSON.stringify({
        payload: 'eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==',
        payloadType: 'application/vnd.example.other+json',
        signatures: [{ sig: '2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==', keyid: 'A' }],
      }),
    );
    expect(envelopeSignatureMatches(swapped, swapped.signatures[0], publicA)).toBe(false);
  });

  it('refuses what is not an envelope, with the reason', () => {
    expect(() => parseEnvelope('nope')).toThrow(/not valid JSON/);
    expect(() => parseEnvelope('{"payloadType":"x","payload":"e30=","signatures":[]}')).toThrow(/"signatures" is missing or empty/);
    expect(() => parseEnvelope('{"payloadType":"x","payload":"%%","signatures":[{"sig":"x"}]}')).toThrow(/"payload" is not base64/);
  });
});
