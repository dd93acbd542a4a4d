/**
 * `plexichat-plugin version`: the manifest keeps every byte but the version
 * (golden files), a dated CHANGELOG section, refusals that change nothing,
 * --git against a real repository, and the published version on a real
 * development marketplace.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { publishVersion } from './permission-diff-helpers.js';
import { writeSources } from './marketplace-plugin.js';

const GOLDEN = fileURLToPath(new URL('../fixtures/version/', import.meta.url));
/** 2026-03-04T05:06:07Z: the date every changelog section below gets. */
const EPOCH = { SOURCE_DATE_EPOCH: '1772600767' };
const DATE = '2026-03-04';

async function project(manifest: string | Buffer, changelog?: string): Promise<string> {
  const dir = await tempDir({ config: { 'plugin.yaml': manifest } });
  if (changelog !== undefined) await fs.writeFile(path.join(dir, 'CHANGELOG.md'), changelog);
  return dir;
}

const read = (dir: string, rel: string) => fs.readFile(path.join(dir, rel), 'utf8');

/** Every file of the project with its bytes, to prove a refusal changed nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listFiles(dir)) if (!f.startsWith('.git/')) out[f] = (await fs.readFile(path.join(dir, f))).toString('base64');
  return out;
}

function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' },
  }).trim();
}

async function gitProject(): Promise<string> {
  const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')), `# Changelog\n\n## [1.2.0] - 2026-01-01\n\n- First.\n`);
  gitIn(dir, 'init', '-q', '-b', 'main');
  gitIn(dir, 'config', 'user.name', 'Release Test');
  gitIn(dir, 'config', 'user.email', 'release@example.com');
  gitIn(dir, 'config', 'commit.gpgsign', 'false');
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

/** Env for runs that must not find a marketplace or the user's git config. */
const offline = { PLEXICHAT_MARKETPLACE_URL: undefined, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...EPOCH };

describe('version: the manifest keeps every byte outside the version', () => {
  it.each([
    ['commented.yaml', ['minor']],
    ['plain.yaml', ['major']],
    ['single-quoted.yaml', ['patch', '--pre', 'rc']],
  ])('%s matches its golden file after `version %s`', async (file, args) => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, file)));
    const r = await runMain(['version', ...args], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = await fs.readFile(path.join(GOLDEN, file.replace('.yaml', '.expected.yaml')));
    expect((await fs.readFile(path.join(dir, 'config/plugin.yaml'))).equals(expected)).toBe(true);
  });

  it('CRLF line endings and a BOM survive', async () => {
    const lf = await fs.readFile(path.join(GOLDEN, 'commented.yaml'), 'utf8');
    const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}`;
    const dir = await project(crlf);
    const r = await runMain(['version', '1.2.1'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await read(dir, 'config/plugin.yaml')).toBe(crlf.replace('version: "1.2.0"', 'version: "1.2.1"'));
  });

  it('keeps the file mode of the manifest', async () => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'plain.yaml')));
    await fs.chmod(path.join(dir, 'config/plugin.yaml'), 0o600);
    expect((await runMain(['version', 'patch'], { cwd: dir, env: offline })).exitCode).toBe(0);
    expect((await fs.stat(path.join(dir, 'config/plugin.yaml'))).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(path.join(dir, 'config'))).sort()).toEqual(['plugin.yaml']);
  });
});

describe('version: CHANGELOG.md', () => {
  it('creates CHANGELOG.md with a dated section holding the notes', async () => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')));
    const r = await runMain(['version', 'minor', '--note', 'Added the weekly report', '--note', 'Fixed the retention setting'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('advanced_analytics bumped 1.2.0 -> 1.3.0');
    expect(await read(dir, 'CHANGELOG.md')).toBe(`# Changelog\n\n## [1.3.0] - ${DATE}\n\n- Added the weekly report\n- Fixed the retention setting\n`);
  });

  it('puts the new section above the earlier ones, below the title and preamble', async () => {
    const before = '# Changelog\n\nAll notable changes.\n\n## [1.2.0] - 2026-01-01\n\n- First.\n';
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')), before);
    expect((await runMain(['version', 'patch', '--note', 'Fixed a crash'], { cwd: dir, env: offline })).exitCode).toBe(0);
    expect(await read(dir, 'CHANGELOG.md')).toBe(
      `# Changelog\n\nAll notable changes.\n\n## [1.2.1] - ${DATE}\n\n- Fixed a crash\n\n## [1.2.0] - 2026-01-01\n\n- First.\n`,
    );
  });

  it('turns an [Unreleased] section into the new version, adding the notes', async () => {
    const before = '# Changelog\n\n## [Unreleased]\n\n- Faster dashboard\n\n## [1.2.0] - 2026-01-01\n\n- First.\n';
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')), before);
    const r = await runMain(['--json', 'version', 'minor', '--note', 'New chart'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).changelog).toEqual({ file: 'CHANGELOG.md', action: 'unreleased', heading: `## [1.3.0] - ${DATE}`, empty: false });
    expect(await read(dir, 'CHANGELOG.md')).toBe(
      `# Changelog\n\n## [1.3.0] - ${DATE}\n\n- Faster dashboard\n- New chart\n\n## [1.2.0] - 2026-01-01\n\n- First.\n`,
    );
  });

  it('an existing section for the new version is kept; adding notes to it is refused and changes nothing', async () => {
    const before = '# Changelog\n\n## [1.3.0]\n\n- Written ahead.\n';
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')), before);
    const snap = await snapshot(dir);
    const refused = await runMain(['version', 'minor', '--note', 'More'], { cwd: dir, env: offline });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('CHANGELOG.md already has a section for 1.3.0');
    expect(await snapshot(dir)).toEqual(snap);
    const kept = await runMain(['version', 'minor'], { cwd: dir, env: offline });
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(await read(dir, 'CHANGELOG.md')).toBe(before);
  });

  it('warns when the new section is empty (prepare would refuse it)', async () => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'plain.yaml')));
    const r = await runMain(['version', 'patch'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/warning: the CHANGELOG.md section for 0\.9\.5 is empty/);
  });
});

describe('version: every refusal changes nothing', () => {
  it.each([
    [['1.1.0'], 1, '1.1.0 is not greater than the current version 1.2.0'],
    [['1.2.0'], 1, '1.2.0 is not greater than the current version 1.2.0'],
    [['bogus'], 2, '"bogus" is neither patch, minor, major nor a version X.Y.Z'],
    [['minor', '--pre', '7'], 2, '--pre "7" is not a prerelease identifier'],
    [['2.0.0-rc.0', '--pre', 'rc'], 2, '2.0.0-rc.0 is a prerelease already'],
    [[], 2, "missing required argument 'bump'"],
  ])('version %j → exit %i', async (args, code, message) => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')), '# Changelog\n');
    const snap = await snapshot(dir);
    const r = await runMain(['version', ...args], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toContain(message);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await snapshot(dir)).toEqual(snap);
  });

  it('a version YAML reads as a number is refused with the hint to quote it', async () => {
    const dir = await project('plugin:\n  name: num_plugin\n  version: 1.10\n');
    const r = await runMain(['version', 'patch'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('config/plugin.yaml:3:12: plugin.version is 1.1, not a quoted version string');
    expect(await read(dir, 'config/plugin.yaml')).toBe('plugin:\n  name: num_plugin\n  version: 1.10\n');
  });

  it('no manifest: exit 1, nothing created', async () => {
    const dir = await tempDir();
    const r = await runMain(['version', 'patch'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('config/plugin.yaml not found');
    expect(await listFiles(dir)).toEqual([]);
  });

  it('--dry-run shows the plan and writes nothing', async () => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'commented.yaml')));
    const snap = await snapshot(dir);
    const r = await runMain(['--json', 'version', 'major', '--dry-run', '--note', 'Breaking'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ plugin: 'advanced_analytics', from: '1.2.0', to: '2.0.0', dryRun: true, changelog: { action: 'created' } });
    expect(doc.published).toEqual({ checked: false, reason: expect.stringContaining('no marketplace is configured') });
    expect(await snapshot(dir)).toEqual(snap);
  });
});

describe('version --git', () => {
  it('commits both files and tags v<version>; the tree is clean after', async () => {
    const dir = await gitProject();
    const r = await runMain(['--json', 'version', 'minor', '--git', '--note', 'Weekly report'], { cwd: dir, env: offline });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.git).toEqual({ commit: gitIn(dir, 'rev-parse', 'HEAD'), tag: 'v1.3.0' });
    expect(gitIn(dir, 'log', '-1', '--format=%s')).toBe('advanced_analytics 1.3.0');
    expect(gitIn(dir, 'rev-parse', 'v1.3.0^{commit}')).toBe(doc.git.commit);
    expect(gitIn(dir, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual(['CHANGELOG.md', 'config/plugin.yaml']);
    expect(gitIn(dir, 'status', '--porcelain')).toBe('');
  });

  it('the tag already present: exit 1 and nothing changes (files, HEAD, index, tags)', async () => {
    const dir = await gitProject();
    gitIn(dir, 'tag', 'v1.3.0');
    const snap = await snapshot(dir);
    const head = gitIn(dir, 'rev-parse', 'HEAD');
    const r = await runMain(['version', 'minor', '--git', '--note', 'x'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('error: tag v1.3.0 already exists');
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(await snapshot(dir)).toEqual(snap);
    expect(gitIn(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(gitIn(dir, 'status', '--porcelain')).toBe('');
    expect(gitIn(dir, 'tag', '--list')).toBe('v1.3.0');
  });

  it('uncommitted changes: exit 1 naming them, nothing changes', async () => {
    const dir = await gitProject();
    await fs.appendFile(path.join(dir, 'CHANGELOG.md'), '\n- local edit\n');
    const snap = await snapshot(dir);
    const r = await runMain(['version', 'patch', '--git'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('--git needs a clean work tree; uncommitted changes in CHANGELOG.md');
    expect(await snapshot(dir)).toEqual(snap);
    expect(gitIn(dir, 'tag', '--list')).toBe('');
  });

  it('not a git repository: exit 1, nothing changes', async () => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'plain.yaml')));
    const snap = await snapshot(dir);
    const r = await runMain(['version', 'patch', '--git'], { cwd: dir, env: { ...offline, GIT_CEILING_DIRECTORIES: path.dirname(dir) } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('is not inside a git work tree');
    expect(await snapshot(dir)).toEqual(snap);
  });
});

describe('version against the development marketplace', () => {
  let srv!: DevServer;
  useDevServer((s) => (srv = s), { autoApprove: true });

  it('with 1.2.0 published, 1.1.0 is refused and nothing changes; 1.3.0 is accepted', async () => {
    const name = uniqueName('bump');
    const dir = await tempDir({}, 'pxp-plugin-');
    await writeSources(dir, { name, version: '1.2.0' });
    const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: srv.url, ...EPOCH });
    await publishVersion(dir, { ...env, PLEXICHAT_TOKEN: srv.developer });
    // The project goes back to 1.0.0 (a branch behind what is published).
    const manifest = path.join(dir, 'config/plugin.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace('version: "1.2.0"', 'version: "1.0.0"'));
    const snap = await snapshot(dir);

    const refused = await runMain(['version', '1.1.0', '--note', 'x'], { cwd: dir, env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`error: 1.1.0 is not greater than 1.2.0, the latest published version of ${name} on ${srv.url}`);
    expect(refused.stderr).toContain('hint: pass a version above 1.2.0, e.g. plexichat-plugin version 1.2.1');
    expect(await snapshot(dir)).toEqual(snap);

    const ok = await runMain(['--json', 'version', '1.3.0', '--note', 'Next'], { cwd: dir, env });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).published).toEqual({ checked: true, marketplace: srv.url, latest: '1.2.0' });
  });

  it('an unreachable marketplace is said, not hidden, and the bump goes on', async () => {
    const dir = await project(await fs.readFile(path.join(GOLDEN, 'plain.yaml')));
    const closed = await startDevServerUrlThenClose();
    const r = await runMain(['--json', 'version', 'patch', '--note', 'x'], { cwd: dir, env: { ...offline, PLEXICHAT_MARKETPLACE_URL: closed } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: not compared with the published version: .*cannot reach/i);
    expect(JSON.parse(r.stdout).published.checked).toBe(false);
  });
});

/** A loopback URL where nothing listens (a port just freed). */
async function startDevServerUrlThenClose(): Promise<string> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
