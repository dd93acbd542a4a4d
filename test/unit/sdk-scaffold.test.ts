import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { className, defaultTemplatesRoot, inspectTarget, listTemplates, renderText, scaffold, type ScaffoldVars } from '../../src/core/scaffold.js';
import { suggestPluginName as suggestName } from '../../src/core/plugin-name.js';
import { suggest as suggestClosest } from '../../src/core/suggest.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';

const vars: ScaffoldVars = {
  name: 'my_plugin',
  category: 'utility',
  description: 'Says "hi"',
  author: 'Me',
  license: 'MIT',
  version: '0.1.0',
  date: '2026-01-01',
  template: 'minimal',
};

/** A rename that fails on its n-th call. */
function failingRename(n: number) {
  let calls = 0;
  return {
    rename: async (a: string, b: string) => {
      calls += 1;
      if (calls === n) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      await fs.rename(a, b);
    },
  };
}

describe('scaffold core', () => {
  it('names, classes and suggestions', () => {
    expect(className('advanced_analytics')).toBe('AdvancedAnalyticsPlugin');
    expect(className('my_plugin')).toBe('MyPlugin');
    expect(suggestName('My-Plugin')).toBe('my_plugin');
    expect(suggestName('AdvancedAnalytics')).toBe('advanced_analytics');
    expect(suggestName('good_name')).toBeUndefined();
    expect(suggestClosest('analytcs', ['analytics', 'bots'])).toBe('analytics');
    expect(suggestClosest('zzzzzzzz', ['analytics', 'bots'])).toBeUndefined();
  });

  it('placeholders: raw, quoted, and unknown ones are template bugs', () => {
    expect(renderText('a: {{description|quote}} b: {{class_name}}', vars)).toBe('a: "Says \\"hi\\"" b: MyPlugin');
    expect(() => renderText('{{nope}}', vars)).toThrow(/unknown placeholder/);
  });

  it('ships at least the minimal and analytics templates', async () => {
    const names = (await listTemplates(defaultTemplatesRoot())).map((t) => t.name);
    expect(names.slice(0, 2)).toEqual(['minimal', 'analytics']);
  });

  it('a failure while moving into a new directory leaves nothing behind', async () => {
    const root = await tempDir();
    const tpl = (await listTemplates()).find((t) => t.name === 'minimal')!;
    await expect(scaffold({ templateDir: tpl.dir, target: path.join(root, 'deep/er/p'), vars }, failingRename(1))).rejects.toThrow(/disk full/);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('a failure after some files were moved into an existing directory undoes every step', async () => {
    const root = await tempDir({ p: { src: { 'plugin.py': '# mine\n' }, 'notes.txt': 'x' } });
    const tpl = (await listTemplates()).find((t) => t.name === 'minimal')!;
    // with force: renames are backup(src/plugin.py) and moves; fail late
    await expect(scaffold({ templateDir: tpl.dir, target: path.join(root, 'p'), vars, force: true }, failingRename(8))).rejects.toThrow(/disk full/);
    expect(await listFiles(root)).toEqual(['p/notes.txt', 'p/src/plugin.py']);
    expect(await fs.readFile(path.join(root, 'p/src/plugin.py'), 'utf8')).toBe('# mine\n');
    expect((await fs.readdir(path.join(root, 'p'))).sort()).toEqual(['notes.txt', 'src']);
    expect(await fs.readdir(root)).toEqual(['p']);
  });

  it('an aborted scaffold leaves nothing', async () => {
    const root = await tempDir();
    const tpl = (await listTemplates()).find((t) => t.name === 'minimal')!;
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(scaffold({ templateDir: tpl.dir, target: path.join(root, 'p'), vars, signal: ac.signal })).rejects.toThrow(/stop/);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('empty folders and .git do not make a directory non-empty', async () => {
    const root = await tempDir({ a: {}, b: { c: {} }, '.git': { HEAD: 'x' } });
    expect((await inspectTarget(root)).conflicts).toEqual([]);
    const root2 = await tempDir({ b: { c: { 'f.txt': '' } } });
    expect((await inspectTarget(root2)).conflicts).toEqual(['b/c/f.txt']);
  });
});
