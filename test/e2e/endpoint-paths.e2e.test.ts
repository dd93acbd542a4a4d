/**
 * Endpoint paths that leave /api/v1/ once normalised (dot segments, encoded
 * dots and slashes, backslashes, empty segments) are refused by every command
 * that reads them: validate (manifest and code), build (nothing written),
 * test (the SDK refuses the registration), verify of a crafted archive, and
 * the development marketplace on upload. One rule: src/core/endpoint.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { submit } from '../helpers/server-zips.js';
import { tempDir, type Tree } from '../helpers/temp-project.js';
import { manifestYaml, pluginZip, writeZip } from '../helpers/zip-fixtures.js';

const GOOD = '/api/v1/dots/status';

/** Escaping paths, as a user would write them in YAML (single-quoted) and Python (a raw string). */
const ESCAPING = [
  '/api/v1/../../admin/users',
  '/api/v1/./dots/status',
  '/api/v1/dots/..',
  '/api/../admin',
  '/api/v1/%2e%2e/admin',
  '/api/v1/%2E%2e/admin',
  '/api/v1/dots%2F..%2Fadmin',
  '/api/v1/dots%5cadmin',
  '/api/v1/%252e%252e/admin',
  '/api/v1/dots\\..\\admin',
  '/api/v1//admin',
  '/api/v1/dots/',
];

const manifest = (endpoints: string[]) => `plugin:
  name: "dots"
  version: "1.0.0"
  author: "Ada"
  description: "Serves a status"
metadata:
  category: "utility"
  license: "MIT"
endpoints:
${endpoints.map((e) => `  - '${e.replace(/'/g, "''")}'`).join('\n')}
`;

const decorated = (p: string) => `from plexichat_plugin_sdk import Plugin, endpoint


class DotsPlugin(Plugin):
    @endpoint(r'${p}')
    def status(self, request):
        return {'ok': True}
`;

const dict = (p: string) => `from plexichat_plugin_sdk import Plugin


class DotsPlugin(Plugin):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoints = {r'${p}': self.status}

    def status(self, request):
        return {'ok': True}
`;

async function project(endpoints: string[], code: string, extra: Tree = {}): Promise<string> {
  return tempDir({ config: { 'plugin.yaml': manifest(endpoints) }, src: { '__init__.py': '', 'plugin.py': code }, ...extra });
}

async function validateJson(dir: string) {
  const r = await runMain(['--json', 'validate'], { cwd: dir });
  expect(hasStackTrace(r.stderr)).toBe(false);
  return { exitCode: r.exitCode, doc: JSON.parse(r.stdout) };
}

interface Diag {
  code: string;
  file: string;
  line: number;
  message: string;
  hint: string;
}

describe('validate refuses endpoint paths that leave /api/v1/', () => {
  it.each(ESCAPING)('in config/plugin.yaml and in @endpoint: %j', async (p) => {
    const dir = await project([p], decorated(p));
    const { exitCode, doc } = await validateJson(dir);
    expect(exitCode).toBe(1);
    const bad = (doc.errors as Diag[]).filter((e) => e.code === 'INVALID_ENDPOINT');
    expect(bad.map((e) => e.file).sort()).toEqual(['config/plugin.yaml', 'src/plugin.py']);
    for (const e of bad) {
      expect(e.message).toContain(`endpoint '${p}'`);
      expect(e.message).not.toContain('\n');
      expect(e.hint).toMatch(/e\.g\. \/api\/v1\/[a-z_/]+$/);
      expect(e.line).toBeGreaterThan(0);
    }
    expect(bad.find((e) => e.file === 'src/plugin.py')!.line).toBe(5);
  });

  it('in the code only (declared path is fine): the code line is an INVALID_ENDPOINT, not "declare it"', async () => {
    for (const code of [decorated('/api/v1/../../admin/users'), dict('/api/v1/../../admin/users')]) {
      const dir = await project([GOOD], code);
      const { exitCode, doc } = await validateJson(dir);
      expect(exitCode).toBe(1);
      const codes = (doc.errors as Diag[]).map((e) => e.code);
      expect(codes).toContain('INVALID_ENDPOINT');
      expect(codes).not.toContain('UNDECLARED_ENDPOINT');
      const e = (doc.errors as Diag[]).find((x) => x.code === 'INVALID_ENDPOINT')!;
      expect(e.file).toBe('src/plugin.py');
      expect(e.message).toMatch(/served by status\(\) has a '\.' or '\.\.' segment, so it does not stay under \/api\/v1\/ once normalised/);
    }
  });

  it('says it in one line with a fix line for a human, exit 1, no stack', async () => {
    const dir = await project(['/api/v1/../../admin/users'], decorated(GOOD));
    const r = await runMain(['validate'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/config\/plugin\.yaml:\d+:\d+ error INVALID_ENDPOINT endpoint '\/api\/v1\/\.\.\/\.\.\/admin\/users' has a '\.' or '\.\.' segment/);
    expect(out).toMatch(/fix: write the path without dot segments, e\.g\. \/api\/v1\/admin\/users/);
    expect(hasStackTrace(out)).toBe(false);
  });

  it('still accepts a good path, and paths with dots inside a segment', async () => {
    const paths = [GOOD, '/api/v1/dots/v1.2/report', '/api/v1/.well-known', '/api/v1/dots/{id}'];
    const code = `from plexichat_plugin_sdk import Plugin, endpoint


class DotsPlugin(Plugin):
${paths.map((p, i) => `    @endpoint('${p}')\n    def h${i}(self, request):\n        return {}\n`).join('\n')}`;
    const dir = await project(paths, code);
    const { exitCode, doc } = await validateJson(dir);
    expect(doc.errors).toEqual([]);
    expect(exitCode).toBe(0);
  });
});

describe('build refuses them and writes nothing', () => {
  it.each(['/api/v1/../../admin/users', '/api/v1/%2e%2e/admin', '/api/v1/dots\\..\\admin'])('%j', async (p) => {
    const dir = await project([p], decorated(p));
    const r = await runMain(['build'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/INVALID_ENDPOINT/);
    expect(r.stderr).toMatch(/nothing was built/);
    await expect(fs.readdir(path.join(dir, 'dist'))).rejects.toThrow();
  });
});

describe('test refuses them (the SDK will not register the path)', () => {
  it.each([
    ['@endpoint', decorated],
    ['self.endpoints', dict],
  ] as const)('%s', async (_, code) => {
    const p = '/api/v1/../../admin/users';
    const dir = await project([GOOD], code(p), {
      tests: { 'test_plugin.py': 'def test_loads(harness):\n    assert harness.get_registered_endpoints()\n' },
    });
    const r = await runMain(['test'], { cwd: dir });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/'\/api\/v1\/\.\.\/\.\.\/admin\/users' has a '\.' or '\.\.' segment/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});

const archive = (endpoints: string[]) =>
  pluginZip({ files: { 'config/plugin.yaml': `${manifestYaml()}endpoints:\n${endpoints.map((e) => `  - '${e}'`).join('\n')}\n` } });

describe('verify refuses a crafted archive whose manifest declares one', () => {
  it.each(ESCAPING)('%j', async (p) => {
    const dir = await tempDir();
    await writeZip(path.join(dir, 'evil.zip'), archive(['/api/v1/demo/status', p]));
    const r = await runMain(['--json', 'verify', 'evil.zip'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout);
    const f = doc.findings.find((x: { code: string }) => x.code === 'INVALID_ENDPOINT');
    expect(f.message).toContain(`endpoint '${p}'`);
    expect(f.entry).toBe('config/plugin.yaml');
  });

  it('and passes the same archive with good paths', async () => {
    const dir = await tempDir();
    await writeZip(path.join(dir, 'good.zip'), archive(['/api/v1/demo/status', '/api/v1/demo/v1.2']));
    const r = await runMain(['verify', 'good.zip'], { cwd: dir });
    expect(r.exitCode).toBe(0);
  });
});

describe('the development marketplace refuses the upload', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s));

  it.each(['/api/v1/../../admin/users', '/api/v1/%2e%2e/admin', '/api/v1/a%2fb', '/api/v1/a\\b', '/api/v1//admin'])(
    '%j: 422 INVALID_ARCHIVE, nothing stored',
    async (p) => {
      const before = srv.countSubmissions('demo_plugin');
      const r = await submit(srv.url, srv.developer, 'demo_plugin', archive([p]));
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('INVALID_ARCHIVE');
      expect(r.body.error.message).toContain(`endpoint '${p}'`);
      expect(r.body.error.findings.map((f: { code: string }) => f.code)).toContain('INVALID_ENDPOINT');
      expect(srv.countSubmissions('demo_plugin')).toBe(before);
    },
  );

  it('accepts the same plugin with a good path', async () => {
    const r = await submit(srv.url, srv.developer, 'demo_plugin', archive(['/api/v1/demo/status']));
    expect(r.status).toBe(201);
  });
});
