/**
 * The code checks as a user meets them: every way plugin code can bind the
 * SDK's decorators, both registration styles, the interpreter setting, and
 * the file list validate shares with build. In-process (runMain) except
 * where the package itself is under test.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findPython } from '../../src/python/discover.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { onPath, requiresEach } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { withoutBandit } from '../helpers/python-stubs.js';
import { tempDir, type Tree } from '../helpers/temp-project.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const YAML = `plugin:
  name: "alias_plugin"
  version: "1.0.0"
  author: "Ada"
  description: "Alias test"
metadata:
  category: "utility"
hooks:
  - message_sent
endpoints:
  - /api/v1/alias/status
permissions:
  required:
    - message_read
`;

/** A plugin whose other registrations are all declared, plus the lines under test. */
function plugin(imports: string, body: string, top = ''): string {
  return `${imports}
from plexichat_plugin_sdk import Plugin as _Base, hook as _hook, endpoint as _endpoint
${top}

class AliasPlugin(_Base):
    @_hook('message_sent')
    def on_message(self, data):
        return data

    @_endpoint('/api/v1/alias/status')
    def status(self, request):
        return {}
${body}
`;
}

interface Diag {
  code: string;
  file: string;
  line: number;
  message: string;
  severity: string;
}

async function validate(tree: Tree, env: Record<string, string | undefined> = {}, args: string[] = []) {
  const dir = await tempDir({ config: { 'plugin.yaml': YAML }, ...tree });
  const r = await runMain(['--json', 'validate', ...args], { cwd: dir, env });
  expect(hasStackTrace(r.stderr)).toBe(false);
  const doc = r.stdout ? JSON.parse(r.stdout) : undefined;
  const all: Diag[] = doc?.errors ? [...doc.errors, ...doc.warnings] : [];
  return { ...r, doc, all, codes: all.map((d) => d.code), dir };
}

/** The line of the first line of `py` that contains `text`. */
function lineOf(py: string, text: string): number {
  return py.split('\n').findIndex((l) => l.includes(text)) + 1;
}

describe('the code checks follow every way a name is bound to the SDK decorators', () => {
  const cases: { name: string; py: string; files?: Tree; expect: { code: string; at: string; value: string } }[] = [
    {
      name: 'from ... import require_permission as rp',
      py: plugin(
        'from plexichat_plugin_sdk.security import require_permission as rp',
        `
    @rp("admin_access")
    def admin(self, request):
        pass`,
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: '@rp("admin_access")', value: 'admin_access' },
    },
    {
      name: 'from plexichat_plugin_sdk import hook as h',
      py: plugin(
        'from plexichat_plugin_sdk import hook as h',
        `
    @h("user_login")
    def on_login(self, data):
        pass`,
      ),
      expect: { code: 'UNDECLARED_HOOK', at: '@h("user_login")', value: 'user_login' },
    },
    {
      name: 'import plexichat_plugin_sdk as sdk; @sdk.hook',
      py: plugin(
        'import plexichat_plugin_sdk as sdk',
        `
    @sdk.hook('user_login')
    def on_login(self, data):
        pass`,
      ),
      expect: { code: 'UNDECLARED_HOOK', at: "@sdk.hook('user_login')", value: 'user_login' },
    },
    {
      name: 'from plexichat_plugin_sdk import security; @security.require_permission',
      py: plugin(
        'from plexichat_plugin_sdk import security',
        `
    @security.require_permission('admin_access')
    def admin(self, request):
        pass`,
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: '@security.require_permission', value: 'admin_access' },
    },
    {
      name: 'import plexichat_plugin_sdk.security as sec (a module alias)',
      py: plugin(
        'import plexichat_plugin_sdk.security as sec',
        `
    @sec.require_permission('admin_access')
    def admin(self, request):
        pass`,
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: '@sec.require_permission', value: 'admin_access' },
    },
    {
      name: 'import plexichat_plugin_sdk.security; the dotted name',
      py: plugin(
        'import plexichat_plugin_sdk.security',
        `
    @plexichat_plugin_sdk.security.require_permission('admin_access')
    def admin(self, request):
        pass`,
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: '@plexichat_plugin_sdk.security', value: 'admin_access' },
    },
    {
      name: 're-assignment h = hook at module level',
      py: plugin(
        'from plexichat_plugin_sdk import hook',
        `
    @h('user_login')
    def on_login(self, data):
        pass`,
        'h = hook',
      ),
      expect: { code: 'UNDECLARED_HOOK', at: "@h('user_login')", value: 'user_login' },
    },
    {
      name: 're-assignment in the class body',
      py: plugin(
        'from plexichat_plugin_sdk.security import require_permission',
        `
    needs = require_permission

    @needs('admin_access')
    def admin(self, request):
        pass`,
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: "@needs('admin_access')", value: 'admin_access' },
    },
    {
      name: 'a decorator built once: admin_only = require_permission(...)',
      py: plugin(
        'from plexichat_plugin_sdk.security import require_permission',
        `
    @admin_only
    def admin(self, request):
        pass`,
        "admin_only = require_permission('admin_access')",
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: '@admin_only', value: 'admin_access' },
    },
    {
      name: 'every name given to require_permission, not only the first',
      py: plugin(
        'from plexichat_plugin_sdk.security import require_permission',
        `
    @require_permission('message_read', 'admin_access')
    def admin(self, request):
        pass`,
      ),
      expect: { code: 'UNDECLARED_PERMISSION', at: "@require_permission('message_read', 'admin_access')", value: 'admin_access' },
    },
    {
      name: "getattr(sdk, 'hook') with a literal name",
      py: plugin(
        'import plexichat_plugin_sdk as sdk',
        `
    @on('user_login')
    def on_login(self, data):
        pass`,
        "on = getattr(sdk, 'hook')",
      ),
      expect: { code: 'UNDECLARED_HOOK', at: "@on('user_login')", value: 'user_login' },
    },
    {
      name: 'a star import',
      py: plugin(
        'from plexichat_plugin_sdk import *',
        `
    @hook('user_login')
    def on_login(self, data):
        pass`,
      ),
      expect: { code: 'UNDECLARED_HOOK', at: "@hook('user_login')", value: 'user_login' },
    },
    {
      name: 'a submodule of the SDK',
      py: plugin(
        'from plexichat_plugin_sdk.plugin import hook as when',
        `
    @when('user_login')
    def on_login(self, data):
        pass`,
      ),
      expect: { code: 'UNDECLARED_HOOK', at: "@when('user_login')", value: 'user_login' },
    },
    {
      name: 'the call form hook(name)(function) in the class body',
      py: plugin(
        'from plexichat_plugin_sdk import hook',
        `
    def on_login(self, data):
        pass
    on_login = hook('user_login')(on_login)`,
      ),
      expect: { code: 'UNDECLARED_HOOK', at: "hook('user_login')(on_login)", value: 'user_login' },
    },
    {
      name: "a re-export through the plugin's own module (relative import)",
      py: plugin(
        'from .decorators import on, admin_only',
        `
    @on('user_login')
    @admin_only
    def on_login(self, data):
        pass`,
      ),
      files: {
        'decorators.py':
          "from plexichat_plugin_sdk import hook as on\nfrom plexichat_plugin_sdk.security import require_permission\nadmin_only = require_permission('admin_access')\n",
      },
      expect: { code: 'UNDECLARED_HOOK', at: "@on('user_login')", value: 'user_login' },
    },
    {
      name: 'a re-export two modules away, through a package (absolute src. import)',
      py: plugin(
        'from src.common import on',
        `
    @on('user_login')
    def on_login(self, data):
        pass`,
      ),
      files: { common: { '__init__.py': 'from .deco import on\n', 'deco.py': 'import plexichat_plugin_sdk as s\non = s.hook\n' } },
      expect: { code: 'UNDECLARED_HOOK', at: "@on('user_login')", value: 'user_login' },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const { exitCode, all } = await validate({ src: { 'plugin.py': c.py, ...(c.files ?? {}) } });
      expect(exitCode).toBe(1);
      const found = all.filter((d) => d.code === c.expect.code);
      expect(found, JSON.stringify(all)).toHaveLength(1);
      expect(found[0]).toMatchObject({ file: 'src/plugin.py', line: lineOf(c.py, c.expect.at), severity: 'error' });
      expect(found[0].message).toContain(`'${c.expect.value}'`);
      // nothing declared is reported missing, and nothing is left unchecked
      expect(all.map((d) => d.code)).not.toContain('UNIMPLEMENTED_HOOK');
      expect(all.map((d) => d.code)).not.toContain('UNIMPLEMENTED_ENDPOINT');
      expect(all.map((d) => d.code)).not.toContain('DYNAMIC_DECORATOR');
    });
  }

  it('a handler bound through an alias counts as implemented (no false UNIMPLEMENTED_HOOK), and an aliased Plugin base is a Plugin class', async () => {
    const py = `from plexichat_plugin_sdk import Plugin as Base, hook as h, endpoint as e

class Mine(Base):
    @h('message_sent')
    def on_message(self, data):
        pass

    @e('/api/v1/alias/status')
    def status(self, request):
        pass
`;
    const { exitCode, all } = await validate({ src: { 'plugin.py': py } });
    expect(exitCode, JSON.stringify(all)).toBe(0);
    expect(all).toEqual([]);
  });

  it('a class deriving from a Plugin class in another module is a Plugin class', async () => {
    const { all } = await validate({
      src: {
        'base.py': 'from plexichat_plugin_sdk import Plugin\n\nclass Base(Plugin):\n    pass\n',
        'plugin.py': plugin('from .base import Base', ''),
      },
    });
    expect(all.map((d) => d.code)).not.toContain('NO_PLUGIN_CLASS');
  });
});

describe('where the scanner cannot tell, it says DYNAMIC_DECORATOR instead of staying silent', () => {
  const cases: { name: string; py: string; at: string; reason: RegExp }[] = [
    {
      name: 'getattr with a computed name',
      py: plugin(
        'import plexichat_plugin_sdk as sdk',
        `
    @deco('user_login')
    def f(self, data):
        pass`,
        "KIND = 'hook'\ndeco = getattr(sdk, KIND)",
      ),
      at: "@deco('user_login')",
      reason: /getattr\(\) with a name that is not a string literal/,
    },
    {
      name: 'a binding chosen by a condition',
      py: plugin(
        'import os\nfrom plexichat_plugin_sdk import hook, endpoint',
        `
    @deco('user_login')
    def f(self, data):
        pass`,
        "deco = hook if os.environ.get('X') else endpoint",
      ),
      at: "@deco('user_login')",
      reason: /chosen by a condition/,
    },
    {
      name: 'different bindings on different paths',
      py: plugin(
        'import os\nfrom plexichat_plugin_sdk import hook',
        `
    @deco('user_login')
    def f(self, data):
        pass`,
        "if os.environ.get('X'):\n    deco = hook\nelse:\n    def deco(name):\n        return lambda f: f",
      ),
      at: "@deco('user_login')",
      reason: /different things on different paths/,
    },
    {
      name: "a wrapper function named like the SDK's decorator",
      py: plugin(
        'import plexichat_plugin_sdk as sdk',
        `
    @hook('user_login')
    def f(self, data):
        pass`,
        'def hook(name):\n    return sdk.hook(name)',
      ),
      at: "@hook('user_login')",
      reason: /is the function hook\(\) at src\/plugin\.py:\d+, not plexichat_plugin_sdk's hook/,
    },
    {
      name: 'a decorator looked up in a dict',
      py: plugin(
        'from plexichat_plugin_sdk import hook',
        `
    @TABLE['h']('user_login')
    def f(self, data):
        pass`,
        "TABLE = {'h': hook}",
      ),
      at: "@TABLE['h']('user_login')",
      reason: /involving/,
    },
    {
      name: "a decorator made by another function's call",
      py: plugin(
        'import functools\nfrom plexichat_plugin_sdk import hook',
        `
    @login
    def f(self, data):
        pass`,
        "login = functools.partial(hook, 'user_login')()",
      ),
      at: '@login',
      reason: /involving hook|the result of/,
    },
    {
      name: 'the SDK decorator applied without its argument',
      py: plugin(
        'from plexichat_plugin_sdk import hook',
        `
    @hook
    def f(self, data):
        pass`,
      ),
      at: '@hook',
      reason: /applied without its argument/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { all } = await validate({ src: { 'plugin.py': c.py } });
      const d = all.find((x) => x.code === 'DYNAMIC_DECORATOR');
      expect(d, JSON.stringify(all)).toMatchObject({ file: 'src/plugin.py', line: lineOf(c.py, c.at), severity: 'warning' });
      expect(d!.message).toMatch(c.reason);
    });
  }

  it('a fallback for a missing SDK (except ImportError) does not make the real import dynamic', async () => {
    const py = plugin(
      'try:\n    from plexichat_plugin_sdk import hook\nexcept ImportError:\n    hook = None',
      `
    @hook('user_login')
    def f(self, data):
        pass`,
    );
    const { all } = await validate({ src: { 'plugin.py': py } });
    expect(all.map((d) => d.code)).toEqual(['UNDECLARED_HOOK']);
  });
});

describe('the dict registration style (self.hooks / self.endpoints in __init__)', () => {
  const DICT = `from plexichat_plugin_sdk import Plugin, hook

class Analytics(Plugin):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hooks = {
            'message_sent': self.track,
            'user_login': self.track,
        }
        self.endpoints = {'/api/v1/alias/status': self.status}

    def track(self, data):
        pass

    def status(self, request):
        return {}
`;

  it('entries are read with their line numbers: declared ones count as implemented, undeclared ones are errors', async () => {
    const { all } = await validate({ src: { 'plugin.py': DICT } });
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ code: 'UNDECLARED_HOOK', file: 'src/plugin.py', line: lineOf(DICT, "'user_login'") });
    expect(all[0].message).toContain('track()');
  });

  it('a key that is not a string literal is reported, as is a value that is not a dict literal', async () => {
    const py = DICT.replace("'user_login': self.track,", 'EVENT: self.track,\n            **EXTRA,').replace(
      "self.endpoints = {'/api/v1/alias/status': self.status}",
      "self.endpoints = {'/api/v1/alias/status': self.status}\n        self.hooks = make_table()",
    );
    const { all } = await validate({ src: { 'plugin.py': py } });
    const dyn = all.filter((d) => d.code === 'DYNAMIC_REGISTRATION');
    expect(dyn.map((d) => d.line)).toEqual([lineOf(py, 'EVENT:'), lineOf(py, '**EXTRA'), lineOf(py, 'make_table()')]);
  });

  it('dict(...) and self.hooks[...] = ... are read too', async () => {
    const py = DICT.replace(
      "self.endpoints = {'/api/v1/alias/status': self.status}",
      "self.endpoints = dict()\n        self.endpoints['/api/v1/alias/status'] = (self.status, ['GET'])\n        self.hooks = dict(message_sent=self.track, channel_join=self.track)",
    ).replace("            'user_login': self.track,\n", '');
    const { all } = await validate({ src: { 'plugin.py': py } });
    expect(all.map((d) => [d.code, d.line])).toEqual([['UNDECLARED_HOOK', lineOf(py, 'channel_join=')]]);
  });

  it('a hook registered both ways is a warning; one path served by two handlers is an error', async () => {
    const py = DICT.replace("            'user_login': self.track,\n", '').replace(
      '    def status(self, request):',
      "    @hook('message_sent')\n    def on_message(self, data):\n        pass\n\n    from plexichat_plugin_sdk import endpoint\n\n    @endpoint('/api/v1/alias/status')\n    def other_status(self, request):\n        pass\n\n    def status(self, request):",
    );
    const { all } = await validate({ src: { 'plugin.py': py } });
    expect(all.find((d) => d.code === 'HOOK_REGISTERED_TWICE')).toMatchObject({ severity: 'warning' });
    expect(all.find((d) => d.code === 'ENDPOINT_REGISTERED_TWICE')).toMatchObject({ severity: 'error' });
  });

  it('a class that is not a Plugin class is not read as a registration table', async () => {
    const py = `${DICT}\n\nclass Client(object):\n    def __init__(self):\n        self.endpoints = {'/somewhere/else': None}\n`;
    const { all } = await validate({ src: { 'plugin.py': py } });
    expect(all.map((d) => d.code)).toEqual(['UNDECLARED_HOOK']);
  });
});

describe('validate and build check the same files', () => {
  const BAD = "from plexichat_plugin_sdk import hook\n\n@hook('user_login')\ndef on_login(data):\n    pass\n";
  const GOOD = plugin('', '');

  it('code in files .pluginignore drops is not cross-checked by validate nor by build', async () => {
    const tree: Tree = { src: { 'plugin.py': GOOD, experimental: { 'draft.py': BAD }, 'old.py': BAD }, '.pluginignore': 'src/experimental/\nsrc/old.py\n' };
    const v = await validate(tree);
    expect(v.exitCode, JSON.stringify(v.all)).toBe(0);
    const b = await runMain(['build'], { cwd: v.dir });
    expect(b.exitCode, b.stderr).toBe(0);
  });

  it('a .pluginignore that cannot be used is the same error under validate as under build', async () => {
    const dir = await tempDir({ config: { 'plugin.yaml': YAML }, src: { 'plugin.py': GOOD }, '.pluginignore': '# ok\nsrc/[abc\n' });
    for (const cmd of ['validate', 'build']) {
      const r = await runMain(['--json', cmd], { cwd: dir });
      expect(r.exitCode, cmd).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'BAD_IGNORE_PATTERN', message: expect.stringContaining('.pluginignore:2') });
    }
  });

  it('the same code in a packed file fails both', async () => {
    const tree: Tree = { src: { 'plugin.py': GOOD, experimental: { 'draft.py': BAD } }, '.pluginignore': 'src/old.py\n' };
    const v = await validate(tree);
    expect(v.exitCode).toBe(1);
    expect(v.all[0]).toMatchObject({ code: 'UNDECLARED_HOOK', file: 'src/experimental/draft.py' });
    const b = await runMain(['build'], { cwd: v.dir });
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toContain('src/experimental/draft.py:3:2 error UNDECLARED_HOOK');
  });
});

describe('one interpreter check, one behaviour (validate, build and test)', () => {
  const GOOD = { src: { 'plugin.py': plugin('', '') } };

  it('PLEXICHAT_PYTHON=/bin/ls: the same error as test, no scanner text, exit 1', async () => {
    for (const cmd of ['validate', 'build', 'test']) {
      const dir = await tempDir({ config: { 'plugin.yaml': YAML }, ...GOOD, tests: { 'test_x.py': 'def test_x():\n    pass\n' } });
      const r = await runMain([cmd], { cwd: dir, env: { PLEXICHAT_PYTHON: '/bin/ls' } });
      expect(r.exitCode, `${cmd}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('PLEXICHAT_PYTHON=/bin/ls is not a runnable Python interpreter');
      expect(r.stderr).not.toMatch(/import ast|scan\.py|def |sys\.argv/);
      const j = await runMain(['--json', cmd], { cwd: dir, env: { PLEXICHAT_PYTHON: '/bin/ls' } });
      expect(JSON.parse(j.stdout).error.code).toBe('PYTHON_NOT_FOUND');
    }
  });

  it('a PLEXICHAT_PYTHON that does not exist, or prints nonsense, is the same error', async () => {
    const bin = await tempDir();
    const liar = path.join(bin, 'python3');
    await fs.writeFile(liar, '#!/bin/sh\necho "{}"\n', { mode: 0o755 });
    for (const python of ['/nonexistent/python3', liar, '/bin/true']) {
      const { exitCode, stderr } = await validate(GOOD, { PLEXICHAT_PYTHON: python });
      expect(exitCode, stderr).toBe(1);
      expect(stderr).toContain(`PLEXICHAT_PYTHON=${python} is not a runnable Python interpreter`);
    }
  });

  it('a pinned Python older than the minimum gets the same refusal as under test', async () => {
    const bin = await tempDir();
    const old = path.join(bin, 'python3.6');
    await fs.writeFile(old, '#!/bin/sh\necho \'{"version": "3.6.15", "pytest": "6.2.5"}\'\n', { mode: 0o755 });
    const { exitCode, stderr } = await validate(GOOD, { PLEXICHAT_PYTHON: old });
    expect(exitCode).toBe(1);
    expect(stderr).toContain('is Python 3.6.15; the plugin SDK needs Python 3.8 or newer');
  });

  it('a working interpreter under which the scanner fails is an error naming it, not a silent pass', async () => {
    const found = await findPython({ env: process.env });
    if (!found.ok) throw new Error('this test needs python3 on PATH');
    const bin = await tempDir();
    const wrapper = path.join(bin, 'python3');
    // runs Python for everything but the scanner, which it makes fail as a broken install would
    await fs.writeFile(wrapper, `#!/bin/sh\ncase "$*" in *scan.py*) echo "MemoryError" >&2; exit 1;; esac\nexec "${found.python.path}" "$@"\n`, {
      mode: 0o755,
    });
    const { exitCode, stderr } = await validate(GOOD, { PLEXICHAT_PYTHON: wrapper });
    expect(exitCode).toBe(1);
    expect(stderr).toMatch(/the code scanner failed under .*python3 \(Python 3\.\d+\.\d+\): MemoryError/);
  });

  it('with no interpreter on PATH and none pinned, the manifest checks still run (a warning says the code checks were skipped)', async () => {
    const { exitCode, doc } = await validate(GOOD, { PATH: '/nonexistent', PLEXICHAT_PYTHON: undefined });
    expect(exitCode).toBe(0);
    expect(doc.codeChecks).toBe('skipped');
  });
});

describe('the Python room', () => {
  it('the code scanner is a real module that the npm package ships next to the code that runs it', async () => {
    const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: { npm_config_loglevel: 'silent' } });
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    expect(files).toContain('dist/python/scan.py');
    expect(files).toContain('dist/python/scan.js');
  });
});

describe('validate --security: bandit over the same files, in the same diagnostics', () => {
  requiresEach('bandit');
  const RISKY = `import subprocess
from plexichat_plugin_sdk import Plugin


class Risky(Plugin):
    def run(self, cmd):
        subprocess.call(cmd, shell=True)
        subprocess.call(cmd, shell=True)  # nosec B602
        return eval(cmd)
`;
  const line = (text: string, n = 0) =>
    RISKY.split('\n')
      .map((l, i) => [l, i + 1] as const)
      .filter(([l]) => l.includes(text))[n][1];

  it('HIGH is an error, MEDIUM a warning, LOW a note, at the line with a fix; # nosec is honoured; --json carries them', async () => {
    const { exitCode, doc, stdout } = await validate({ src: { 'plugin.py': RISKY } }, {}, ['--security']);
    expect(exitCode).toBe(1);
    expect(doc.security).toMatchObject({ tool: 'bandit', failOn: 'high', findings: 3 });
    expect(doc.errors).toEqual([expect.objectContaining({ code: 'BANDIT_B602', file: 'src/plugin.py', line: line('shell=True'), column: 9 })]);
    expect(doc.errors[0].hint).toContain('# nosec B602');
    expect(doc.warnings.filter((d: Diag) => d.code.startsWith('BANDIT_'))).toEqual([expect.objectContaining({ code: 'BANDIT_B307', line: line('eval(') })]);
    expect(doc.infos).toEqual([expect.objectContaining({ code: 'BANDIT_B404', severity: 'info', line: 1 })]);
    expect(stdout).not.toMatch(/secret/i);
    const text = await runMain(['validate', '--security'], { cwd: (await validate({ src: { 'plugin.py': RISKY } })).dir });
    expect(text.stdout).toMatch(/^src\/plugin\.py:7:9 error BANDIT_B602 subprocess call with shell=True/m);
    expect(text.stdout).toMatch(/^ {4}fix: review this code/m);
    expect(text.stdout).toMatch(/^src\/plugin\.py:1:1 info BANDIT_B404/m);
    expect(text.stdout).toContain('1 error, 3 warnings, 1 note'); // with the two declared-but-unimplemented warnings
  });

  it('--fail-on sets the lowest severity that fails; below it findings keep their own level', async () => {
    const medium = await validate({ src: { 'plugin.py': RISKY } }, {}, ['--security', '--fail-on', 'medium']);
    expect(medium.doc.errors.map((d: Diag) => d.code).sort()).toEqual(['BANDIT_B307', 'BANDIT_B602']);
    expect(medium.doc.infos.map((d: Diag) => d.code)).toEqual(['BANDIT_B404']);
    const low = await validate({ src: { 'plugin.py': RISKY } }, {}, ['--security', '--fail-on', 'low']);
    expect(low.doc.errors).toHaveLength(3);
    const onlyLow = await validate({ src: { 'plugin.py': 'import subprocess\nfrom plexichat_plugin_sdk import Plugin\n\nclass P(Plugin):\n    pass\n' } }, {}, [
      '--security',
    ]);
    expect(onlyLow.exitCode).toBe(0);
    expect(onlyLow.doc.infos).toHaveLength(1);
    const bad = await runMain(['validate', '--fail-on', 'medium'], { cwd: onlyLow.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--fail-on applies to the security review: add --security');
    expect((await runMain(['validate', '--security', '--fail-on', 'severe'], { cwd: onlyLow.dir })).exitCode).toBe(2);
  });

  it('files .pluginignore drops are not reviewed', async () => {
    const { exitCode, doc } = await validate({ src: { 'plugin.py': plugin('', ''), 'tools.py': RISKY }, '.pluginignore': 'src/tools.py\n' }, {}, [
      '--security',
    ]);
    expect(exitCode, JSON.stringify(doc)).toBe(0);
    expect(doc.security.findings).toBe(0);
  });

  it('found through the interpreter first, then a bandit executable on PATH; missing, a clear install hint', async () => {
    const masked = await withoutBandit();
    const banditDir = await tempDir();
    const real = onPath('bandit')!;
    await fs.symlink(real, path.join(banditDir, 'bandit'));
    const viaPath = await validate({ src: { 'plugin.py': RISKY } }, { PLEXICHAT_PYTHON: undefined, PATH: [masked, banditDir].join(path.delimiter) }, [
      '--security',
    ]);
    expect(viaPath.doc.security.command).toEqual([path.join(banditDir, 'bandit')]);
    expect(viaPath.doc.errors.map((d: Diag) => d.code)).toEqual(['BANDIT_B602']);

    const missing = await validate({ src: { 'plugin.py': RISKY } }, { PLEXICHAT_PYTHON: undefined, PATH: masked }, ['--security']);
    expect(missing.exitCode).toBe(1);
    const d = missing.doc.errors.find((x: Diag) => x.code === 'BANDIT_NOT_FOUND');
    expect(d.message).toContain('--security needs bandit');
    expect(d.hint).toContain('sudo apt-get install -y bandit');
    expect(missing.doc.codeChecks).toBe('ran'); // the other checks still ran
  });
});
