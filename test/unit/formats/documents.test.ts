/**
 * The JSON documents the CLI and the marketplace read, in-process: the
 * integrity listing, the signature document, keyrings and the listing. Each
 * is checked against its schema in schemas/files/ (generated validator) and
 * the rules after it; the first problem is named by its member.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseIntegrity, serializeIntegrity } from '../../../src/core/package/integrity.js';
import { ListingFormatError, parseListing } from '../../../src/core/listing-format.js';
import { canonicalJson, parseSignature, serializeSignature, signFields, SIGNATURE_FORMAT, type SignedFields } from '../../../src/signing/document.js';
import { keyRecord, parseKeyRecord, parseKeyring } from '../../../src/signing/keyring.js';
import { DocumentError } from '../../../src/core/schema/issues.js';
import { locate } from '../../../src/core/yaml/read.js';

const hex = (c: string) => c.repeat(64);
const thrown = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
};

describe('the integrity listing (schemas/files/integrity.schema.json)', () => {
  const good = {
    format: 'plexichat-plugin-integrity/1',
    algorithm: 'sha256',
    plugin: { name: 'p_one', version: '1.0.0' },
    files: [{ path: 'a', size: 1, sha256: hex('a') }],
  };
  const parse = (o: unknown) => thrown(() => parseIntegrity(Buffer.from(JSON.stringify(o))));

  it('reads what serializeIntegrity writes', () => {
    const l = parseIntegrity(serializeIntegrity({ name: 'p_one', version: '1.0.0' }, good.files));
    expect(l).toEqual(good);
  });

  it.each([
    ['not JSON', '{', /^not valid JSON/],
    ['a list', [], /^not a JSON object$/],
    ['no format', { ...good, format: undefined }, /^unknown format undefined$/],
    ['another format', { ...good, format: 'x/2' }, /^unknown format "x\/2"$/],
    ['another algorithm', { ...good, algorithm: 'md5' }, /^unknown algorithm "md5"$/],
    ['files not a list', { ...good, files: {} }, /^"files" is not a list$/],
    ['a size as text', { ...good, files: [{ path: 'a', size: '1', sha256: hex('a') }] }, /^malformed file record \{"path":"a","size":"1"/],
    ['a negative size', { ...good, files: [{ path: 'a', size: -1, sha256: hex('a') }] }, /^malformed file record/],
    ['a record without sha256', { ...good, files: [{ path: 'a', size: 1 }] }, /^malformed file record/],
    ['upper-case hex', { ...good, files: [{ path: 'a', size: 1, sha256: hex('A') }] }, /^malformed file record/],
    ['no plugin', { ...good, plugin: undefined }, /^"plugin" is missing or malformed/],
  ])('refuses %s', (_label, doc, message) => {
    expect(typeof doc === 'string' ? thrown(() => parseIntegrity(Buffer.from(doc))) : parse(doc)).toMatch(message);
  });

  it('the first problem in reading order, an unknown member is ignored', () => {
    expect(parse({ ...good, format: 'x', algorithm: 'y' })).toMatch(/^unknown format/);
    expect(parseIntegrity(Buffer.from(JSON.stringify({ ...good, extra: 1 }))).files).toHaveLength(1);
  });
});

describe('the signature document (schemas/files/signature.schema.json)', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const fields: SignedFields = {
    format: SIGNATURE_FORMAT,
    role: 'publisher',
    algorithm: 'ed25519',
    key_id: '0123456789abcdef',
    plugin: { name: 'demo_plugin', version: '1.0.0' },
    archive: { sha256: hex('a'), size: 10 },
    contents: { sha256: null },
    created_at: '2026-12-01T20:14:11.244Z',
  };
  const doc = signFields(fields, privateKey);
  const parse = (o: unknown) => thrown(() => parseSignature(JSON.stringify(o)));

  it('reads what serializeSignature writes, keeping only the signed fields', () => {
    expect(parseSignature(serializeSignature(doc))).toEqual(doc);
    const withExtra = parseSignature(JSON.stringify({ ...doc, note: 'not signed', publisher: null }));
    expect(withExtra).toEqual({ ...doc, publisher: null });
    expect(canonicalJson(withExtra)).not.toContain('not signed');
  });

  it.each([
    ['a list', [], /^it is not a JSON object$/],
    ['another format', { ...doc, format: 'other/9' }, /^unknown format "other\/9" \(this version reads plexichat-plugin-signature\/1\)$/],
    ['another algorithm', { ...doc, algorithm: 'rsa' }, /^unknown algorithm "rsa"$/],
    ['another role', { ...doc, role: 'admin' }, /^unknown role "admin"$/],
    ['a short key id', { ...doc, key_id: 'abc' }, /^"key_id" is missing or malformed$/],
    ['no plugin', { ...doc, plugin: undefined }, /^"plugin.name" is missing or malformed$/],
    ['a bad plugin name', { ...doc, plugin: { name: 'Bad-Name', version: '1.0.0' } }, /^"plugin.name" is missing or malformed$/],
    ['a version with a space', { ...doc, plugin: { name: 'demo_plugin', version: '1 0' } }, /^"plugin.version" is missing or malformed$/],
    ['a size as text', { ...doc, archive: { sha256: hex('a'), size: '10' } }, /^"archive.size" is missing or malformed$/],
    ['a fractional size', { ...doc, archive: { sha256: hex('a'), size: 1.5 } }, /^"archive.size" is missing or malformed$/],
    ['no contents', { ...doc, contents: undefined }, /^"contents.sha256" is missing or malformed$/],
    ['a bad publisher', { ...doc, publisher: { key_id: '0123456789abcdef' } }, /^"publisher" is missing or malformed$/],
    ['a date that is no date', { ...doc, created_at: '2026-13-45T99:99:99Z' }, /^"created_at" is missing or malformed$/],
    ['a short signature', { ...doc, signature: 'AAAA' }, /^"signature" is missing or malformed$/],
  ])('refuses %s', (_label, o, message) => {
    expect(parse(o)).toMatch(message);
  });

  it('the first problem in reading order', () => {
    expect(parse({ ...doc, signature: 'x', key_id: 'y' })).toBe('"key_id" is missing or malformed');
  });
});

describe('keyrings and key records (schemas/files/keyring.schema.json)', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const record = keyRecord(publicKey, { created_at: '2026-01-01T00:00:00.000Z', owner: 'dev-1' });
  const ring = (...keys: unknown[]) => JSON.stringify({ keys });

  it('reads a keyring and an API record into trusted keys', () => {
    const [k] = parseKeyring(ring(record));
    expect(k).toMatchObject({ keyId: record.key_id, expiresAt: null, revokedAt: null, owner: 'dev-1' });
    expect(parseKeyRecord({ public_key: record.public_key, expires_at: '2027-01-01T00:00:00Z' })).toMatchObject({
      keyId: record.key_id,
      expiresAt: '2027-01-01T00:00:00Z',
    });
  });

  it.each([
    ['not JSON', '{', /^it is not valid JSON/],
    ['no keys list', '{"key": []}', /^it has no "keys" list/],
    ['a key that is not an object', ring(1), /^key 1 is not an object$/],
    ['another algorithm', ring({ ...record, algorithm: 'rsa' }), /^key 1: algorithm "rsa" is not ed25519$/],
    ['no public key', ring(record, { key_id: record.key_id }), /^key 2: "public_key" is missing$/],
    ['a public key that is not a key', ring({ public_key: 'AAAA' }), /^key 1: "public_key" is not usable: /],
    ['a key id of another key', ring({ ...record, key_id: '0000000000000000' }), /^key 1: "key_id" "0000000000000000" is not the id of its public key/],
    ['a local time', ring({ ...record, expires_at: '2027-01-01 00:00' }), /^key 1: "expires_at" must be null or an ISO 8601 UTC time/],
    ['a time as a number', ring({ ...record, revoked_at: 5 }), /^key 1: "revoked_at" must be null or an ISO 8601 UTC time/],
    ['an impossible date', ring({ ...record, revoked_at: '2027-02-31T99:00:00Z' }), /^key 1: "revoked_at" must be null/],
    ['an owner that is not text', ring({ ...record, owner: 3 }), /^key 1: "owner" must be a string$/],
  ])('refuses %s', (_label, text, message) => {
    expect(thrown(() => parseKeyring(text))).toMatch(message);
  });

  it('names the bad member, which the YAML locator places in the file', () => {
    const text = JSON.stringify({ keys: [record, { ...record, expires_at: 'soon' }] }, null, 2);
    let caught: unknown;
    try {
      parseKeyring(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DocumentError);
    expect((caught as DocumentError).path).toEqual(['keys', 1, 'expires_at']);
    const line = text.split('\n').findIndex((l) => l.includes('"soon"')) + 1;
    expect(locate(text, 'ring.json', (caught as DocumentError).path)).toBe(`ring.json:${line}:21`);
    expect(locate('{', 'ring.json', ['keys'])).toBe('ring.json');
  });
});

describe('the listing (schemas/files/listing.schema.json)', () => {
  const good = {
    name: 'demo_plugin',
    version: '1.0.0',
    description: 'A demo',
    category: 'utility',
    permissions: { required: ['message_read'], optional: [] },
    permissions_summary: [{ name: 'message_read', required: true, description: 'read messages' }],
    archive: { file: 'demo_plugin-1.0.0.zip', sha256: hex('a'), size: 10 },
  };
  const parse = (o: unknown) => {
    try {
      parseListing(Buffer.from(JSON.stringify(o)));
      return 'no error';
    } catch (err) {
      expect(err).toBeInstanceOf(ListingFormatError);
      return (err as Error).message;
    }
  };

  it('accepts the documented keys and keeps unknown ones', () => {
    expect(parse(good)).toBe('no error');
    expect(parseListing(Buffer.from(JSON.stringify({ ...good, permission_diff: null }))).permission_diff).toBeNull();
  });

  it.each([
    ['a missing required key', { ...good, category: undefined }, 'listing: "category" must be a non-empty string'],
    ['a blank name', { ...good, name: ' ' }, 'listing: "name" must be a non-empty string'],
    ['a number as changelog', { ...good, changelog: 1 }, 'listing: "changelog" must be a string'],
    ['a list as author', { ...good, author: [] }, 'listing: "author" must be a string or null'],
    ['tags that are not text', { ...good, tags: [1] }, 'listing: "tags" must be an array of strings'],
    ['permissions as a list', { ...good, permissions: [] }, 'listing: "permissions" must be { "required": [strings], "optional": [strings] }'],
    [
      'a summary without descriptions',
      { ...good, permissions_summary: [{ name: 'x', required: true }] },
      'listing: "permissions_summary" must be [{ "name": string, "required": boolean, "description": string }]',
    ],
    ['an empty archive file name', { ...good, archive: { ...good.archive, file: '' } }, 'listing: "archive.file" must be a non-empty string'],
    ['a size as text', { ...good, archive: { ...good.archive, size: '10' } }, 'listing: "archive.size" must be a whole number of bytes'],
    ['a version that is not semver', { ...good, version: '1.0' }, 'listing: "version" "1.0" is not a semantic version'],
  ])('refuses %s', (_label, o, message) => {
    expect(parse(o)).toBe(message);
  });
});
