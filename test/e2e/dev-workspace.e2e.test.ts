/**
 * `dev` in a workspace: a plugin that imports a shared library runs (the
 * library's folder is on the path), and the plugin's `.env` is read by dev
 * only: its variables reach the plugin under dev (a variable already set
 * wins), while test and check do not read it and neither build nor deploy render
 * packs or copies it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/run-main.js';
import { tempDir } from '../helpers/temp-project.js';
import { offline } from '../helpers/scaffold.js';
import { MANIFEST, cleanupAll, http, pluginSource, startCli, type DevEvent } from './dev-fixture.js';

afterAll(cleanupAll);

const COUNT = '/api/v1/dev_counter/count';
const SECRET = 'hunter2-not-for-the-archive';
const DOTENV = `# the plugin's local settings\nDEV_GREETING="hello from .env"\nexport ALREADY_SET=from-the-file\nDEV_SECRET=${SECRET}\n`;

/** The counter plugin, importing plexi_common and answering with what its environment holds. */
function source(): string {
  return pluginSource('v1')
    .replace('import logging\n', 'import logging\nimport os\n\nfrom plexi_common import shout\n')
    .replace(
      '"version": VERSION,',
      '"version": VERSION,\n            "shout": shout("hi"),\n            "greeting_env": os.environ.get("DEV_GREETING"),\n            "already_set": os.environ.get("ALREADY_SET"),',
    );
}

async function workspace(): Promise<{ root: string; plugin: string }> {
  const root = await tempDir(
    {
      'plexichat-workspace.yaml': 'plugins:\n  - plugins/*\nlibraries:\n  - libs/*\n',
      libs: { plexi_common: { '__init__.py': 'def shout(text):\n    return text.upper() + "!"\n' } },
      plugins: {
        dev_counter: {
          config: { 'plugin.yaml': MANIFEST },
          src: { '__init__.py': '', 'plugin.py': source() },
          tests: {
            '__init__.py': '',
            'test_env.py':
              'import os\n\nfrom plexi_common import shout\n\n\ndef test_no_dotenv():\n    assert os.environ.get("DEV_GREETING") is None\n    assert os.environ.get("DEV_SECRET") is None\n\n\ndef test_library():\n    assert shout("a") == "A!"\n',
          },
          docs: { 'README.md': '# dev_counter\n\nCounts messages.\n' },
          '.env': DOTENV,
        },
      },
    },
    'pxp-devws-',
  );
  return { root, plugin: path.join(root, 'plugins', 'dev_counter') };
}

const asReader = { 'X-PlexiChat-User': 'alice', 'X-PlexiChat-Permissions': 'message_read' };

describe('dev in a workspace', () => {
  it('runs a plugin that imports a workspace library, with its .env read under the environment', async () => {
    const { plugin } = await workspace();
    const dev = startCli(plugin, ['dev', '--port', '0', '--json'], { ALREADY_SET: 'from-the-shell' });
    try {
      const ready = (await dev.waitFor((e) => e.event === 'ready')) as DevEvent & { url: string };
      expect(ready).toMatchObject({ loaded: true, plugin: 'dev_counter' });
      const r = await http(`${ready.url}${COUNT}`, { headers: asReader });
      expect(r.status, r.body).toBe(200);
      // The library runs; .env fills what is unset and never overrides what the shell set.
      expect(r.json()).toMatchObject({ shout: 'HI!', greeting_env: 'hello from .env', already_set: 'from-the-shell' });
      expect(dev.stdoutText + dev.stderr).not.toContain(SECRET);
    } finally {
      const exit = await dev.stop('SIGINT');
      expect(exit.code).toBe(0);
    }
  }, 60_000);

  it('a variable only in .env reaches the plugin; started from the workspace root with -C too', async () => {
    const { root } = await workspace();
    const dev = startCli(root, ['-C', 'plugins/dev_counter', 'dev', '--port', '0', '--json']);
    try {
      const ready = (await dev.waitFor((e) => e.event === 'ready')) as DevEvent & { url: string };
      const r = await http(`${ready.url}${COUNT}`, { headers: asReader });
      expect(r.status, r.body).toBe(200);
      expect(r.json()).toMatchObject({ shout: 'HI!', greeting_env: 'hello from .env', already_set: 'from-the-file' });
    } finally {
      await dev.stop('SIGINT');
    }
  }, 60_000);

  it('test does not read .env (the library is on its path); build and deploy render leave .env out', async () => {
    const { root, plugin } = await workspace();
    const env = { ...offline, DEV_GREETING: undefined, DEV_SECRET: undefined };
    const t = await runMain(['test'], { cwd: plugin, env });
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    // check's test step runs the same tests: .env unread there too.
    const c = await runMain(['--json', 'check'], { cwd: plugin, env });
    const checks = (JSON.parse(c.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks;
    expect(
      checks.find((x) => x.id === 'test'),
      c.stdout,
    ).toMatchObject({ status: 'passed' });
    const b = await runMain(['build', '--no-sign'], { cwd: plugin, env });
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/left out 1 file not part of a plugin: \.env/);
    const archive = path.join(plugin, 'dist', 'dev_counter-1.0.0.zip');
    const names = await execa('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', archive]);
    expect(names.stdout.split('\n')).toContain('plexi_common/__init__.py');
    expect(names.stdout.split('\n').filter((n) => n.endsWith('.env'))).toEqual([]);
    const bytes = await fs.readFile(archive);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    for (const [cwd, args] of [
      [plugin, ['deploy', 'render']],
      [root, ['deploy', 'render', '--all', '--out', 'deploy']],
    ] as const) {
      const d = await runMain([...args], { cwd, env });
      expect(d.exitCode, d.stderr).toBe(0);
    }
    for (const docker of [path.join(plugin, 'Dockerfile'), path.join(plugin, 'deploy', 'Dockerfile')]) {
      const text = await fs.readFile(docker, 'utf8');
      expect(text).not.toMatch(/\.env\b/);
      expect(text).toMatch(/COPY/);
    }
    const rendered = await execa('grep', ['-rl', SECRET, path.join(plugin, 'k8s'), path.join(plugin, 'deploy'), path.join(plugin, '.plexichat')], {
      reject: false,
    });
    expect(rendered.stdout).toBe('');
  }, 120_000);
});
