/**
 * Untrusted text on the terminal: reviewer notes, server error texts and
 * names from the marketplace never reach the terminal as control
 * characters; --json keeps the data exactly.
 */
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { runMain } from '../helpers/run-main.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';
import { block, inline, terminalSafe } from '../../src/io/terminal.js';
import { Output, palette } from '../../src/io/output.js';
import { PassThrough } from 'node:stream';

const HOSTILE = [
  'x\n\u001b[31mRED',
  '\u001b]0;pwned\u0007title',
  'clear\u001b[2J\u001b[H',
  'bell\u0007',
  'csi\u009b31m',
  'cr\rover',
  'nul\u0000byte',
  'del\u007f',
  'marker\uE00031\uE001fake',
];

function capture(color: boolean): { out: Output; text: () => string } {
  const chunks: Buffer[] = [];
  const s = new PassThrough();
  s.on('data', (c: Buffer) => chunks.push(c));
  const out = new Output({ json: false, quiet: false, verbose: true, color, stdout: s, stderr: s });
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('terminal safety', () => {
  it('every Output line neutralises foreign control characters, and keeps its own colours', () => {
    for (const color of [false, true]) {
      const { out, text } = capture(color);
      for (const h of HOSTILE) {
        out.result(h);
        out.info(h);
        out.warn(h);
        out.error(h);
        out.debug(h);
        out.note(h);
        out.success(h);
      }
      const t = text();
      // Only our own SGR colour codes may remain, and only when colour is on.
      // eslint-disable-next-line no-control-regex -- the escapes under test
      const escapes = t.match(/\u001b\[[0-9;]*[A-Za-z]/g) ?? [];
      if (!color) expect(escapes).toEqual([]);
      // eslint-disable-next-line no-control-regex -- the escapes under test
      for (const e of escapes) expect(e).toMatch(/^\u001b\[(1|2|22|31|32|33|39|90)m$/);
      // No other control character survives (line breaks are ours, or shown in block/inline).
      // eslint-disable-next-line no-control-regex -- the escapes and control characters under test
      expect(t.replace(/\u001b\[(1|2|22|31|32|33|39|90)m/g, '')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      expect(t).toContain('\\x1b[31mRED');
      expect(t).toContain('\\x07');
    }
  });

  it('inline shows line breaks; block indents each line of a note under its label', () => {
    expect(inline('a\nb\r\nc')).toBe('a\\nb\\r\\nc');
    expect(block('  notes: ', 'fix this\n\u001b[32m✔ approved')).toBe('  notes: fix this\n         \\x1b[32m✔ approved');
    expect(terminalSafe(`${palette(true).red('x')}`)).toBe('\u001b[31mx\u001b[39m');
  });
});

describe('text from the marketplace', () => {
  let srv!: DevServer;
  useDevServer((x) => (srv = x));
  // eslint-disable-next-line no-control-regex
  const RAW = /\u001b|\u0007|\u009b/;

  it('reviewer notes with escapes and line breaks are shown, not obeyed; --json keeps them exactly', async () => {
    const name = uniqueName('tty');
    const dir = await pluginProject({ name });
    const dev = await isolatedEnv(srv.env(srv.developer));
    const sub = await runMain(['--json', 'marketplace', 'submit'], { cwd: dir, env: dev });
    expect(sub.exitCode, sub.stderr).toBe(0);
    const id = JSON.parse(sub.stdout).submission.id as string;
    const notes = 'x\n\u001b[31mRED\u0007 \u001b]0;title\u0007';
    const rev = await runMain(['marketplace', 'review', id, '--reject', '--notes', notes], { env: await isolatedEnv(srv.env(srv.reviewer)) });
    expect(rev.exitCode, rev.stderr).toBe(0);
    for (const args of [
      ['marketplace', 'status', id],
      ['marketplace', 'status'],
    ]) {
      const r = await runMain(args, { cwd: dir, env: dev });
      const all = r.stdout + r.stderr;
      expect(all).not.toMatch(RAW);
      expect(all).toContain('\\x1b[31mRED');
      // The note's second line is indented under its label: it cannot pass for a line of ours.
      expect(all.split('\n').some((l) => l.startsWith('\\x1b'))).toBe(false);
    }
    const json = await runMain(['--json', 'marketplace', 'status', id], { env: dev });
    expect(JSON.parse(json.stdout).submission.notes).toBe(notes);
  });

  it('a hostile server error text stays on one line with its escapes visible', async () => {
    const dev = await isolatedEnv(srv.env(srv.developer));
    const r = await runMain(['marketplace', 'status', 'sub_\u001b[2Jx\nforged'], { env: dev });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).not.toMatch(RAW);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^forged/m);
  });
});
