/**
 * Finding the files the CLI's output goes to through a pipe, over a /proc
 * tree built in a temp dir: /proc/<pid>/fd/<n> are links to real files and
 * FIFOs there, so stat() sees the same device and inode as on Linux.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownOutputFiles } from '../../../src/core/package/own-output.js';
import { tempDir } from '../../helpers/temp-project.js';

interface FakeProcess {
  pid: number;
  pgrp: number;
  comm?: string;
  /** fd -> [target, octal flags] */
  fds?: Record<number, [string, string]>;
}

async function fakeProc(procs: FakeProcess[], selfPid: number, root?: string) {
  root ??= await tempDir();
  const proc = path.join(root, 'proc');
  fs.mkdirSync(proc, { recursive: true });
  for (const p of procs) {
    const dir = path.join(proc, String(p.pid));
    fs.mkdirSync(path.join(dir, 'fd'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'fdinfo'));
    fs.writeFileSync(path.join(dir, 'stat'), `${p.pid} (${p.comm ?? 'x'} with (parens)) S 1 ${p.pgrp} ${p.pgrp} 0 -1\n`);
    fs.writeFileSync(path.join(dir, 'comm'), `${p.comm ?? 'x'}\n`);
    for (const [fd, [target, flags]] of Object.entries(p.fds ?? {})) {
      fs.symlinkSync(target, path.join(dir, 'fd', fd));
      fs.writeFileSync(path.join(dir, 'fdinfo', fd), `pos:\t0\nflags:\t${flags}\nmnt_id:\t1\n`);
    }
  }
  fs.symlinkSync(String(selfPid), path.join(proc, 'self'));
  return { root, proc };
}

const id = (p: string) => {
  const st = fs.statSync(p);
  return { dev: st.dev, ino: st.ino };
};

describe('ownOutputFiles', () => {
  it('stdout or stderr that is a file is itself the output', () => {
    const out = ownOutputFiles({ stdout: { dev: 1, ino: 2, kind: 'file' }, stderr: { dev: 3, ino: 4, kind: 'other' } }, '/nonexistent');
    expect(out).toEqual([{ dev: 1, ino: 2, what: 'stdout' }]);
  });

  it('nothing without stdio, or on a system without /proc', () => {
    expect(ownOutputFiles(undefined)).toEqual([]);
    expect(ownOutputFiles({ stdout: { dev: 1, ino: 2, kind: 'fifo' } }, '/nonexistent')).toEqual([]);
  });

  it('a pipe: the files written by the process at its other end in our process group (tee), not its reads', async () => {
    const root = await tempDir();
    const pipe = path.join(root, 'pipe');
    execFileSync('mkfifo', [pipe]);
    const other = path.join(root, 'other-pipe');
    execFileSync('mkfifo', [other]);
    for (const f of ['build.txt', 'input.txt', 'rw.db', 'unrelated.txt', 'elsewhere.txt']) fs.writeFileSync(path.join(root, f), '');
    const { proc } = await fakeProc(
      [
        { pid: 100, pgrp: 7, comm: 'node', fds: { 1: [pipe, '0100001'] } },
        // tee: reads the pipe, writes build.txt, reads input.txt, has rw.db open read-write
        {
          pid: 101,
          pgrp: 7,
          comm: 'tee',
          fds: {
            0: [pipe, '0100000'],
            3: [path.join(root, 'build.txt'), '0101101'],
            4: [path.join(root, 'input.txt'), '0100000'],
            5: [path.join(root, 'rw.db'), '02'],
          },
        },
        // another pipeline in our group, on another pipe
        { pid: 102, pgrp: 7, comm: 'cat', fds: { 0: [other, '0100000'], 1: [path.join(root, 'unrelated.txt'), '0100001'] } },
        // our pipe, but another process group
        { pid: 103, pgrp: 8, comm: 'spy', fds: { 0: [pipe, '0100000'], 1: [path.join(root, 'elsewhere.txt'), '0100001'] } },
      ],
      100,
      root,
    );
    const out = ownOutputFiles({ stdout: { ...id(pipe), kind: 'fifo' }, stderr: { ...id(pipe), kind: 'fifo' } }, proc);
    expect(out).toEqual([
      { ...id(path.join(root, 'build.txt')), what: 'stdout, through tee' },
      { ...id(path.join(root, 'rw.db')), what: 'stdout, through tee' },
    ]);
  });

  it('a stat file it cannot parse, a process gone meanwhile, or an unreadable fd folder are passed over', async () => {
    const root = await tempDir();
    const pipe = path.join(root, 'pipe');
    execFileSync('mkfifo', [pipe]);
    const { proc } = await fakeProc(
      [
        { pid: 100, pgrp: 7 },
        { pid: 101, pgrp: 7, fds: { 0: [pipe, '0'], 1: [path.join(root, 'gone'), '1'] } },
      ],
      100,
      root,
    );
    fs.writeFileSync(path.join(proc, '101', 'stat'), 'garbage');
    expect(ownOutputFiles({ stdout: { ...id(pipe), kind: 'fifo' } }, proc)).toEqual([]);
    fs.writeFileSync(path.join(proc, '101', 'stat'), '101 (x) S 1 7 7');
    fs.rmSync(path.join(proc, '101', 'fd'), { recursive: true });
    expect(ownOutputFiles({ stdout: { ...id(pipe), kind: 'fifo' } }, proc)).toEqual([]);
  });
});
