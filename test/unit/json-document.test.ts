/** The one shape of --json documents (src/io/json-document.ts): schemaVersion first, camelCase names. */
import { describe, expect, it } from 'vitest';
import { camelName, jsonDocument, JSON_SCHEMA_VERSION, verbatim } from '../../src/io/json-document.js';

describe('camelName', () => {
  it('turns snake_case field names into camelCase', () => {
    expect(camelName('created_at')).toBe('createdAt');
    expect(camelName('permissions_summary')).toBe('permissionsSummary');
    expect(camelName('limit_bytes')).toBe('limitBytes');
    expect(camelName('sha256_file')).toBe('sha256File');
    expect(camelName('a_1_b')).toBe('a1B');
  });

  it('keeps camelCase, single words and names that are not field-like', () => {
    for (const k of ['createdAt', 'id', 'sha256', 'x-plexichat-user', '@line-rate', '__unexpected', '_private', 'trailing_', 'Upper_Case', 'double__under']) {
      expect(camelName(k)).toBe(k);
    }
  });
});

describe('jsonDocument', () => {
  it('puts schemaVersion first and renames keys at every depth, in arrays too', () => {
    const doc = jsonDocument({ submission: { updated_at: 't', permission_diff: { newlyRequired: ['admin_access'] } }, keys: [{ key_id: 'k' }] });
    expect(Object.keys(doc)[0]).toBe('schemaVersion');
    expect(doc).toEqual({
      schemaVersion: JSON_SCHEMA_VERSION,
      submission: { updatedAt: 't', permissionDiff: { newlyRequired: ['admin_access'] } },
      keys: [{ keyId: 'k' }],
    });
  });

  it("never changes values, and prints a verbatim value (the user's own map keys) as it is", () => {
    const manifest = verbatim({ settings: { max_items: { type: 'integer' } } });
    const doc = jsonDocument({ state: 'in_review', code: 'NOT_APPROVED', hooks: ['user_login'], manifest });
    expect(doc).toEqual({
      schemaVersion: 1,
      state: 'in_review',
      code: 'NOT_APPROVED',
      hooks: ['user_login'],
      manifest: { settings: { max_items: { type: 'integer' } } },
    });
  });

  it('leaves out undefined fields, as JSON does', () => {
    expect(jsonDocument({ a: 1, hint: undefined })).toEqual({ schemaVersion: 1, a: 1 });
  });
});
