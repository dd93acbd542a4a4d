import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { pluginZip, writeZip } from '../helpers/zip-fixtures.js';

describe('verify', () => {
  it('passes a good archive (exit 0) and gives every finding under --json', async () => {
    const dir = await tempDir();
    await writeZip(path.join(dir, 'good.zip'), pluginZip());
    const human = await runMain(['verify', 'good.zip'], { cwd: dir });
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/demo_plugin 1\.0\.0: archive OK/);
    const json = await runMain(['verify', 'good.zip', '--json'], { cwd: dir });
    expect(json.exitCode).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: true, findings: [], entries: 4, plugin: { name: 'demo_plugin', version: '1.0.0' } });
    expect(doc.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails a tampered archive with traversal and symlink entries (exit 1), naming each entry', async () => {
    const dir = await tempDir();
    await writeZip(
      path.join(dir, 'evil.zip'),
      pluginZip({
        tamper: { 'src/plugin.py': 'import os\n' },
        unlisted: [
          { name: '../../evil.py', data: 'x' },
          { name: 'src/link', data: '/etc/passwd', mode: 0o120777 },
        ],
      }),
    );
    const r = await runMain(['verify', 'evil.zip'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/"src\/plugin.py": size 10 differs from the listed 15 \(tampered\?\) \[INTEGRITY_MISMATCH\]/);
    expect(r.stderr).toMatch(/"..\/..\/evil.py": unsafe entry name: contains a ".." segment \[NAME_TRAVERSAL\]/);
    expect(r.stderr).toMatch(/"src\/link": symbolic link entries are not allowed/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const json = await runMain(['--json', 'verify', 'evil.zip'], { cwd: dir });
    expect(json.exitCode).toBe(1);
    const codes = JSON.parse(json.stdout).findings.map((f: { code: string }) => f.code);
    expect(codes).toEqual(expect.arrayContaining(['INTEGRITY_MISMATCH', 'NAME_TRAVERSAL', 'SYMLINK_ENTRY']));
  });

  it('fails a non-zip file and a missing file with one clear line (exit 1)', async () => {
    const dir = await tempDir({ 'page.zip': '<html>502 Bad Gateway</html>' });
    const bad = await runMain(['verify', 'page.zip'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/not a readable zip archive/);
    expect(hasStackTrace(bad.stderr)).toBe(false);
    const missing = await runMain(['verify', 'nope.zip'], { cwd: dir });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/nope\.zip not found/);
    expect(missing.stderr).toMatch(/hint: build one with/);
    expect(hasStackTrace(missing.stderr)).toBe(false);
  });
});
