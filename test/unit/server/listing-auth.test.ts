import { describe, expect, it } from 'vitest';
import { parseListing } from '../../../src/server/listing.js';
import { bearer, generateToken, TokenTable, userIdOf } from '../../../src/server/auth.js';
import { FaultQueue } from '../../../src/server/faults.js';
import { ApiError } from '../../../src/server/errors.js';

const good = {
  name: 'demo_plugin',
  version: '1.0.0',
  description: 'A demo',
  long_description: '',
  changelog: '- first',
  category: 'utility',
  tags: ['a'],
  license: 'MIT',
  homepage: null,
  author: 'Me',
  permissions: { required: ['message_read'], optional: [] },
  archive: { file: 'demo_plugin-1.0.0.zip', sha256: 'a'.repeat(64), size: 10 },
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ApiError ? `${err.status} ${err.code}: ${err.message}` : String(err);
  }
}

describe('parseListing', () => {
  it('accepts the documented shape (with a BOM and unknown keys)', () => {
    const l = parseListing(Buffer.from(`\uFEFF${JSON.stringify({ ...good, x_extra: 1 })}`));
    expect(l.name).toBe('demo_plugin');
    expect(l.archive.size).toBe(10);
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['no name', JSON.stringify({ ...good, name: undefined }), /"name"/],
    ['empty description', JSON.stringify({ ...good, description: '  ' }), /"description"/],
    ['version 1.0', JSON.stringify({ ...good, version: '1.0' }), /semantic version/],
    ['version v1.0.0', JSON.stringify({ ...good, version: 'v1.0.0' }), /semantic version/],
    ['tags not strings', JSON.stringify({ ...good, tags: [1] }), /"tags"/],
    ['homepage a number', JSON.stringify({ ...good, homepage: 3 }), /"homepage"/],
    ['bad permissions', JSON.stringify({ ...good, permissions: { required: 'x' } }), /"permissions"/],
    ['no archive', JSON.stringify({ ...good, archive: undefined }), /"archive"/],
    ['upper-case sha256', JSON.stringify({ ...good, archive: { ...good.archive, sha256: 'A'.repeat(64) } }), /sha256/],
    ['negative size', JSON.stringify({ ...good, archive: { ...good.archive, size: -1 } }), /size/],
  ])('refuses %s with 422 INVALID_LISTING', (_label, text, msg) => {
    const r = codeOf(() => parseListing(Buffer.from(text)));
    expect(r).toMatch(/^422 INVALID_LISTING: listing: /);
    expect(r).toMatch(msg);
  });
});

describe('tokens', () => {
  it('bearer() reads the token, tells absent from malformed', () => {
    expect(bearer(undefined)).toBeUndefined();
    expect(bearer('Bearer pcx_abc')).toBe('pcx_abc');
    expect(bearer('bearer   pcx_abc ')).toBe('pcx_abc');
    expect(bearer('Basic abc')).toBe('');
    expect(bearer('Bearer')).toBe('');
  });

  it('generated tokens are pcx_ + 32 url-safe characters and differ', () => {
    const a = generateToken();
    expect(a).toMatch(/^pcx_[A-Za-z0-9_-]{32}$/);
    expect(generateToken()).not.toBe(a);
  });

  it('looks tokens up by digest, derives stable user ids, and refuses expired ones', () => {
    const t = new TokenTable([
      { token: 'pcx_dev_one_token', role: 'developer' },
      { token: 'pcx_rev_one_token', role: 'reviewer' },
      { token: 'pcx_old_one_token', role: 'developer', expiresAt: 1000 },
    ]);
    expect(t.lookup('pcx_dev_one_token', 0)).toEqual({ user: userIdOf('pcx_dev_one_token', 'developer'), role: 'developer' });
    expect(t.lookup('pcx_rev_one_token', 0)).toMatchObject({ role: 'reviewer', user: expect.stringMatching(/^rev-[0-9a-f]{64}$/) });
    expect(t.lookup('pcx_dev_one_tokeN', 0)).toBeUndefined();
    expect(t.lookup('pcx_old_one_token', 999)).toMatchObject({ role: 'developer' });
    expect(t.lookup('pcx_old_one_token', 1000)).toBe('expired');
    // The id never contains the token.
    expect(userIdOf('pcx_dev_one_token', 'developer')).not.toContain('pcx_');
  });
});

describe('FaultQueue', () => {
  it('applies a fault to the next `times` matching requests, in order', () => {
    const q = new FaultQueue([{ route: 'submit', kind: 'status', status: 503, times: 2 }]);
    q.add({ kind: 'reset' });
    expect(q.take('me')?.kind).toBe('reset');
    expect(q.take('me')).toBeUndefined();
    expect(q.take('submit')?.kind).toBe('status');
    expect(q.take('submit')?.kind).toBe('status');
    expect(q.take('submit')).toBeUndefined();
    q.add({ route: 'me', kind: 'hang', times: Infinity });
    for (let i = 0; i < 5; i++) expect(q.take('me')?.kind).toBe('hang');
    q.clear();
    expect(q.take('me')).toBeUndefined();
  });
});
