import { describe, expect, it } from 'vitest';
import { builtinRule, classify, markerRule } from '../../../src/core/package/classify.js';
import { parseIgnoreFile } from '../../../src/core/package/ignore-file.js';

const at = (rel: string, isDir = false) => {
  const parts = rel.split('/');
  return { rel, name: parts[parts.length - 1], atRoot: parts.length === 1, isDir };
};

describe('classify: the built-in rules', () => {
  it.each([
    // test and tool droppings, at any depth
    ['.hypothesis', true],
    ['src/.hypothesis', true],
    ['.benchmarks', true],
    ['.tox', true],
    ['.nox', true],
    ['.pytest_cache', true],
    ['src/.mypy_cache', true],
    ['.ipynb_checkpoints', true],
    ['htmlcov', true],
    ['a/b/__pycache__', true],
    ['.plexichat-marketplace', true],
    ['x.egg-info', true],
    ['.coverage', false],
    ['.coverage.host.1.2', false],
    ['coverage.xml', false],
    ['docs/coverage.xml', false],
    ['coverage.json', false],
    ['nosetests.xml', false],
    ['src/plugin.py,cover', false],
    ['.dmypy.json', false],
    ['pip-log.txt', false],
    ['src/a.pyc', false],
    ['demo-1.0.0.zip.partial-12-ab12', false],
  ])('drops %s (folder: %s)', (rel, isDir) => {
    expect(classify(at(rel, isDir)).action).toBe('dropped');
  });

  it.each([
    ['dist', true],
    ['build', true],
    ['tests', true],
    ['.plexichat-backup', true],
    ['.gitignore', false],
    ['.pluginignore', false],
    ['.editorconfig', false],
  ])('drops %s at the root only', (rel, isDir) => {
    expect(classify(at(rel, isDir)).action).toBe('dropped');
    expect(classify(at(`src/${rel}`, isDir)).action).toBe('kept');
  });

  it.each([
    ['src/plugin.py', 'default: plugin code (src/)'],
    ['src/coverage.py', 'default: plugin code (src/)'],
    ['src/data/table.csv', 'default: plugin code (src/)'],
    ['docs/benchmarks.md', 'default: documentation (docs/)'],
    ['config/plugin.yaml', 'default: the manifest (config/plugin.yaml)'],
    ['config/monitoring.yaml', 'default: monitoring (config/monitoring.yaml)'],
    ['CHANGELOG.md', 'default: changelog'],
    ['README.md', 'default: README'],
    ['readme.rst', 'default: README'],
    ['LICENSE', 'default: licence'],
    ['LICENCE.txt', 'default: licence'],
    ['COPYING', 'default: licence'],
  ])('keeps %s as a part of a plugin', (rel, rule) => {
    expect(classify(at(rel))).toEqual({ action: 'kept', rule });
  });

  it.each([
    ['notes.txt'],
    ['v.json'],
    ['scratch.py'],
    ['coverage.py'],
    ['hypothesis.txt'],
    ['data/coverage.csv'],
    ['config/other.yaml'],
    ['requirements.txt'],
    ['docs.md'],
    ['src.py'],
    ['srcx/a.py'],
    ['sub/README.md'],
    ['sub/LICENSE'],
  ])('leaves out %s (not part of a plugin)', (rel) => {
    expect(classify(at(rel))).toEqual({ action: 'left-out', rule: 'default: not part of a plugin' });
  });

  it('a folder rule does not apply to a file of that name, nor a file rule to a folder', () => {
    expect(classify(at('src/.tox', false)).action).toBe('kept');
    expect(classify(at('src/coverage.xml', true)).action).toBe('kept');
    expect(classify(at('.tox', false)).action).toBe('left-out');
  });

  it('tests/ is packed with --include-tests', () => {
    expect(classify(at('tests', true), { includeTests: true }).action).toBe('kept');
    expect(classify(at('tests/test_a.py'), { includeTests: true }).action).toBe('kept');
    expect(classify(at('conftest.py'), { includeTests: true }).action).toBe('kept');
    expect(builtinRule(at('tests', true))).toBe('built-in: tests/ (pass --include-tests to pack them)');
  });

  it('folders recognised by what they hold', () => {
    expect(markerRule(['bin', 'pyvenv.cfg'])).toMatch(/virtualenv/);
    expect(markerRule(['archives', 'marketplace.db', 'marketplace.db-wal'])).toMatch(/marketplace serve data/);
    expect(markerRule(['plugin.py'])).toBeUndefined();
  });
});

describe('classify: .pluginignore', () => {
  const ignore = parseIgnoreFile('# c\n*.log\n!keep.log\ndata/\n!data/\nsecret*\n!secret.txt\n');

  it('names the line that drops a path', () => {
    expect(classify(at('debug.log'), { ignore })).toEqual({ action: 'dropped', rule: '.pluginignore:2: *.log' });
    expect(classify(at('secret.bin'), { ignore })).toEqual({ action: 'dropped', rule: '.pluginignore:6: secret*' });
  });

  it('a path no line and no part speaks of is left out; a `!` line opts it in', () => {
    expect(classify(at('notes.txt'), { ignore })).toEqual({ action: 'left-out', rule: 'default: not part of a plugin' });
    const optIn = parseIgnoreFile('!notes.txt\n!assets/**\n');
    expect(classify(at('notes.txt'), { ignore: optIn })).toEqual({ action: 'kept', rule: '.pluginignore:1: !notes.txt' });
    expect(classify(at('assets/logo.png'), { ignore: optIn })).toEqual({ action: 'kept', rule: '.pluginignore:2: !assets/**' });
  });

  it('names the `!` line that re-includes a path, not "not excluded"', () => {
    expect(classify(at('keep.log'), { ignore })).toEqual({ action: 'kept', rule: '.pluginignore:3: !keep.log' });
    expect(classify(at('secret.txt'), { ignore })).toEqual({ action: 'kept', rule: '.pluginignore:7: !secret.txt' });
    expect(classify(at('data', true), { ignore })).toEqual({ action: 'kept', rule: '.pluginignore:5: !data/' });
  });

  it('built-in rules win over a `!` line', () => {
    const reinclude = parseIgnoreFile('!.hypothesis/\n!dist/\n');
    expect(classify(at('.hypothesis', true), { ignore: reinclude }).action).toBe('dropped');
    expect(classify(at('dist', true), { ignore: reinclude }).action).toBe('dropped');
  });
});
