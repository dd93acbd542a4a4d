/** What `deploy render` writes into the project is never packed by `build`. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';

describe('deploy artefacts and build', () => {
  it('Dockerfile, .dockerignore, k8s/, helm/ and .plexichat/ stay out of the archive; render has nothing to warn about', async () => {
    const dir = path.join(await tempDir(), 'p');
    expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    const render = await runMain(['deploy', 'render', '--helm'], { cwd: dir });
    expect(render.exitCode, render.stderr).toBe(0);
    expect(render.stderr).not.toMatch(/packs the deploy files/);
    await fs.access(path.join(dir, 'Dockerfile'));
    const dry = await runMain(['--json', 'build', '--dry-run'], { cwd: dir });
    expect(dry.exitCode, dry.stderr).toBe(0);
    const listed = JSON.stringify(JSON.parse(dry.stdout));
    for (const p of ['Dockerfile', '.dockerignore', 'k8s/', 'helm/', '.plexichat/']) expect(listed).not.toContain(`"${p}`);
    expect(listed).toContain('src/plugin.py');
  });
});

describe('project configuration and build', () => {
  it('.plexichat.yaml and the root conftest.py are not packed; conftest.py is with --include-tests', async () => {
    const dir = path.join(await tempDir(), 'p');
    expect((await runMain(['init', dir, '--name', 'demo_plugin', '--category', 'utility', '--yes'])).exitCode).toBe(0);
    await fs.writeFile(path.join(dir, '.plexichat.yaml'), 'check:\n  rules: {}\n');
    const paths = async (extra: string[]) => {
      const r = await runMain(['--json', 'build', '--dry-run', ...extra], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(0);
      return (JSON.parse(r.stdout).list as { path: string }[]).map((f) => f.path);
    };
    const plain = await paths([]);
    expect(plain).not.toContain('.plexichat.yaml');
    expect(plain).not.toContain('conftest.py');
    const withTests = await paths(['--include-tests']);
    expect(withTests).toContain('conftest.py');
    expect(withTests).not.toContain('.plexichat.yaml');
  });
});
