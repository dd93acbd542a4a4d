#!/usr/bin/env node
/**
 * `npm run demo`: the whole plugin lifecycle, end to end, with the real CLI
 * against the bundled development marketplace.
 *
 * In a temp directory it starts `marketplace serve` on 127.0.0.1 port 0
 * (its own data dir, two known tokens), then runs
 *   init → validate → test → check (the CI gate) → keys generate → build
 *   (signed) → verify (offline, with the public key) → deploy render
 *   → marketplace login → keys add → prepare → submit → review (reviewer
 *   token) → status → publish → info → download (both signatures checked)
 * printing each step and its output (stdout of a step is returned). It stops the server and removes the
 * temp directory at the end, and exits non-zero when any step fails.
 * Nothing outside the temp directory is touched (its own XDG_CONFIG_HOME).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/plexichat-plugin.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s) => paint('1', s);
const dim = (s) => paint('2', s);
const green = (s) => paint('32', s);
const red = (s) => paint('31', s);

if (!existsSync(DIST)) {
  console.error('dist/ is missing: run `npm run build` first (npm run demo does it for you).');
  process.exit(1);
}

const root = await fs.mkdtemp(path.join(os.tmpdir(), 'plexichat-demo-'));
const devToken = `pcx_demo_dev_${randomBytes(12).toString('hex')}`;
const revToken = `pcx_demo_rev_${randomBytes(12).toString('hex')}`;
const baseEnv = {
  ...process.env,
  XDG_CONFIG_HOME: path.join(root, 'config'),
  NO_COLOR: '1',
  FORCE_COLOR: undefined,
  PLEXICHAT_TOKEN: undefined,
  PLEXICHAT_MARKETPLACE_URL: undefined,
};
for (const k of Object.keys(baseEnv)) if (baseEnv[k] === undefined) delete baseEnv[k];

let server;
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  await fs.rm(root, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping the demo`);
    cleanup().finally(() => process.exit(130));
  });
}

/** Start the development marketplace and read its JSON start-up document. */
async function startServer() {
  const dataDir = path.join(root, 'marketplace');
  server = spawn(
    process.execPath,
    [
      BIN,
      '--json',
      'marketplace',
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--developer-token',
      devToken,
      '--reviewer-token',
      revToken,
    ],
    { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let serverLog = '';
  server.stderr.on('data', (d) => {
    serverLog += d;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      try {
        const doc = JSON.parse(out);
        server.stdout.off('data', onData);
        resolve(doc);
      } catch {
        /* not complete yet */
      }
    };
    server.stdout.on('data', onData);
    server.once('exit', (code) => reject(new Error(`the marketplace exited with ${code} before listening\n${serverLog}`)));
    setTimeout(() => reject(new Error(`the marketplace did not start in 20 s\n${serverLog}`)), 20_000).unref();
  });
}

const steps = [];
let stepNo = 0;
const TOTAL = 17;

/** Run one CLI step, indenting its output, and stop the demo when it fails. */
async function step(title, args, { cwd, env = {}, input } = {}) {
  stepNo += 1;
  const shown = ['plexichat-plugin', ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  console.log(`\n${bold(`[${stepNo}/${TOTAL}] ${title}`)}  ${dim(`$ ${shown}`)}`);
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...baseEnv, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin.end(input);
  let output = '';
  const print = (line) => {
    if (line.trim()) process.stdout.write(`  ${dim('│')} ${line}\n`);
  };
  // Whole lines only: output arrives in arbitrary chunks (pytest's dots one by one).
  const relay = () => {
    let pending = '';
    return {
      write(d) {
        const lines = (pending + d).split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(print);
      },
      flush: () => print(pending),
    };
  };
  const out = relay();
  const err = relay();
  child.stdout.on('data', (d) => {
    output += d;
    out.write(d);
  });
  child.stderr.on('data', (d) => err.write(d));
  const code = await new Promise((r) => child.on('close', (c) => r(c ?? 1)));
  out.flush();
  err.flush();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (code !== 0) {
    console.log(`  ${red('✘')} ${title} failed (exit ${code}, ${secs}s)`);
    throw Object.assign(new Error(`${title} failed`), { exitCode: code });
  }
  console.log(`  ${green('✔')} ${title} (${secs}s)`);
  steps.push({ title, secs });
  return output;
}

let exitCode = 0;
try {
  console.log(bold('PlexiChat plugin lifecycle demo'));
  console.log(dim(`working in ${root}`));
  const market = await startServer();
  console.log(`development marketplace listening on ${market.url} ${dim(`(data in ${market.dataDir})`)}`);
  const mp = { PLEXICHAT_MARKETPLACE_URL: market.url };
  const name = 'demo_analytics';
  const dir = path.join(root, name);

  await step(
    'init: scaffold a plugin',
    [
      'init',
      name,
      '--name',
      name,
      '--template',
      'analytics',
      '--category',
      'analytics',
      '--description',
      'Channel activity analytics for the demo',
      '--author',
      'Demo Team',
      '--yes',
    ],
    { cwd: root },
  );
  await step('validate: manifest and code checks', ['validate'], { cwd: dir });
  await step("test: the plugin's pytest suite", ['test'], { cwd: dir });
  await step('check: the CI gate (pr profile)', ['check', '--profile', 'pr'], { cwd: dir });
  // The key goes to the demo's own XDG_CONFIG_HOME; build signs with it by default.
  const pubKey = path.join(root, 'config', 'plexichat-plugin', 'signing-key.pem.pub');
  await step('keys generate: an Ed25519 signing key', ['keys', 'generate'], { cwd: dir });
  await step('build: package and sign the archive', ['build'], { cwd: dir });
  await step('verify: the archive and its signature, offline', ['verify', `dist/${name}-0.1.0.zip`, '--key', pubKey], { cwd: dir });
  await step('deploy render: Dockerfile, Kubernetes, Helm', ['deploy', 'render', '--helm'], { cwd: dir });
  await step('login: store the developer token', ['marketplace', 'login', '--token-stdin'], { cwd: dir, env: mp, input: devToken });
  await step('keys add: register the public key', ['marketplace', 'keys', 'add', pubKey], { cwd: dir, env: mp });
  await step('prepare: write the listing', ['marketplace', 'prepare'], { cwd: dir, env: mp });
  const submitted = await step('submit: upload for review', ['marketplace', 'submit'], { cwd: dir, env: mp });
  const [, version, id] = /(\S+) for review: (sub_[0-9a-f]+)/.exec(submitted) ?? [];
  if (!id) throw new Error(`no submission id in the output of submit: ${submitted}`);
  await step('review: approve (reviewer token)', ['marketplace', 'review', id, '--approve', '--notes', 'Looks good (demo)'], {
    cwd: root,
    env: { ...mp, PLEXICHAT_TOKEN: revToken },
  });
  await step('status: wait for the decision', ['marketplace', 'status', '--wait', '--timeout', '30'], { cwd: dir, env: mp });
  await step('publish: release on the stable channel', ['marketplace', 'publish', '--channel', 'stable'], { cwd: dir, env: mp });
  await step('info: the published versions', ['marketplace', 'info', name], { cwd: root, env: mp });
  await step('download: fetch it, both signatures checked', ['marketplace', 'download', `${name}@${version}`, '--out', root], {
    cwd: root,
    env: mp,
  });

  const total = steps.reduce((s, x) => s + Number(x.secs), 0).toFixed(1);
  console.log(`\n${green('✔')} ${bold(`all ${steps.length} steps passed`)} in ${total}s: ${name} ${version} is published on the development marketplace.`);
  console.log(dim('Next: `npm test` runs the full test suite.'));
} catch (err) {
  exitCode = typeof err.exitCode === 'number' && err.exitCode !== 0 ? err.exitCode : 1;
  console.error(`\n${red('demo failed:')} ${err.message}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
