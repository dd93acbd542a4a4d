/**
 * A path typed on the command line means what the user's shell means by it:
 * relative to the folder the command was run in (with -C <dir>, relative to
 * <dir>), also when a project command found the plugin root further up.
 * Defaults (build's dist/, deploy render's project root) stay at the root.
 * Every path flag and argument, from a subfolder of a plugin and with -C;
 * the marketplace commands against the real development marketplace.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { useDevServer, type DevServer } from '../helpers/dev-server.js';
import { BIN } from '../helpers/run-cli.js';
import { runMain } from '../helpers/run-main.js';
import { listFiles, tempDir } from '../helpers/temp-project.js';
import { uniqueName } from './marketplace-helpers.js';
import { writeSources } from './marketplace-plugin.js';

let srv!: DevServer;
useDevServer((s) => (srv = s), { autoApprove: true });

let home: string;
beforeAll(async () => {
  home = await tempDir({}, 'pxp-paths-home-');
});

/** The CLI in-process, started in `cwd`, with its own config dir and the dev marketplace. */
function cli(args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  return runMain(args, {
    cwd,
    env: { XDG_CONFIG_HOME: home, HOME: home, PLEXICHAT_SIGNING_KEY: undefined, PLEXICHAT_MARKETPLACE_URL: srv.url, PLEXICHAT_TOKEN: srv.developer, ...env },
  });
}

async function ok(args: string[], cwd: string) {
  const r = await cli(args, cwd);
  expect(r.exitCode, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/** A plugin project (no archive yet) with an empty subfolder work/ beside its docs/. */
async function project(prefix = 'paths'): Promise<{ root: string; sub: string; name: string; zip: string }> {
  const name = uniqueName(prefix);
  // In a folder of its own, so a path wrongly taken from the root ('../x') lands in it, not in the temp dir.
  const root = path.join(await tempDir({}, 'pxp-paths-'), 'plugin');
  await writeSources(root, { name });
  const sub = path.join(root, 'work');
  await fs.mkdir(sub);
  return { root, sub, name, zip: `${name}-1.0.0.zip` };
}

describe("from a subfolder of the plugin: typed paths are the shell's, defaults the project's", () => {
  it('build --out and --key, verify <archive> --key --keyring --signature, validate --against', async () => {
    const { root, sub, zip } = await project();
    // A key kept outside the project (build refuses to pack one), named relative to work/.
    const keys = path.relative(sub, await tempDir({}, 'pxp-paths-keys-'));
    await ok(['keys', 'generate', '--out', `${keys}/k.pem`], sub);
    expect(await listFiles(path.resolve(sub, keys))).toEqual(['k.pem', 'k.pem.pub']);

    const b = await ok(['build', '--out', '../out', '--sign', '--key', `${keys}/k.pem`], sub);
    expect(b.stderr).toContain(`using the plugin at ${root}`);
    const stem = zip.replace(/\.zip$/, '');
    // The archive, its digest and signature, and the SBOM and signed provenance beside it.
    expect(await listFiles(path.join(root, 'out'))).toEqual([`${stem}.cdx.json`, `${stem}.intoto.jsonl`, zip, `${zip}.sha256`, `${zip}.sig`]);
    // The "built" line names a path that works from here.
    expect(b.stdout).toContain(`built ${path.join(root, 'out', zip)}`);
    const here = await ok(['build', '--out', 'here', '--no-sign'], sub);
    expect(await exists(path.join(sub, 'here', zip))).toBe(true);
    expect(await exists(path.join(root, 'here'))).toBe(false);
    expect(here.stdout).toContain(`built ${path.join('here', zip)}`);
    // The default is the project's dist/, not work/dist/.
    await ok(['build', '--no-sign'], sub);
    expect(await exists(path.join(root, 'dist', zip))).toBe(true);
    expect(await exists(path.join(sub, 'dist'))).toBe(false);

    await ok(['verify', `../out/${zip}`, '--key', `${keys}/k.pem.pub`], sub);
    await fs.rename(path.join(root, 'out', `${zip}.sig`), path.join(sub, 'moved.sig'));
    const pub = await fs.readFile(path.resolve(sub, keys, 'k.pem.pub'), 'utf8');
    await fs.writeFile(path.join(sub, 'ring.json'), JSON.stringify({ keys: [{ public_key: pub }] }));
    const v = await ok(['--json', 'verify', `../out/${zip}`, '--keyring', 'ring.json', '--signature', 'moved.sig'], sub);
    expect(JSON.parse(v.stdout).signature).toMatchObject({ status: 'verified', file: 'moved.sig' });

    await ok(['validate', '--against', `../out/${zip}`], sub);
    // The same words typed from the root's point of view name nothing here.
    const wrong = await cli(['--json', 'validate', '--against', `out/${zip}`], sub);
    expect(wrong.exitCode).toBe(2);
    expect(JSON.parse(wrong.stdout).error).toMatchObject({ code: 'AGAINST_NOT_FOUND', message: `--against out/${zip}: no such archive` });
  });

  it('check --output, deploy render --out (inside the project; the default at the root), test and dev --python', async () => {
    const { root, sub } = await project();
    const c = await cli(['check', '--format', 'sarif', '--output', 'report.sarif'], sub);
    expect([0, 1], c.stderr).toContain(c.exitCode);
    expect(JSON.parse(await fs.readFile(path.join(sub, 'report.sarif'), 'utf8'))).toMatchObject({ version: '2.1.0' });
    expect(await exists(path.join(root, 'report.sarif'))).toBe(false);

    await ok(['deploy', 'render', '--out', 'deploy'], sub);
    expect(await exists(path.join(sub, 'deploy', 'Dockerfile'))).toBe(true);
    expect(await exists(path.join(root, 'deploy'))).toBe(false);
    await ok(['deploy', 'render'], sub);
    expect(await exists(path.join(root, 'Dockerfile'))).toBe(true);
    // ../.. from work/ is above the project: refused, as from the root.
    const outside = await cli(['deploy', 'render', '--out', '../..'], sub);
    expect(outside.exitCode).toBe(2);
    expect(outside.stderr).toMatch(/--out \.\.\/\.\. is outside the project/);

    // --python with a slash is a path from here; a bare name is looked up on PATH.
    for (const cmd of [['test'], ['dev', '--no-reload']]) {
      const r = await cli(['--json', ...cmd, '--python', './bin/python3'], sub);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toContain(`--python ${path.join(sub, 'bin', 'python3')} is not a runnable`);
    }
  });

  it('--allow-secret names a file of the project as build names it (project-relative), from a subfolder too', async () => {
    const { root, sub } = await project();
    // Under src/: packed by default (a stray at the root or in config/ is left out, not refused).
    await fs.writeFile(path.join(root, 'src', 'sample.pem'), 'a placeholder, not a key\n');
    const refused = await cli(['build', '--no-sign'], sub);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('refusing to pack a likely secret: src/sample.pem');
    await ok(['build', '--no-sign', '--allow-secret', 'src/sample.pem'], sub);
    await ok(['-C', sub, 'build', '--no-sign', '--allow-secret', 'src/sample.pem'], root);
  });

  it('init [dir] and keys generate --out from where the user is', async () => {
    const base = await tempDir({}, 'pxp-paths-init-');
    await fs.mkdir(path.join(base, 'a'));
    await ok(['init', '../made', '--name', 'made_here', '--category', 'utility', '--yes'], path.join(base, 'a'));
    expect(await exists(path.join(base, 'made', 'config', 'plugin.yaml'))).toBe(true);
    // A plugin found upward does not move a non-project command's paths.
    const { sub } = await project();
    await ok(['keys', 'generate', '--out', 'k2.pem'], sub);
    expect(await exists(path.join(sub, 'k2.pem.pub'))).toBe(true);
  });
});

describe('-C <dir>: typed paths are relative to <dir>, wherever the process runs', () => {
  it('build --out, validate --against, verify, check --output, deploy render --out, init [dir]', async () => {
    const { root, sub, zip } = await project();
    const elsewhere = await tempDir({}, 'pxp-paths-else-');
    await ok(['-C', sub, 'build', '--out', '../c-out', '--no-sign'], elsewhere);
    expect(await exists(path.join(root, 'c-out', zip))).toBe(true);
    expect(await exists(path.join(path.dirname(root), 'c-out'))).toBe(false);
    expect(await fs.readdir(elsewhere)).toEqual([]);
    // -C given relatively: relative to the process's folder, then the typed path relative to it.
    const parent = path.dirname(root);
    await ok(['-C', path.join(path.basename(root), 'work'), 'build', '--out', 'rel-out', '--no-sign'], parent);
    expect(await exists(path.join(sub, 'rel-out', zip))).toBe(true);
    await ok(['-C', sub, 'build', '--no-sign'], elsewhere);
    expect(await exists(path.join(root, 'dist', zip))).toBe(true);

    await ok(['-C', sub, 'validate', '--against', `../c-out/${zip}`], elsewhere);
    await ok(['-C', sub, 'verify', `rel-out/${zip}`], elsewhere);
    await cli(['-C', sub, 'check', '--format', 'json', '--output', 'c.json'], elsewhere);
    expect(JSON.parse(await fs.readFile(path.join(sub, 'c.json'), 'utf8'))).toHaveProperty('checks');
    await ok(['-C', sub, 'deploy', 'render', '--out', 'dep'], elsewhere);
    expect(await exists(path.join(sub, 'dep', 'Dockerfile'))).toBe(true);
    await ok(['-C', elsewhere, 'init', 'p', '--name', 'made_by_c', '--category', 'utility', '--yes'], root);
    expect(await exists(path.join(elsewhere, 'p', 'config', 'plugin.yaml'))).toBe(true);
  });
});

describe('marketplace commands (the development marketplace)', () => {
  it("prepare and submit --archive from a subfolder and with -C; the default archive still the project's; publish; download --out --keyring; keys add", async () => {
    const { root, sub, name, zip } = await project('paths_mp');
    await ok(['build', '--out', '../out', '--no-sign'], sub);
    await ok(['build', '--no-sign'], sub);
    const listing = `${name}-1.0.0.listing.json`;

    await ok(['marketplace', 'prepare', '--archive', `../out/${zip}`], sub);
    expect(await exists(path.join(root, 'out', listing))).toBe(true);
    // Typed from the root's point of view: nothing there, exit 2, nothing written.
    const wrong = await cli(['--json', 'marketplace', 'prepare', '--archive', `out/${zip}`], sub);
    expect(wrong.exitCode).toBe(2);
    expect(JSON.parse(wrong.stdout).error.code).toBe('ARCHIVE_NOT_FOUND');
    // No --archive: the project's dist/ archive, from the subfolder too.
    await ok(['marketplace', 'prepare'], sub);
    expect(await exists(path.join(root, 'dist', listing))).toBe(true);

    const elsewhere = await tempDir({}, 'pxp-paths-else-');
    const s = await ok(['--json', '-C', sub, 'marketplace', 'submit', '--archive', `../out/${zip}`], elsewhere);
    expect(JSON.parse(s.stdout)).toMatchObject({ plugin: name, existing: false });
    expect(srv.countSubmissions(name)).toBe(1);
    await ok(['marketplace', 'publish'], sub);

    // download --out and --keyring (a saved GET /api/v1/keys), relative to -C <dir>.
    await fs.mkdir(path.join(root, 'dl'));
    await fs.mkdir(path.join(sub, 'dl-here'));
    await fs.writeFile(path.join(sub, 'market-keys.json'), await (await fetch(`${srv.api}/keys`)).text());
    await ok(['-C', sub, 'marketplace', 'download', `${name}@1.0.0`, '--out', '../dl', '--keyring', 'market-keys.json'], elsewhere);
    // The archive and the SBOM its build made (uploaded with it, verified on download).
    const sbom = zip.replace(/\.zip$/, '.cdx.json');
    expect(await listFiles(path.join(root, 'dl'))).toEqual([sbom, zip]);
    await ok(['marketplace', 'download', `${name}@1.0.0`, '--out', 'dl-here'], sub);
    expect(await listFiles(path.join(sub, 'dl-here'))).toEqual([sbom, zip]);

    // keys add <pubkey-file>, relative to -C <dir>.
    await ok(['keys', 'generate', '--out', 'pk.pem'], sub);
    const added = await ok(['-C', sub, 'marketplace', 'keys', 'add', 'pk.pem.pub'], elsewhere);
    expect(added.stdout).toMatch(/registered key [0-9a-f]{16}/);
  });

  it('serve --data-dir relative to -C <dir> (the real process)', async () => {
    const dir = await tempDir({}, 'pxp-paths-serve-');
    const elsewhere = await tempDir({}, 'pxp-paths-else-');
    const proc = execa(process.execPath, [BIN, '--json', '-C', dir, 'marketplace', 'serve', '--port', '0', '--data-dir', 'data'], {
      cwd: elsewhere,
      reject: false,
      env: { NO_COLOR: '1', CI: '1' },
      extendEnv: true,
      stdin: 'ignore',
      timeout: 60_000,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let text = '';
        proc.stdout.on('data', (b: Buffer) => {
          text += b.toString('utf8');
          if (text.includes('}')) resolve();
        });
        proc.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${r.stderr}`)), reject);
      });
      expect(await exists(path.join(dir, 'data', 'marketplace.db'))).toBe(true);
      expect(await fs.readdir(elsewhere)).toEqual([]);
    } finally {
      proc.kill('SIGTERM');
      await proc;
    }
  });
});
