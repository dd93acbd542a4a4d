/**
 * status, review, publish and info against the real development
 * marketplace on 127.0.0.1:0.
 */
import { describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { hasStackTrace, runCli } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { isolatedEnv, uniqueName } from './marketplace-helpers.js';
import { pluginProject } from './marketplace-plugin.js';

let srv!: DevServer;

useDevServer((s) => (srv = s));

const dev = () => isolatedEnv(srv.env(srv.developer));
const rev = () => isolatedEnv(srv.env(srv.reviewer));

/** A submitted plugin: its project dir, name and submission id. */
async function submitted(base: string): Promise<{ dir: string; name: string; id: string }> {
  const name = uniqueName(base);
  const dir = await pluginProject({ name });
  const r = await runMain(['--json', 'marketplace', 'submit'], { cwd: dir, env: await dev() });
  expect(r.exitCode, r.stderr).toBe(0);
  return { dir, name, id: JSON.parse(r.stdout).submission.id };
}

describe('marketplace status', () => {
  it("lists the current plugin's submissions from its directory, or shows one by id", async () => {
    const { dir, name, id } = await submitted('st');
    const list = await runMain(['--json', 'marketplace', 'status'], { cwd: dir, env: await dev() });
    expect(list.exitCode, list.stderr).toBe(0);
    const doc = JSON.parse(list.stdout);
    expect(doc.submissions).toHaveLength(1);
    expect(doc.submissions[0]).toMatchObject({ id, plugin: name, version: '1.0.0', state: 'pending' });

    const human = await runMain(['marketplace', 'status'], { cwd: dir, env: await dev() });
    expect(human.stdout).toContain(`${id}  ${name} 1.0.0  pending`);

    const one = await runMain(['--json', 'marketplace', 'status', id], { env: await dev() });
    expect(one.exitCode).toBe(0);
    expect(JSON.parse(one.stdout).submission).toMatchObject({ id, state: 'pending' });
  });

  it("an unknown id: exit 1; another developer's submission: exit 4", async () => {
    const { id } = await submitted('st');
    const unknown = await runMain(['marketplace', 'status', 'sub_0000000000000000'], { env: await dev() });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/HTTP 404 SUBMISSION_NOT_FOUND/);
    const other = await runMain(['marketplace', 'status', id], { env: await isolatedEnv(srv.env(srv.developer2)) });
    expect(other.exitCode).toBe(4);
    expect(other.stderr).toMatch(/HTTP 403 NOT_OWNER/);
  });

  it('--wait: exit 0 once approved', async () => {
    const { dir, id } = await submitted('wait');
    const waiting = runMain(['marketplace', 'status', '--wait', '--timeout', '60'], { cwd: dir, env: await dev() });
    const review = await runMain(['marketplace', 'review', id, '--approve', '--notes', 'fine'], { env: await rev() });
    expect(review.exitCode, review.stderr).toBe(0);
    const r = await waiting;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${id} .* approved`));
  });

  it('--wait: exit 1 when rejected, showing the notes', async () => {
    const { id } = await submitted('wait');
    const waiting = runMain(['marketplace', 'status', id, '--wait', '--timeout', '60'], { env: await dev() });
    const review = await runMain(['marketplace', 'review', id, '--reject', '--notes', 'declare analytics_read'], { env: await rev() });
    expect(review.exitCode, review.stderr).toBe(0);
    const r = await waiting;
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('reviewer notes: declare analytics_read');
    expect(r.stderr).toMatch(/was rejected/);

    const j = await runMain(['--json', 'marketplace', 'status', id, '--wait'], { env: await dev() });
    expect(j.exitCode).toBe(1);
    expect(JSON.parse(j.stdout).submission).toMatchObject({ state: 'rejected', notes: 'declare analytics_read' });
  });

  it('--wait: exit 3 on timeout, printing the id and the command to check again', async () => {
    const { id } = await submitted('wait');
    const r = await runMain(['marketplace', 'status', id, '--wait', '--timeout', '1'], { env: await dev() });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`timed out after 1s waiting for the review of ${id} (still pending)`);
    expect(r.stderr).toContain(`plexichat-plugin marketplace status ${id} --wait`);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });

  it('--wait against a server that stops answering: exit 3 within --timeout', async () => {
    const { id } = await submitted('wait');
    srv.injectFault({ route: 'getSubmission', kind: 'hang', times: Infinity });
    const r = await runCli(['marketplace', 'status', id, '--wait', '--timeout', '2'], { env: await dev(), timeout: 30_000 });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/timed out after 2s/);
  });

  it('a 200 that is not the API (HTML, invalid JSON, unknown state) is exit 3 with a short excerpt, never success', async () => {
    // Not a marketplace at all: what a captive portal or a wrong URL answers.
    const { default: http } = await import('node:http');
    const bodies: [string, string][] = [
      ['text/html', `<html><body>Please sign in ${'x'.repeat(5000)}</body></html>`],
      ['application/json', '{"id": "sub_1", "state": '],
      ['application/json', '{"id": "sub_1", "plugin": "p", "version": "1.0.0", "state": "shipped"}'],
    ];
    let i = 0;
    const fake = http.createServer((_req, res) => {
      const [type, body] = bodies[i % bodies.length];
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(fake.address() as import('node:net').AddressInfo).port}`;
      const env = await isolatedEnv({ PLEXICHAT_MARKETPLACE_URL: url, PLEXICHAT_TOKEN: srv.developer });
      const html = await runMain(['marketplace', 'status', 'sub_1'], { env });
      expect(html.exitCode).toBe(3);
      expect(html.stderr).toMatch(/unexpected response from the marketplace \(HTTP 200, content-type text\/html\): <html><body>Please sign in x+…/);
      expect(html.stderr.length).toBeLessThan(2000);
      i = 1;
      const broken = await runMain(['marketplace', 'status', 'sub_1'], { env });
      expect(broken.exitCode).toBe(3);
      expect(broken.stderr).toMatch(/unexpected response/);
      i = 2;
      const odd = await runMain(['marketplace', 'status', 'sub_1'], { env });
      expect(odd.exitCode).toBe(3);
      expect(odd.stderr).toMatch(/unknown submission state "shipped"/);
      expect(`${html.stderr}${broken.stderr}${odd.stderr}`).not.toContain(srv.developer);
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });
});

describe('marketplace review', () => {
  it('needs exactly one of --approve/--reject (exit 2) and notes to reject', async () => {
    const env = await rev();
    expect((await runMain(['marketplace', 'review', 'sub_1'], { env })).exitCode).toBe(2);
    expect((await runMain(['marketplace', 'review', 'sub_1', '--approve', '--reject'], { env })).exitCode).toBe(2);
    const r = await runMain(['marketplace', 'review', 'sub_1', '--reject'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--reject needs --notes/);
  });

  it('a developer token cannot review (exit 4, says a reviewer token is needed)', async () => {
    const { id } = await submitted('rev');
    const r = await runMain(['marketplace', 'review', id, '--approve'], { env: await dev() });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/HTTP 403 FORBIDDEN_ROLE/);
    expect(r.stderr).toMatch(/reviewer token/);
  });
});

describe('marketplace publish and info', () => {
  it('refuses before approval (exit 1), publishes once approved, is idempotent, and info lists the version', async () => {
    const { dir, name, id } = await submitted('pub');
    const early = await runMain(['marketplace', 'publish'], { cwd: dir, env: await dev() });
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain(`cannot publish ${name} 1.0.0 (${id}): it is pending, not approved`);
    expect(early.stderr).toMatch(/status .* --wait/);
    expect(hasStackTrace(early.stderr)).toBe(false);

    // by id, the server's refusal is shown the same way
    const early2 = await runMain(['marketplace', 'publish', id], { env: await dev() });
    expect(early2.exitCode).toBe(1);

    expect((await runMain(['marketplace', 'review', id, '--approve'], { env: await rev() })).exitCode).toBe(0);

    const reviewerPublish = await runMain(['marketplace', 'publish', id], { env: await rev() });
    expect(reviewerPublish.exitCode).toBe(4);

    const pub = await runMain(['--json', 'marketplace', 'publish'], { cwd: dir, env: await dev() });
    expect(pub.exitCode, pub.stderr).toBe(0);
    expect(JSON.parse(pub.stdout)).toMatchObject({ changed: true, submission: { id, state: 'published', channel: 'stable' } });

    const again = await runMain(['marketplace', 'publish'], { cwd: dir, env: await dev() });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/already published on the stable channel/);

    const beta = await runMain(['marketplace', 'publish', id, '--channel', 'beta'], { env: await dev() });
    expect(beta.exitCode).toBe(1);
    expect(beta.stderr).toMatch(/409 ALREADY_PUBLISHED/);

    const info = await runMain(['--json', 'marketplace', 'info', name], { env: await isolatedEnv(srv.env()) });
    expect(info.exitCode, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ name, versions: [{ version: '1.0.0', channel: 'stable' }] });
  });

  it('a rejected submission is refused with the notes', async () => {
    const { dir, id } = await submitted('pubrej');
    await runMain(['marketplace', 'review', id, '--reject', '--notes', 'too noisy'], { env: await rev() });
    const r = await runMain(['marketplace', 'publish'], { cwd: dir, env: await dev() });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/it was rejected: too noisy/);
  });

  it('publish before any submit, and info of an unknown plugin: exit 1', async () => {
    const name = uniqueName('never');
    const dir = await pluginProject({ name });
    const r = await runMain(['marketplace', 'publish'], { cwd: dir, env: await dev() });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/has not been submitted/);
    const info = await runMain(['marketplace', 'info', name], { env: await isolatedEnv(srv.env()) });
    expect(info.exitCode).toBe(1);
    expect(info.stderr).toMatch(/HTTP 404 PLUGIN_NOT_FOUND/);
  });
});
