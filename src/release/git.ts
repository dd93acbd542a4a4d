/**
 * The git steps of `version --git`: every precondition is checked first
 * (a work tree, no uncommitted changes to tracked files, the tag absent, a
 * committer identity), then one commit of the edited files and an
 * annotated tag. git runs through the one spawn helper, no shell.
 */
import path from 'node:path';
import { runPython as runProcess } from '../python/spawn.js';

export interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

export class GitError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export function git(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<GitRun> {
  // LC_ALL=C: messages are parsed in English; GIT_OPTIONAL_LOCKS=0: status takes no index lock.
  return runProcess('git', args, { cwd, env: { ...env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0' }, timeoutMs: 60_000, maxBytes: 16 * 1024 * 1024 });
}

function firstLine(r: GitRun): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
}

export interface GitPlan {
  root: string;
  tag: string;
}

/** Every check `--git` needs, before anything is written. */
export async function checkGit(cwd: string, env: NodeJS.ProcessEnv, tag: string): Promise<GitPlan> {
  const root = await checkGitTags(cwd, env, [tag]);
  return { root, tag };
}

/** The checks for a commit and these tags: a work tree (its root returned), a clean tree, no tag taken, an identity. */
export async function checkGitTags(cwd: string, env: NodeJS.ProcessEnv, tags: readonly string[]): Promise<string> {
  const top = await git(['rev-parse', '--show-toplevel'], cwd, env);
  if (top.error === 'ENOENT') throw new GitError('--git needs git, which is not installed', 'GIT_NOT_FOUND', 'install git, or run without --git');
  if (top.code !== 0) {
    throw new GitError(`--git: ${cwd} is not inside a git work tree`, 'NOT_A_GIT_REPO', 'run `git init` first, or run without --git');
  }
  const root = top.stdout.trim();
  await checkClean(cwd, env);
  for (const tag of tags) {
    const exists = await git(['rev-parse', '-q', '--verify', `refs/tags/${tag}`], cwd, env);
    if (exists.code === 0) {
      throw new GitError(`tag ${tag} already exists`, 'TAG_EXISTS', `choose another version, or delete the tag if it is wrong (git tag -d ${tag})`);
    }
  }
  const ident = await git(['var', 'GIT_COMMITTER_IDENT'], cwd, env);
  if (ident.code !== 0) {
    throw new GitError(
      'git does not know who you are, so it cannot commit',
      'GIT_NO_IDENTITY',
      'set it: git config user.name "Your Name" && git config user.email you@example.com',
    );
  }
  return root;
}

async function checkClean(cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const status = await git(['status', '--porcelain', '--untracked-files=no'], cwd, env);
  if (status.code !== 0) throw new GitError(`git status failed: ${firstLine(status)}`, 'GIT_FAILED', 'check the repository with `git status`');
  const dirty = status.stdout.split('\n').filter((l) => l.trim() !== '');
  if (dirty.length > 0) {
    const files = dirty
      .slice(0, 5)
      .map((l) => l.slice(3))
      .join(', ');
    throw new GitError(
      `--git needs a clean work tree; uncommitted changes in ${files}${dirty.length > 5 ? ` and ${dirty.length - 5} more` : ''}`,
      'GIT_DIRTY',
      'commit or stash them first (`git stash`), then run version again',
    );
  }
}

/**
 * A workspace release: one commit of every plugin's files, then one
 * annotated tag per plugin (`<name>@<version>`, as changesets tags the
 * packages of a monorepo). A tag that fails after the commit leaves the
 * commit and the tags made, and says which are missing.
 */
/** Codes of a commit that did not happen: the caller may put its files back. */
export const NOT_COMMITTED = new Set(['GIT_FAILED', 'GIT_COMMIT_FAILED']);

/**
 * `git add` then `git commit` of these files (relative to root). When either
 * fails the files are unstaged again (the tree was clean, so the index goes
 * back to HEAD), and nothing was committed (NOT_COMMITTED).
 */
async function stageAndCommit(root: string, rel: string[], message: string, env: NodeJS.ProcessEnv): Promise<void> {
  const unstage = () => git(['reset', '-q', '--', ...rel], root, env);
  const add = await git(['add', '--', ...rel], root, env);
  if (add.code !== 0) {
    await unstage();
    throw new GitError(`git add failed: ${firstLine(add)}`, 'GIT_FAILED', 'see `git status`');
  }
  const commit = await git(['commit', '-m', message, '--', ...rel], root, env);
  if (commit.code !== 0) {
    await unstage();
    throw new GitError(`git commit failed: ${firstLine(commit)}`, 'GIT_COMMIT_FAILED', 'a commit hook may have refused it; see `git status`');
  }
}

export async function commitAndTagMany(
  root: string,
  files: string[],
  message: string,
  tags: readonly { tag: string; message: string }[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const rel = files.map((f) => path.relative(root, f));
  await stageAndCommit(root, rel, message, env);
  const head = (await git(['rev-parse', 'HEAD'], root, env)).stdout.trim();
  for (const [i, t] of tags.entries()) {
    const r = await git(['tag', '-a', t.tag, '-m', t.message], root, env);
    if (r.code !== 0) {
      const left = tags.slice(i).map((x) => `git tag -a ${x.tag} -m "${x.message}"`);
      throw new GitError(
        `committed ${head.slice(0, 12)}, but git tag ${t.tag} failed: ${firstLine(r)}`,
        'GIT_TAG_FAILED',
        `tag it by hand: ${left.join(' && ')}`,
      );
    }
  }
  return head;
}

/** Commit `files` (absolute paths) and tag the commit. */
export async function commitAndTag(plan: GitPlan, files: string[], message: string, env: NodeJS.ProcessEnv): Promise<{ commit: string; tag: string }> {
  const rel = files.map((f) => path.relative(plan.root, f));
  await stageAndCommit(plan.root, rel, message, env);
  const tag = await git(['tag', '-a', plan.tag, '-m', message], plan.root, env);
  const head = await git(['rev-parse', 'HEAD'], plan.root, env);
  if (tag.code !== 0) {
    throw new GitError(
      `committed ${head.stdout.trim().slice(0, 12)}, but git tag ${plan.tag} failed: ${firstLine(tag)}`,
      'GIT_TAG_FAILED',
      `tag it by hand: git tag -a ${plan.tag} -m "${message}"`,
    );
  }
  return { commit: head.stdout.trim(), tag: plan.tag };
}

/** Undo a `git add` of files whose edits were rolled back (the tree was clean before). */
export async function unstage(plan: GitPlan, files: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await git(['reset', '-q', '--', ...files.map((f) => path.relative(plan.root, f))], plan.root, env);
}
