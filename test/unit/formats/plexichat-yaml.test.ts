/**
 * .plexichat.yaml, in-process: the schema (schemas/files/plexichat-config.schema.json)
 * in the file's own words, the first problem at file:line:column.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseCheckConfig } from '../../../src/check/config.js';

function problem(text: string): string {
  try {
    parseCheckConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'no problem';
}

describe('.plexichat.yaml', () => {
  it('reads levels and suppressions; an empty file, an empty section and other sections are no rules', () => {
    const text =
      'check:\n  rules:\n    docs/PLACEHOLDER: warning\n    security/SKIPPED:\n      severity: off\n      reason: "  no bandit on CI "\n    validate/UNKNOWN_CATEGORY: {severity: note}\nother_tool: {x: 1}\n';
    expect(parseCheckConfig(text)).toEqual({
      rules: {
        'docs/PLACEHOLDER': { severity: 'warning' },
        'security/SKIPPED': { severity: 'off', reason: 'no bandit on CI' },
        'validate/UNKNOWN_CATEGORY': { severity: 'note' },
      },
    });
    for (const empty of ['', '# nothing\n', 'check:\n', 'check:\n  rules:\n', '\uFEFFcheck: {}\n'])
      expect(parseCheckConfig(empty), empty).toEqual({ rules: {} });
  });

  it('wrong types, at the value', () => {
    expect(problem('- check\n')).toBe('.plexichat.yaml:1:1: .plexichat.yaml must be a mapping (check: ...)');
    expect(problem('check: [rules]\n')).toBe('.plexichat.yaml:1:8: check must be a mapping with rules:');
    expect(problem('check:\n  rules: [a]\n')).toBe('.plexichat.yaml:2:10: check.rules must map rule ids to a level');
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER: [warning]\n')).toBe('.plexichat.yaml:3:5: rule docs/PLACEHOLDER needs a level');
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER: {severity: note, reason: 3}\n')).toBe(
      '.plexichat.yaml:3:5: rule docs/PLACEHOLDER: reason must be a non-empty text',
    );
  });

  it('missing required: a level, a reason for off', () => {
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER: off\n')).toBe('.plexichat.yaml:3:5: rule docs/PLACEHOLDER is turned off without a reason');
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER:\n      severity: off\n')).toBe(
      '.plexichat.yaml:3:5: rule docs/PLACEHOLDER is turned off without a reason',
    );
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER:\n      reason: why\n')).toBe(
      '.plexichat.yaml:3:5: rule docs/PLACEHOLDER: severity must be one of error, warning, note, off',
    );
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER:\n')).toBe(
      '.plexichat.yaml:3:5: rule docs/PLACEHOLDER: severity must be one of error, warning, note, off',
    );
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER: {severity: off, reason: " "}\n')).toBe(
      '.plexichat.yaml:3:5: rule docs/PLACEHOLDER: reason must be a non-empty text',
    );
  });

  it('unknown keys and bad rule ids, at the key', () => {
    expect(problem('check:\n  rulez: {}\n')).toBe('.plexichat.yaml:2:3: unknown key check.rulez');
    expect(problem('check:\n  rules:\n    placeholder: warning\n')).toMatch(/^\.plexichat\.yaml:3:5: "placeholder" is not a rule id/);
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER:\n      severity: note\n      level: x\n')).toBe(
      '.plexichat.yaml:5:7: unknown key level for rule docs/PLACEHOLDER',
    );
    expect(problem('check:\n  rules:\n    docs/PLACEHOLDER: loud\n')).toBe(
      '.plexichat.yaml:3:5: rule docs/PLACEHOLDER: severity must be one of error, warning, note, off',
    );
  });

  it('the first problem in file order; YAML errors with their position', () => {
    expect(problem('check:\n  rules:\n    docs/A: loud\n    nope: warning\n  rulez: 1\n')).toMatch(/^\.plexichat\.yaml:3:5: rule docs\/A:/);
    expect(problem('check: [\n')).toMatch(/^\.plexichat\.yaml:2:1: /);
    expect(problem('check:\n  rules: {}\n  rules: {}\n')).toMatch(/^\.plexichat\.yaml:3:3: the key 'rules' appears twice/);
  });
});
