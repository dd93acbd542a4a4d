/**
 * `check`'s security step is the review of `validate --security` (bandit
 * over the files the archive holds), its findings under security/<CODE>;
 * without bandit it is skipped with the install command, never passed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStackTrace } from '../helpers/run-cli.js';
import { requires } from '../helpers/requires.js';
import { runMain } from '../helpers/run-main.js';
import { withoutBandit } from '../helpers/python-stubs.js';
import { offline, useScaffold } from '../helpers/scaffold.js';

const RISKY = `import subprocess


def run(cmd):
    subprocess.call(cmd, shell=True)
    subprocess.call(cmd, shell=True)  # nosec B602
    return eval(cmd)
`;

const project = useScaffold('secured_plugin', 'pxp-checksec-');

interface Finding {
  ruleId: string;
  level: string;
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  column?: number;
}

const security = (doc: { checks: { id: string; status: string; summary: string; findings: Finding[] }[] }) => doc.checks.find((c) => c.id === 'security')!;

describe('check: security', () => {
  it('a bandit finding fails the check at its line (HIGH an error, MEDIUM a warning, LOW a note), # nosec honoured', async (ctx) => {
    requires(ctx, 'bandit');
    const dir = await project({ 'src/tools.py': RISKY });
    const r = await runMain(['--json', 'check'], { cwd: dir, env: offline });
    expect(r.exitCode).toBe(1);
    const doc = JSON.parse(r.stdout);
    const sec = security(doc);
    expect(sec.status).toBe('failed');
    expect(sec.summary).toMatch(/^bandit \(.+\): 3 findings, failing at high severity and above$/);
    expect(sec.findings.map((f) => [f.ruleId, f.level, f.file, f.line])).toEqual(
      expect.arrayContaining([
        ['security/BANDIT_B602', 'error', 'src/tools.py', 5],
        ['security/BANDIT_B307', 'warning', 'src/tools.py', 7],
        ['security/BANDIT_B404', 'note', 'src/tools.py', 1],
      ]),
    );
    expect(sec.findings.filter((f) => f.line === 6)).toEqual([]);
    expect(sec.findings.find((f) => f.ruleId === 'security/BANDIT_B602')!.hint).toContain('# nosec B602');
    // the other checks are not affected by it
    expect(doc.checks.filter((c: { status: string }) => c.status !== 'passed').map((c: { id: string }) => c.id)).toEqual(['security']);

    const text = await runMain(['check'], { cwd: dir, env: offline });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/✖ security\s+failed\s+bandit/);
    expect(text.stdout).toMatch(/src\/tools\.py:5:5 error security\/BANDIT_B602 subprocess call with shell=True/);
    const gh = await runMain(['check', '--format', 'github'], { cwd: dir, env: offline });
    expect(gh.stdout).toMatch(/^::error file=src\/tools\.py,line=5,col=5::security\/BANDIT_B602 subprocess call with shell=True/m);
    expect(gh.stdout).toMatch(/^::notice file=src\/tools\.py,line=1,col=1::security\/BANDIT_B404 /m);
  });

  it('a rule id set off in .plexichat.yaml with a reason lets it pass; a file .pluginignore drops is not reviewed', async (ctx) => {
    requires(ctx, 'bandit');
    const config = 'check:\n  rules:\n    security/BANDIT_B602:\n      severity: off\n      reason: the command is a constant\n';
    const off = await project({ 'src/tools.py': RISKY, '.plexichat.yaml': config });
    const r = await runMain(['--json', 'check'], { cwd: off, env: offline });
    expect(r.exitCode, r.stdout).toBe(0);
    expect(security(JSON.parse(r.stdout)).findings.find((f) => f.ruleId === 'security/BANDIT_B602')).toMatchObject({
      suppressed: { reason: 'the command is a constant' },
    });

    const ignored = await project({ 'src/tools.py': RISKY });
    await fs.appendFile(path.join(ignored, '.pluginignore'), '\nsrc/tools.py\n');
    const i = await runMain(['--json', 'check'], { cwd: ignored, env: offline });
    const sec = security(JSON.parse(i.stdout));
    expect(sec.status).toBe('passed');
    expect(sec.findings).toEqual([]);
    expect(sec.summary).toContain('0 findings');
  });

  it('without bandit: skipped with the install command (a warning under pr, an error under release)', async () => {
    const env = { ...offline, PLEXICHAT_PYTHON: undefined, PATH: await withoutBandit() };
    const dir = await project({ 'src/tools.py': RISKY });
    const pr = await runMain(['--json', 'check'], { cwd: dir, env });
    expect(hasStackTrace(pr.stderr)).toBe(false);
    const doc = JSON.parse(pr.stdout);
    const sec = security(doc);
    expect(sec.status).toBe('skipped');
    expect(sec.summary).toContain('--security needs bandit, which was not found');
    expect(sec.summary).toContain('sudo apt-get install -y bandit');
    expect(sec.findings).toEqual([expect.objectContaining({ ruleId: 'security/SKIPPED', level: 'warning' })]);
    expect(doc.checks.find((c: { id: string }) => c.id === 'test').status).toBe('passed'); // Python itself still works
    expect(pr.exitCode).toBe(0);

    const release = await runMain(['check', '--profile', 'release'], { cwd: dir, env });
    expect(release.exitCode).toBe(1);
    expect(release.stdout).toContain('- error security/SKIPPED check security was skipped: --security needs bandit');
  });
});
