/**
 * `dev` answers each save with exactly what changed (issue 27), in the
 * terminal and in the --json events: findings shown again only when they
 * change (new / resolved), a syntax error as the user's file:line with the
 * line and a caret, the plugin's own frames only (everything with --verbose),
 * no false "declared but no handler" warnings while a file does not parse,
 * no SDK paths, and no editor temp file names as changed files.
 */
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { MANIFEST, atomicWrite, cleanupAll, counterProject, http, pluginSource, startCli, type DevEvent, type EventProcess } from './dev-fixture.js';

afterAll(cleanupAll);

/** The counter plugin with one declared hook nobody handles: one warning from the start. */
const WARNED_MANIFEST = MANIFEST.replace('hooks:\n  - message_sent\n', 'hooks:\n  - message_sent\n  - user_login\n');
const INTERNAL = /host_loader|plexichat_plugin_sdk\/|importlib|<frozen|Traceback \(most recent call last\)/;

async function project(): Promise<string> {
  const dir = await counterProject('v1');
  await fs.writeFile(path.join(dir, 'config', 'plugin.yaml'), WARNED_MANIFEST);
  return dir;
}

function broken(version: string): { text: string; line: number; column: number } {
  // `def count(self, request)` without its colon, at the line it has in the source.
  const lines = pluginSource(version).split('\n');
  const i = lines.findIndex((l) => l.includes('def count(self, request):'));
  lines[i] = lines[i].replace('def count(self, request):', 'def count(self, request)');
  return { text: lines.join('\n'), line: i + 1, column: lines[i].length + 1 };
}

/** Everything printed on stdout from character `from` on, once `re` appears there. */
async function stdoutAfter(dev: EventProcess, from: number, re: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (!re.test(dev.stdoutText.slice(from))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; stdout:\n${dev.stdoutText.slice(from)}\nstderr:\n${dev.stderr}`);
    if (dev.child.exitCode !== null) throw new Error(`exited; stderr:\n${dev.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return dev.stdoutText.slice(from);
}

describe('dev --json: each save reports what changed', () => {
  it('validated events carry the new and resolved findings; an unchanged save adds none', async () => {
    const dir = await project();
    const dev = startCli(dir, ['dev', '--port', '0', '--json']);
    await dev.waitFor((e) => e.event === 'ready');
    const first = await dev.waitFor((e) => e.event === 'validated');
    expect(first.added).toEqual([expect.objectContaining({ code: 'UNIMPLEMENTED_HOOK', severity: 'warning' })]);
    expect(first.resolved).toEqual([]);

    // A save that changes no finding.
    let mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    await dev.waitFor((e) => e.event === 'reloaded', { from: mark });
    const same = await dev.waitFor((e) => e.event === 'validated', { from: mark });
    expect(same).toMatchObject({ added: [], resolved: [], changed: ['src/plugin.py'] });
    expect(same.diagnostics).toHaveLength(1);

    // A syntax error: reported once, as the user's line with the column; the validation that
    // follows adds the syntax error alone (no "declared but no handler" for every handler).
    mark = dev.events.length;
    const bad = broken('v3');
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), bad.text);
    const failed = await dev.waitFor((e) => e.event === 'reload_failed', { from: mark });
    expect(failed.error).toMatchObject({ kind: 'syntax', file: 'src/plugin.py', line: bad.line, column: bad.column, message: "SyntaxError: expected ':'" });
    expect((failed.error as { source: string }).source.trim()).toBe('def count(self, request)');
    expect(failed.traceback).toBeUndefined();
    expect(JSON.stringify(dev.events.slice(mark))).not.toMatch(INTERNAL);
    const afterBreak = await dev.waitFor((e) => e.event === 'validated', { from: mark });
    expect(afterBreak.added).toEqual([expect.objectContaining({ code: 'PYTHON_SYNTAX', file: 'src/plugin.py', line: bad.line })]);
    expect(afterBreak.resolved).toEqual([]);

    // The fix: the syntax error is resolved, nothing else changes.
    mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v4'));
    await dev.waitFor((e) => e.event === 'reloaded', { from: mark });
    const fixed = await dev.waitFor((e) => e.event === 'validated', { from: mark });
    expect(fixed.added).toEqual([]);
    expect(fixed.resolved).toEqual([expect.objectContaining({ code: 'PYTHON_SYNTAX' })]);

    // Declaring the hook's handler resolves the warning.
    mark = dev.events.length;
    await atomicWrite(
      path.join(dir, 'src', 'plugin.py'),
      pluginSource('v5').replace(
        '    @endpoint("/api/v1/dev_counter/count"',
        '    @hook("user_login")\n    def on_login(self, data):\n        return 1\n\n    @endpoint("/api/v1/dev_counter/count"',
      ),
    );
    const resolved = await dev.waitFor((e) => e.event === 'validated' && Array.isArray(e.resolved) && e.resolved.length > 0, { from: mark });
    expect(resolved.resolved).toEqual([expect.objectContaining({ code: 'UNIMPLEMENTED_HOOK' })]);
    expect(resolved.diagnostics).toEqual([]);
    await dev.stop();
  });

  it('--verbose adds the whole traceback to reload_failed', async () => {
    const dir = await project();
    const dev = startCli(dir, ['dev', '--port', '0', '--json', '--verbose']);
    await dev.waitFor((e) => e.event === 'ready');
    const mark = dev.events.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), broken('v2').text);
    const failed = await dev.waitFor((e) => e.event === 'reload_failed', { from: mark });
    expect(failed.traceback).toMatch(/Traceback \(most recent call last\)[\s\S]*SyntaxError/);
    await dev.stop();
  });

  it("editors' temp files never show as changed files: sed -i, vim (4913, .swp, backup~), emacs (.#lock), a temp file renamed over", async () => {
    const dir = await project();
    const dev = startCli(dir, ['dev', '--port', '0', '--json']);
    await dev.waitFor((e) => e.event === 'ready');
    const reloadsAfter = async (mark: number) => (await dev.waitFor((e) => e.event === 'reloaded' || e.event === 'reload_failed', { from: mark })).changed;

    // sed -i writes config/sedXXXXXX and renames it over the file.
    let mark = dev.events.length;
    execFileSync('sed', ['-i', 's/greeting: "hello"/greeting: "hi"/', path.join(dir, 'config', 'plugin.yaml')]);
    expect(await reloadsAfter(mark)).toEqual(['config/plugin.yaml']);

    // vim: probes with 4913, keeps a .swp, writes a backup~ and the file.
    mark = dev.events.length;
    const src = path.join(dir, 'src');
    await fs.writeFile(path.join(src, '4913'), '');
    await fs.rm(path.join(src, '4913'));
    await fs.writeFile(path.join(src, '.plugin.py.swp'), 'swap');
    await fs.copyFile(path.join(src, 'plugin.py'), path.join(src, 'plugin.py~'));
    await fs.writeFile(path.join(src, 'plugin.py'), pluginSource('v2'));
    await fs.rm(path.join(src, 'plugin.py~'));
    await fs.rm(path.join(src, '.plugin.py.swp'));
    expect(await reloadsAfter(mark)).toEqual(['src/plugin.py']);

    // emacs: a lock symlink .#plugin.py while editing; a temp file with a plain name renamed over.
    mark = dev.events.length;
    symlinkSync('user@host.1234:1700000000', path.join(src, '.#plugin.py'));
    await fs.writeFile(path.join(src, 'plugin.py.tmp1a2b'), pluginSource('v3'));
    await fs.rename(path.join(src, 'plugin.py.tmp1a2b'), path.join(src, 'plugin.py'));
    await fs.rm(path.join(src, '.#plugin.py'));
    expect(await reloadsAfter(mark)).toEqual(['src/plugin.py']);

    // None of them in any event: the first batch is the only one per save.
    const text = JSON.stringify(dev.events);
    expect(text).not.toMatch(/sed[A-Za-z0-9]{6}|4913|\.swp|plugin\.py~|\.#plugin|tmp1a2b/);
    await dev.stop();
  });
});

describe('dev (terminal): each save reports what changed', () => {
  it('warnings are not repeated; a syntax error is the line and a caret; no internal frames; --verbose shows them', async () => {
    const dir = await project();
    const dev = startCli(dir, ['dev', '--port', '0']);
    await dev.waitForStderr(/Ctrl-C stops/);
    let out = await stdoutAfter(dev, 0, /validate 0 errors, 1 warning/);
    expect(out.match(/UNIMPLEMENTED_HOOK/g)).toHaveLength(1);

    // An unchanged save: a reloaded line and nothing about the warning.
    let mark = dev.stdoutText.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), pluginSource('v2'));
    out = await stdoutAfter(dev, mark, /reloaded dev_counter 1\.0\.0 in [\d.]+ ms after src\/plugin\.py\n/);
    // The validation after it finds nothing new: wait for a later line to be sure it ran.
    await http(`${await readyUrl(dev)}/api/v1/dev_counter/count`);
    out = await stdoutAfter(dev, mark, /GET \/api\/v1\/dev_counter\/count/);
    expect(out).not.toMatch(/UNIMPLEMENTED_HOOK|validate/);

    // A syntax error.
    mark = dev.stdoutText.length;
    const bad = broken('v3');
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), bad.text);
    await stdoutAfter(dev, mark, /validate 1 new; now 1 error, 1 warning/);
    // The reload's failure and the validation are two reports: under load either may come first.
    out = await stdoutAfter(dev, mark, /reload failed src\/plugin\.py:[^\n]*\n[^\n]*\n[^\n]*\^/);
    const lines = out.split('\n');
    const head = lines.findIndex((l) => l.includes(`reload failed src/plugin.py:${bad.line}:${bad.column} SyntaxError: expected ':'`));
    expect(head).toBeGreaterThanOrEqual(0);
    expect(lines[head + 1]).toBe(`    ${bad.line} | def count(self, request)`);
    // The caret under the column (after the closing parenthesis).
    const caret = lines[head + 2];
    expect(caret.indexOf('^') - lines[head + 1].indexOf('def')).toBe('def count(self, request)'.length);
    expect(out).not.toMatch(INTERNAL);
    expect(hasStackTrace(out)).toBe(false);
    expect(out).not.toMatch(/UNIMPLEMENTED/);
    await dev.stop('SIGINT');

    const verbose = startCli(dir, ['dev', '--port', '0', '--verbose']);
    await verbose.waitForStderr(/Ctrl-C stops/);
    const vmark = verbose.stdoutText.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), broken('v4').text.replace('v4', 'v4b'));
    const vout = await stdoutAfter(verbose, vmark, /Traceback \(most recent call last\)[\s\S]*SyntaxError/);
    expect(vout).toMatch(/host_loader\.py|importlib/);
    await verbose.stop('SIGINT');
  });

  it('an import-time exception and a failing hook show the plugin frames only, never the SDK paths', async () => {
    const dir = await project();
    await fs.writeFile(path.join(dir, 'src', 'helper.py'), 'def explode():\n    return 1 / 0\n');
    const dev = startCli(dir, ['dev', '--port', '0']);
    await dev.waitForStderr(/Ctrl-C stops/);
    const url = await readyUrl(dev);
    let mark = dev.stdoutText.length;
    await atomicWrite(path.join(dir, 'src', 'plugin.py'), `from .helper import explode\n${pluginSource('v2')}\nexplode()\n`);
    let out = await stdoutAfter(dev, mark, /reload failed src\/helper\.py:2 ZeroDivisionError: division by zero\n[\s\S]*still serving/);
    expect(out).toMatch(/src\/plugin\.py:\d+ in <module>\n\s+explode\(\)\n\s+src\/helper\.py:2 in explode\n\s+return 1 \/ 0/);
    expect(out).not.toMatch(INTERNAL);

    mark = dev.stdoutText.length;
    await atomicWrite(
      path.join(dir, 'src', 'plugin.py'),
      pluginSource('v3').replace('count = self.storage.get("count", 0) + 1', 'count = self.storage.get("count", 0) + 1\n        raise ValueError("no count")'),
    );
    await stdoutAfter(dev, mark, /reloaded/);
    await http(`${url}/__dev/hooks/message_sent`, { method: 'POST' });
    out = await stdoutAfter(dev, mark, /hook message_sent error/);
    out = await stdoutAfter(dev, mark, /ValueError: no count\n[\s\S]*hook message_sent error/);
    expect(out).toMatch(/src\/plugin\.py:\d+ in on_message/);
    expect(out).not.toMatch(INTERNAL);
    await dev.stop('SIGINT');
  });
});

async function readyUrl(dev: EventProcess): Promise<string> {
  const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(dev.stdoutText);
  if (!m) throw new Error(`no URL in:\n${dev.stdoutText}`);
  return m[1];
}

export type { DevEvent };
