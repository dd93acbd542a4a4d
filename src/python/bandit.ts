/**
 * bandit (Python's security linter, Debian's `bandit` package) over the
 * plugin's .py files, for `validate --security`. Found through the
 * interpreter discovery: `<python> -m bandit` for the pinned interpreter
 * (--python / PLEXICHAT_PYTHON), else for each python3/python on PATH in
 * turn; then a `bandit` executable on PATH. It runs in the project with the
 * files' relative names, so `# nosec` comments and its own defaults apply
 * as they would by hand. What it reports is a code-pattern review (shell
 * injection, eval, weak hashes, hard-coded password-like strings ...), not
 * secret detection.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isExecutable, pathCandidates, pinnedPython } from './discover.js';
import type { BanditFinding } from '../core/checks/security.js';
import type { SourceFile } from './scan-cache.js';
import { runPython } from './spawn.js';

export type { BanditFinding, BanditSeverity } from '../core/checks/security.js';

export type BanditOutcome =
  | {
      ok: true;
      /** The command that ran (the interpreter and `-m bandit`, or the bandit executable). */
      command: string[];
      findings: BanditFinding[];
      /** Files bandit could not check, with its reason. */
      skipped: { file: string; reason: string }[];
    }
  | { ok: false; tried: string[] };

interface BanditJson {
  results: {
    test_id?: string;
    test_name?: string;
    issue_severity?: string;
    issue_confidence?: string;
    issue_text?: string;
    more_info?: string;
    filename?: string;
    line_number?: number;
    col_offset?: number;
  }[];
  errors?: { filename?: string; reason?: string }[];
}

function parse(stdout: string): BanditJson | undefined {
  try {
    const doc = JSON.parse(stdout) as Partial<BanditJson> | null;
    return doc && Array.isArray(doc.results) ? (doc as BanditJson) : undefined;
  } catch {
    return undefined;
  }
}

/** Where bandit can be run from, in the order tried. */
function commands(projectDir: string, env: NodeJS.ProcessEnv, python?: string): string[][] {
  const pinned = pinnedPython(env, python, projectDir);
  const interpreters = pinned ? [pinned.path] : pathCandidates(env);
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const bins = [...new Set(dirs.map((d) => path.join(d, 'bandit')))].filter(isExecutable);
  return [...interpreters.map((p) => [p, '-m', 'bandit']), ...bins.map((b) => [b])];
}

/** bandit 1.7+ gives the column; older ones do not: the first non-blank character of the line then. */
async function columns(projectDir: string, findings: BanditFinding[], offsets: (number | undefined)[]): Promise<void> {
  const lines = new Map<string, string[]>();
  for (const [i, f] of findings.entries()) {
    const off = offsets[i];
    if (off !== undefined) {
      f.column = off + 1;
      continue;
    }
    if (!lines.has(f.file)) lines.set(f.file, (await readFile(path.join(projectDir, f.file), 'utf8').catch(() => '')).split('\n'));
    const text = lines.get(f.file)![f.line - 1] ?? '';
    f.column = text.length - text.trimStart().length + 1;
  }
}

function findingsOf(doc: BanditJson): { findings: BanditFinding[]; offsets: (number | undefined)[] } {
  const findings: BanditFinding[] = [];
  const offsets: (number | undefined)[] = [];
  for (const r of doc.results) {
    const severity = (['LOW', 'MEDIUM', 'HIGH'] as const).find((s) => s === r.issue_severity?.toUpperCase()) ?? 'LOW';
    findings.push({
      test: r.test_id ?? 'B000',
      name: r.test_name ?? '',
      severity,
      confidence: r.issue_confidence ?? 'UNDEFINED',
      message: (r.issue_text ?? '').replace(/\s+/g, ' ').trim(),
      moreInfo: r.more_info,
      file: (r.filename ?? '').split(path.sep).join('/').replace(/^\.\//, ''),
      line: r.line_number ?? 0,
      column: 0,
    });
    offsets.push(typeof r.col_offset === 'number' ? r.col_offset : undefined);
  }
  return { findings, offsets };
}

export async function runBandit(projectDir: string, opts: { env: NodeJS.ProcessEnv; python?: string; files: SourceFile[] }): Promise<BanditOutcome> {
  const tried: string[] = [];
  // bandit writes no bytecode and reads no stdin; -q drops its banner, the JSON goes to stdout.
  const args = ['-f', 'json', '-q', ...opts.files.map((f) => f.rel)];
  for (const cmd of commands(projectDir, opts.env, opts.python)) {
    tried.push(cmd.join(' '));
    if (opts.files.length === 0) return { ok: true, command: cmd, findings: [], skipped: [] };
    const r = await runPython(cmd[0], [...cmd.slice(1), ...args], {
      env: { ...opts.env, PYTHONDONTWRITEBYTECODE: '1' },
      cwd: projectDir,
      timeoutMs: 300_000,
    });
    // exit 0: nothing found, 1: findings; either way the report is on stdout
    const doc = r.code === 0 || r.code === 1 ? parse(r.stdout) : undefined;
    if (!doc) continue;
    const { findings, offsets } = findingsOf(doc);
    await columns(projectDir, findings, offsets);
    const skipped = (doc.errors ?? []).map((e) => ({ file: (e.filename ?? '').replace(/^\.\//, ''), reason: (e.reason ?? '').trim() }));
    return { ok: true, command: cmd, findings, skipped };
  }
  return { ok: false, tried };
}
