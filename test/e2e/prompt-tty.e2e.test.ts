import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTty } from '../helpers/run-tty.js';
import { tempDir } from '../helpers/temp-project.js';

describe('prompts on a terminal', () => {
  it('init asks for what the flags did not give, and the answers make the project', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'asked');
    const tty = runTty(['init', dir, '--template', 'minimal', '--description', 'Asked for', '--author', 'Ada', '--license', 'MIT'], { cwd: parent });
    await tty.expect(/name/i);
    tty.send('asked_plugin\r');
    await tty.expect(/categor/i);
    tty.send('\r'); // the first category
    const r = await tty.done();
    expect(r.exitCode).toBe(0);
    const manifest = await fs.readFile(path.join(dir, 'config/plugin.yaml'), 'utf8');
    expect(manifest).toContain('asked_plugin');
  });

  it('Ctrl-C at a prompt exits 130 and leaves nothing behind', async () => {
    const parent = await tempDir();
    const dir = path.join(parent, 'cancelled');
    const tty = runTty(['init', dir], { cwd: parent });
    await tty.expect(/name/i);
    tty.send('\u0003');
    const r = await tty.done();
    expect(r.exitCode).toBe(130);
    expect(r.output).toContain('Cancelled');
    expect(await fs.readdir(parent)).toEqual([]);
  });
});
