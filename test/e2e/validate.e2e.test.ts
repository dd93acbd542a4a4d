import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { tempDir, type Tree } from '../helpers/temp-project.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));

const GOOD_YAML = `plugin:
  name: "hello_world"
  version: "1.0.0"
  author: "Ada"
  description: "Says hello"
metadata:
  category: "utility"
  tags: ["demo"]
  license: "MIT"
hooks:
  - message_sent
endpoints:
  - /api/v1/hello/status
permissions:
  required:
    - message_read
`;

const GOOD_PY = `from plexichat_plugin_sdk import Plugin, hook, endpoint
from plexichat_plugin_sdk.security import require_permission


class HelloWorldPlugin(Plugin):
    @hook('message_sent')
    def on_message(self, data):
        return data

    @endpoint('/api/v1/hello/status')
    @require_permission('message_read')
    def status(self, request):
        return {'ok': True}
`;

async function project(manifest: string | Buffer | null, extra: Tree = {}): Promise<string> {
  const tree: Tree = { src: { 'plugin.py': GOOD_PY, '__init__.py': '' }, ...extra };
  if (manifest !== null) tree.config = { 'plugin.yaml': manifest };
  return tempDir(tree);
}

async function validateJson(dir: string, env: Record<string, string | undefined> = {}) {
  const r = await runMain(['--json', 'validate'], { cwd: dir, env });
  expect(hasStackTrace(r.stderr)).toBe(false);
  return { ...r, doc: JSON.parse(r.stdout) };
}

describe('validate', () => {
  it('accepts a good plugin (exit 0) and says so', async () => {
    const dir = await project(GOOD_YAML);
    const r = await runMain(['validate'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('hello_world 1.0.0 is valid');
  });

  it('--json gives { ok, errors, warnings } with locations', async () => {
    const dir = await project(GOOD_YAML);
    const { exitCode, doc } = await validateJson(dir);
    expect(exitCode).toBe(0);
    expect(doc).toMatchObject({ ok: true, errors: [], warnings: [], codeChecks: 'ran' });
  });

  it("loads the runbook's advanced_analytics plugin and reports the undeclared analytics_read with its location", async () => {
    const dir = await tempDir();
    await fs.cp(path.join(FIXTURES, 'runbook-analytics'), dir, { recursive: true });
    const r = await runMain(['validate'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/src\/plugin\.py:\d+:\d+ error UNDECLARED_PERMISSION permission 'analytics_read'/);
    // errors are listed before warnings
    expect(r.stdout.indexOf('Errors:')).toBeLessThan(r.stdout.indexOf('Warnings:'));
    expect(r.stdout).toMatch(/config\/plugin\.yaml:\d+:\d+ warning UNIMPLEMENTED_HOOK hook 'user_logout'/);

    const { doc } = await validateJson(dir);
    expect(doc.ok).toBe(false);
    const err = doc.errors.find((e: { code: string }) => e.code === 'UNDECLARED_PERMISSION');
    const src = await fs.readFile(path.join(dir, 'src/plugin.py'), 'utf8');
    const line = src.split('\n').findIndex((l) => l.includes("@require_permission('analytics_read')")) + 1;
    expect(err).toMatchObject({ file: 'src/plugin.py', line, message: expect.stringContaining('analytics_read') });
    expect(err.column).toBeGreaterThan(0);
    for (const key of ['code', 'message', 'file', 'line', 'column']) expect(err).toHaveProperty(key);
  });

  it('a missing config/plugin.yaml is exit 1 with one clear line', async () => {
    const dir = await project(null);
    const r = await runMain(['validate'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('config/plugin.yaml not found');
    expect(r.stderr).toMatch(/hint: .*init/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const j = await runMain(['--json', 'validate'], { cwd: dir });
    expect(JSON.parse(j.stdout).error.code).toBe('MANIFEST_NOT_FOUND');
  });

  it('-C points at another directory', async () => {
    const dir = await project(GOOD_YAML);
    const r = await runMain(['-C', dir, 'validate']);
    expect(r.exitCode).toBe(0);
  });

  const syntaxCases: [string, string, RegExp, number][] = [
    ['a tab', 'plugin:\n\tname: "x"\n', /config\/plugin\.yaml:2:1 error MANIFEST_SYNTAX tabs are not allowed/i, 2],
    [
      'an unclosed quote',
      'plugin:\n  name: "abc\n  version: "1.0.0"\nmetadata:\n  category: utility\n',
      /config\/plugin\.yaml:\d+:\d+ error MANIFEST_SYNTAX/,
      0,
    ],
    [
      'a duplicate key',
      GOOD_YAML.replace('  version: "1.0.0"\n', '  version: "1.0.0"\n  version: "1.0.1"\n'),
      /config\/plugin\.yaml:4:3 error MANIFEST_DUPLICATE_KEY/,
      4,
    ],
    ['5,000 nested brackets', '['.repeat(5000), /error MANIFEST_SYNTAX/, 0],
  ];
  for (const [what, yaml, pattern, line] of syntaxCases) {
    it(`malformed YAML (${what}) is exit 1 with its line`, async () => {
      const dir = await project(yaml);
      const r = await runMain(['validate'], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(pattern);
      expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
      if (line) {
        const { doc } = await validateJson(dir);
        expect(doc.errors[0].line).toBe(line);
      }
    });
  }

  const shapeCases: [string, string | Buffer, string, RegExp][] = [
    ['a list', '- a\n- b\n', 'MANIFEST_NOT_MAPPING', /is a list/],
    ['empty', '', 'MANIFEST_EMPTY', /empty/],
    ['only comments', '# nothing here\n', 'MANIFEST_EMPTY', /empty/],
    ['binary', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0xff, 0xfe]), 'MANIFEST_BINARY', /not text/],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('plugin:\n  name: "a'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n')]),
      'MANIFEST_ENCODING',
      /not valid UTF-8 \(byte offset 18\)/,
    ],
    ['two documents', `${GOOD_YAML}---\nplugin: {}\n`, 'MANIFEST_MULTI_DOCUMENT', /more than one YAML document/],
    [
      'an alias bomb',
      `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
      'MANIFEST_ALIASES',
      /could not be read/,
    ],
    ['too large', `${GOOD_YAML}settings:\n  blob: "${'x'.repeat(70_000)}"\n`, 'MANIFEST_TOO_LARGE', /limit is 65536/],
  ];
  for (const [what, content, code, message] of shapeCases) {
    it(`a manifest that is ${what} is exit 1 (${code})`, async () => {
      const dir = await project(content);
      const { exitCode, doc } = await validateJson(dir);
      expect(exitCode).toBe(1);
      expect(doc.ok).toBe(false);
      expect(doc.errors[0]).toMatchObject({ code, file: 'config/plugin.yaml' });
      expect(doc.errors[0].message).toMatch(message);
    });
  }

  it('accepts a BOM and CRLF line endings', async () => {
    const dir = await project(`\uFEFF${GOOD_YAML.replace(/\n/g, '\r\n')}`);
    const r = await runMain(['validate'], { cwd: dir });
    expect(r.exitCode).toBe(0);
  });

  it('reports every missing required field with its block and a fix', async () => {
    const dir = await project('plugin:\n  name: "hello_world"\nmetadata:\n  tags: [x]\n');
    const { doc } = await validateJson(dir);
    const missing = doc.errors.filter((e: { code: string }) => e.code === 'MISSING_FIELD').map((e: { message: string }) => e.message);
    expect(missing).toEqual(
      expect.arrayContaining([
        "missing required field 'plugin.version'",
        "missing required field 'plugin.author'",
        "missing required field 'plugin.description'",
        "missing required field 'metadata.category'",
      ]),
    );
    const v = doc.errors.find((e: { message: string }) => e.message.includes('plugin.version'));
    expect(v).toMatchObject({ line: 1, column: 1 });
    expect(v.hint).toContain('version: "1.0.0"');
  });

  it('a non-semver version is an error with a fix; an unquoted 1.10 says to quote it', async () => {
    let dir = await project(GOOD_YAML.replace('"1.0.0"', '"1.0"'));
    let { doc } = await validateJson(dir);
    expect(doc.errors[0]).toMatchObject({ code: 'INVALID_VERSION', line: 3, column: 12 });
    expect(doc.errors[0].hint).toContain('1.0.0');

    dir = await project(GOOD_YAML.replace('"1.0.0"', '1.10'));
    ({ doc } = await validateJson(dir));
    expect(doc.errors[0]).toMatchObject({ code: 'WRONG_TYPE', line: 3 });
    expect(doc.errors[0].message).toContain('plugin.version must be a string, not a number');
    expect(doc.errors[0].hint).toContain('quote it: "1.10"');
  });

  it('an invalid name is an error naming the rule', async () => {
    const dir = await project(GOOD_YAML.replace('"hello_world"', '"Hello World"'));
    const { doc } = await validateJson(dir);
    const e = doc.errors.find((x: { code: string }) => x.code === 'INVALID_NAME');
    expect(e.message).toContain("'Hello World'");
    expect(e.hint).toContain('hello_world');
  });

  const catalogueCases: [string, string, string, string][] = [
    ['category', GOOD_YAML.replace('category: "utility"', 'category: "analytcs"'), 'UNKNOWN_CATEGORY', "did you mean 'analytics'?"],
    ['hook', GOOD_YAML.replace('  - message_sent\n', '  - message_sent\n  - user_logn\n'), 'UNKNOWN_HOOK', "did you mean 'user_login'?"],
    [
      'permission',
      GOOD_YAML.replace('    - message_read\n', '    - message_read\n    - analytics_reed\n'),
      'UNKNOWN_PERMISSION',
      "did you mean 'analytics_read'?",
    ],
  ];
  for (const [what, yaml, code, suggestion] of catalogueCases) {
    it(`an unknown ${what} is an error suggesting the closest valid name`, async () => {
      const dir = await project(yaml);
      const { exitCode, doc } = await validateJson(dir);
      expect(exitCode).toBe(1);
      const e = doc.errors.find((x: { code: string }) => x.code === code);
      expect(e.message).toContain(suggestion);
      expect(e.line).toBeGreaterThan(0);
    });
  }

  it('checks endpoints, dependencies and resources', async () => {
    const yaml = `${GOOD_YAML.replace('  - /api/v1/hello/status\n', '  - /api/v1/hello/status\n  - /hello/other\n')}dependencies:
  core: "banana"
  python: ">=3.8"
  packages:
    - pandas>=1.3.0
    - "not a requirement!"
resources:
  limits:
    cpu: "500m"
    memory: "1Gi"
  requests:
    cpu: "2"
    memory: "lots"
`;
    const dir = await project(yaml);
    const { doc } = await validateJson(dir);
    const codes = doc.errors.map((e: { code: string }) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['INVALID_ENDPOINT', 'INVALID_RANGE', 'INVALID_REQUIREMENT', 'REQUEST_OVER_LIMIT', 'INVALID_QUANTITY']));
    expect(codes).not.toContain('UNDECLARED_ENDPOINT');
  });

  it('reports undeclared hooks and endpoints used in code as errors at the code location', async () => {
    const py = `${GOOD_PY}
    @hook('user_login')
    def on_login(self, data):
        pass

    @endpoint('/api/v1/hello/secret')
    def secret(self, request):
        return {}
`;
    const dir = await project(GOOD_YAML, {
      src: { 'plugin.py': py, more: { 'x.py': "from plexichat_plugin_sdk import hook\n@hook('channel_join')\ndef f(d):\n    pass\n" } },
    });
    const { doc } = await validateJson(dir);
    expect(doc.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'UNDECLARED_HOOK', file: 'src/plugin.py', line: 15 }),
        expect.objectContaining({ code: 'UNDECLARED_ENDPOINT', file: 'src/plugin.py', line: 19 }),
        expect.objectContaining({ code: 'UNDECLARED_HOOK', file: 'src/more/x.py', line: 2 }),
      ]),
    );
  });

  it('reports every remaining manifest rule with its own code', async () => {
    const yaml = `plugin:
  name: "hello_world"
  version: "1.0.0"
  author: ""
  description: "TODO: describe it"
metadata:
  category: "utility"
  tags: ["demo", "demo", ""]
  license: ""
  homepage: "ftp://example.com"
dependencies:
  packages: ["pandas>=1.3", "Pandas>=1.4"]
permissions:
  required: [message_read, message_read]
  optional: [message_read]
resources:
  limits:
    gpu: "1"
hooks: [message_sent, message_sent]
endpoints: [/api/v1/hello/status, /api/v1/hello/status]
`;
    const dir = await project(yaml);
    const { exitCode, doc } = await validateJson(dir);
    expect(exitCode).toBe(1);
    const codes = (list: { code: string }[]) => list.map((d) => d.code);
    expect(codes(doc.errors)).toEqual(expect.arrayContaining(['EMPTY_AUTHOR', 'EMPTY_TAG', 'EMPTY_LICENSE', 'INVALID_URL']));
    expect(codes(doc.warnings)).toEqual(
      expect.arrayContaining([
        'PLACEHOLDER',
        'DUPLICATE_TAG',
        'DUPLICATE_PACKAGE',
        'DUPLICATE_PERMISSION',
        'PERMISSION_BOTH',
        'UNKNOWN_RESOURCE',
        'DUPLICATE_HOOK',
        'DUPLICATE_ENDPOINT',
      ]),
    );
    for (const d of [...doc.errors, ...doc.warnings]) expect(d.line, d.code).toBeGreaterThan(0);
  });

  it('names in code outside the catalogues, and decorators without a literal, are reported at the code', async () => {
    const py = `from plexichat_plugin_sdk import Plugin, hook, endpoint
from plexichat_plugin_sdk.security import require_permission

NAME = 'message_sent'


class HelloWorldPlugin(Plugin):
    @hook('message_sent')
    def on_message(self, data):
        return data

    @endpoint('/api/v1/hello/status')
    @require_permission('message_read')
    def status(self, request):
        return {}

    @hook('user_logn')
    def typo(self, data):
        pass

    @require_permission('analytics_reed')
    def reed(self, request):
        pass

    @hook(NAME)
    def dynamic(self, data):
        pass
`;
    const dir = await project(GOOD_YAML, { src: { 'plugin.py': py } });
    const { doc } = await validateJson(dir);
    expect(doc.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'UNKNOWN_HOOK', file: 'src/plugin.py', line: 17, message: expect.stringContaining("did you mean 'user_login'?") }),
        expect.objectContaining({
          code: 'UNKNOWN_PERMISSION',
          file: 'src/plugin.py',
          line: 21,
          message: expect.stringContaining("did you mean 'analytics_read'?"),
        }),
      ]),
    );
    expect(doc.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'DYNAMIC_DECORATOR', file: 'src/plugin.py', line: 25 })]));
  });

  it('still cross-checks the code when the manifest has rule errors', async () => {
    const yaml = GOOD_YAML.replace('"1.0.0"', '"one"').replace('    - message_read\n', '    - user_data_read\n');
    const dir = await project(yaml);
    const { doc } = await validateJson(dir);
    expect(doc.errors.map((e: { code: string }) => e.code)).toEqual(expect.arrayContaining(['INVALID_VERSION', 'UNDECLARED_PERMISSION']));
  });

  it('reports a Python syntax error with its location', async () => {
    const dir = await project(GOOD_YAML, { src: { 'plugin.py': "from plexichat_plugin_sdk import hook\n\n@hook('message_sent')\ndef broken(:\n    pass\n" } });
    const { doc } = await validateJson(dir);
    expect(doc.errors[0]).toMatchObject({ code: 'PYTHON_SYNTAX', file: 'src/plugin.py', line: 4 });
  });

  it('without a Python interpreter the manifest checks still run and a warning says the code checks were skipped', async () => {
    const dir = await project(GOOD_YAML.replace('"1.0.0"', '"one"'));
    const { exitCode, doc } = await validateJson(dir, { PATH: '/nonexistent', PLEXICHAT_PYTHON: undefined });
    expect(exitCode).toBe(1);
    expect(doc.codeChecks).toBe('skipped');
    expect(doc.errors.map((e: { code: string }) => e.code)).toContain('INVALID_VERSION');
    expect(doc.warnings.map((e: { code: string }) => e.code)).toContain('CODE_CHECKS_SKIPPED');
  });

  it('a plugin without src/ is an error; src/ without a Plugin class is a warning', async () => {
    let dir = await tempDir({ config: { 'plugin.yaml': GOOD_YAML } });
    let { doc } = await validateJson(dir);
    expect(doc.errors.map((e: { code: string }) => e.code)).toContain('MISSING_SOURCE');

    dir = await tempDir({ config: { 'plugin.yaml': GOOD_YAML.replace(/hooks:[\s\S]*/, '') }, src: { 'plugin.py': 'x = 1\n' } });
    ({ doc } = await validateJson(dir));
    expect(doc.ok).toBe(true);
    expect(doc.warnings.map((e: { code: string }) => e.code)).toContain('NO_PLUGIN_CLASS');
  });

  it('a dangling .py link in src/ is a warning naming it, not a crash', async () => {
    const dir = await project(GOOD_YAML);
    await fs.symlink(path.join(dir, 'missing.py'), path.join(dir, 'src', 'gone.py'));
    const { exitCode, doc } = await validateJson(dir);
    expect(exitCode).toBe(0);
    expect(doc.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'UNREADABLE_SOURCE', file: 'src/gone.py' })]));
  });

  it('a PLEXICHAT_PYTHON that cannot run is an error naming it, as under test (issue 13 #11: it was a warning and exit 0)', async () => {
    const dir = await project(GOOD_YAML);
    const { exitCode, doc, stderr } = await validateJson(dir, { PLEXICHAT_PYTHON: '/nonexistent/python3' });
    expect(exitCode).toBe(1);
    expect(doc.error.code).toBe('PYTHON_NOT_FOUND');
    expect(stderr).toContain('PLEXICHAT_PYTHON=/nonexistent/python3 is not a runnable Python interpreter');
  });

  it('parses only the modules that can hold decorators or a Plugin class (a syntax error elsewhere is left to `test`)', async () => {
    const dir = await project(GOOD_YAML, { src: { 'plugin.py': GOOD_PY, 'helpers.py': 'def broken(:\n' } });
    const { exitCode } = await validateJson(dir);
    expect(exitCode).toBe(0);
  });

  it('--strict turns warnings into errors', async () => {
    const dir = await project(GOOD_YAML.replace('  - message_sent\n', '  - message_sent\n  - user_login\n'));
    expect((await runMain(['validate'], { cwd: dir })).exitCode).toBe(0);
    const r = await runMain(['validate', '--strict'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('UNIMPLEMENTED_HOOK');
  });

  it('prints GitHub annotations under GITHUB_ACTIONS', async () => {
    const dir = await project(GOOD_YAML.replace('"1.0.0"', '"one"'));
    const r = await runMain(['validate'], { cwd: dir, env: { GITHUB_ACTIONS: 'true' } });
    expect(r.stdout).toMatch(/^::error file=config\/plugin\.yaml,line=3,col=12::INVALID_VERSION/m);
  });
});
