/**
 * Every command and flag is declared here. Actions import their command
 * module only when that command runs, so `--help` and `--version` stay close
 * to bare Node start-up. Declare no option defaults that env or config must
 * be able to override.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Ctx } from '../io/context.js';
import { addExamples } from './examples.js';

/** What a command module exports: work that returns data, and its rendering. */
export interface CommandModule<O, R> {
  run(opts: O, ctx: Ctx): Promise<R>;
  /** Human rendering of the result (not called under --json). */
  render?(result: R, ctx: Ctx): void;
  /** Exit code for a result that is data but still a failure (e.g. validation errors). */
  exitCode?(result: R): number;
  /**
   * Human rendering of what a failed run's error carries in its details
   * (diagnostics, findings), before the boundary prints the error's one
   * line. Not called under --json: the error document carries the details.
   */
  renderError?(err: unknown, ctx: Ctx): void;
}

export type Runner = <O, R>(load: () => Promise<CommandModule<O, R>>, opts: O, command: Command) => Promise<void>;

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}.`);
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('expected a number of seconds greater than 0.');
  }
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The flags that run a command over the plugins of a workspace (docs/workspace.md). */
function workspaceFlags(c: Command): Command {
  return c
    .option('--all', 'in a workspace: run for every plugin (the default at the workspace root)')
    .option('--plugin <name>', 'in a workspace: run for this plugin, by name or folder (repeatable)', collect)
    .option('--affected', 'in a workspace: run for the plugins changed since --base (their files or a shared library they import)')
    .option('--base <ref>', 'with --affected: the git commit, branch or tag to compare with')
    .option('--head <ref>', 'with --affected: compare --base with this commit instead of the work tree')
    .option('--jobs <n>', 'in a workspace: plugins run at once (default: the number of cores)', int('--jobs', 1, 64));
}

// long-function: the registration table, one .command() block per command in help order; split, the CLI's surface could not be read in one place
export function createProgram(version: string, runner: Runner, name = 'plexichat-plugin'): Command {
  const program = new Command(name);
  program
    .description('Scaffold, validate, test, package and publish PlexiChat plugins.')
    .version(version, '-V, --version', 'print the version')
    .option('--json', 'print one JSON document on stdout (for scripts)')
    .option('-v, --verbose', 'show details and stack traces')
    .option('-q, --quiet', 'print only results and errors')
    .option('--no-color', 'disable colours (NO_COLOR and FORCE_COLOR are honoured too)')
    .option('-C, --cwd <dir>', 'run as if started in <dir>')
    .option('--marketplace <url>', 'marketplace URL (or PLEXICHAT_MARKETPLACE_URL)')
    .showSuggestionAfterError(true)
    .enablePositionalOptions(false)
    // Every subcommand's --help lists the global flags too (inherited by the commands below).
    .configureHelp({ showGlobalOptions: true });
  // Every command's help ends with its examples (src/cli/examples.ts).
  addExamples(program);

  program
    .command('init')
    .argument('[dir]', 'directory to create the plugin in (default: the current directory)')
    .description('scaffold a new plugin project from a template')
    .option('--name <name>', 'plugin name (snake_case, 3-64 characters)')
    .option('--category <category>', 'marketplace category')
    .option('--template <template>', 'template to use (minimal, analytics)')
    .option('--description <text>', 'one-line description')
    .option('--author <name>', 'author shown in the marketplace')
    .option('--license <spdx>', 'licence identifier, e.g. MIT')
    .option('-y, --yes', 'do not prompt; use flags and defaults')
    .option('-f, --force', 'scaffold into a non-empty directory, replacing files it generates')
    .action((dir: string | undefined, opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/init.js'), { dir, ...opts }, cmd));

  program
    .command('validate')
    .description('check config/plugin.yaml and cross-check it against the code in src/')
    .option('--strict', 'treat warnings as errors')
    .option('--against <archive|published>', "list permission, hook and endpoint changes since an earlier archive (.zip) or the latest 'published' version")
    .option('--security', "also run bandit (Python's security linter) over src/: HIGH findings are errors, MEDIUM warnings, LOW notes")
    .addOption(
      new Option('--fail-on <severity>', 'with --security: the lowest bandit severity that fails validation (default high)').choices(['low', 'medium', 'high']),
    )
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/validate.js'), opts, cmd));
  workspaceFlags(program.commands.at(-1)!);

  program
    .command('test')
    .argument('[pytestArgs...]', 'arguments passed to pytest (after --)')
    .description("run the plugin's pytest suite with the bundled Python SDK")
    .option('--python <path>', 'Python interpreter to use (or PLEXICHAT_PYTHON)')
    .option('--coverage', 'measure coverage (needs pytest-cov)')
    .option('--timeout <seconds>', 'kill the test run after this many seconds', seconds)
    .action((pytestArgs: string[], opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/test.js'), { pytestArgs, ...opts }, cmd));
  workspaceFlags(program.commands.at(-1)!);

  program
    .command('build')
    .description('validate, then package dist/<name>-<version>.zip, its .sha256 and its SBOM (.cdx.json)')
    .option('-o, --out <dir>', 'output directory (default: dist)')
    .option('--dry-run', 'list what would be packed, write nothing')
    .option('--explain', 'with --dry-run: show the rule that kept or dropped each file')
    .option('--include-tests', 'pack tests/ too')
    .option('--allow-secret <path>', 'pack this file although it looks like a secret; the path inside the project, as build prints it (repeatable)', collect)
    .option('--sign', 'sign the archive (.zip.sig) and its build provenance (.intoto.jsonl); fails when there is no key')
    .option('--no-sign', 'do not sign, even when a signing key is configured')
    .option('--key <file>', 'private key to sign with (else PLEXICHAT_SIGNING_KEY, else the default key file)')
    .option('--wheels', 'pack the wheels pylock.toml locks under wheels/, checked against their sha256')
    .option('--split-platforms', 'with --wheels: one archive per platform, <name>-<version>-<platform>.zip, when a wheel is platform-specific')
    .option('--find-links <dir>', 'with --wheels: a wheelhouse to take wheels from before the cache and the index (repeatable)', collect)
    .option('--index-url <url>', 'with --wheels: the index pip downloads a wheel missing from the cache from')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/build.js'), opts, cmd));
  workspaceFlags(program.commands.at(-1)!);

  program
    .command('verify')
    .argument('<archive>', 'plugin archive (.zip)')
    .description('check an archive the way the marketplace will, its signature, SBOM and provenance')
    .option('--key <pubkey-file>', "check the signature against this public key (the signer's .pub)")
    .option('--keyring <file>', 'check the signature against the keys of this keyring (docs/signing.md)')
    .option('--signature <file>', 'the signature document (default: <archive>.sig)')
    .option('--expect <name[@version]>', 'the plugin (and version) the archive must be; WRONG_PLUGIN otherwise')
    .action((archive: string, opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/verify.js'), { archive, ...opts }, cmd));

  const keys = program.command('keys').description('Ed25519 signing keys for signed archives');
  keys
    .command('generate')
    .description('create a signing key pair (private key mode 0600, public key beside it as <file>.pub)')
    .option('-o, --out <file>', 'private key file (default: signing-key.pem in the user config dir)')
    .option('-f, --force', 'replace an existing key file')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/keys/generate.js'), opts, cmd));
  keys
    .command('rollover')
    .description('hand over from an old key to a new one: a statement signed by both (docs/signing.md, "Keys over time")')
    .option('--from <file>', 'the old private key (the one keyrings and the marketplace trust)')
    .option('--to <file>', 'the new private key (make it with `keys generate --out <file>`)')
    .option('-o, --out <file>', 'where to write the statement (default: <new key file>.rollover.json)')
    .option('-f, --force', 'replace an existing statement file')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/keys/rollover.js'), opts, cmd));

  program
    .command('version')
    .argument('<bump>', 'patch, minor, major, or a version X.Y.Z')
    .description('bump plugin.version (keeping the manifest as written) and add a dated CHANGELOG.md section')
    .option('--pre <id>', 'make it a prerelease, e.g. --pre rc gives 1.3.0-rc.0')
    .option('--note <text>', 'a line for the CHANGELOG.md section (repeatable)', collect)
    .option('--git', 'commit the two files and tag v<version> (needs a clean work tree)')
    .option('--dry-run', 'check everything and show what would change, write nothing')
    .action((bump: string, opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/version.js'), { bump, ...opts }, cmd));
  workspaceFlags(program.commands.at(-1)!);

  program
    .command('check')
    .description('one CI gate: validate, test, build and verify, changelog, docs (and on release: version and permissions)')
    .option('--profile <profile>', 'pr (default) or release (adds the published-version and permission checks)')
    .option('--format <format>', 'text (default), json, sarif or github (annotations)')
    .option('--allow-skipped', 'with --profile release: a check that cannot run is a warning, not an error')
    .option('--accept-permission <name>', 'accept a newly required permission (repeatable)', collect)
    .option('-o, --output <file>', 'write the json, sarif or github document to this file')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/check.js'), opts, cmd));
  workspaceFlags(program.commands.at(-1)!);

  program
    .command('deploy')
    .description('render deployment files from the manifest (deploy render)')
    .command('render')
    .description('write the Dockerfile, k8s/<env>-deployment.yaml and (--helm) a Helm chart from config/plugin.yaml')
    .option('--env <env>', 'staging or production (repeatable; default: both)', collect)
    .option('-o, --out <dir>', 'folder inside the project to write into (default: the project root)')
    .option('--image <repo>', 'image repository; the tag is the plugin version (default: plexichat/<name>)')
    .option('--base-image <ref>', 'base image with a pinned tag or digest (default: a pinned python slim image)')
    .option('--helm', 'also render a Helm chart that renders to the same objects')
    .option('--platform-namespace <ns>', "the NetworkPolicy admits the platform's pods from this namespace (default: plexichat)")
    .option('--platform-pods <labels>', "the platform's pod labels, name=value[,...] (default: app.kubernetes.io/name=plexichat)")
    .option('--scraper-namespace <ns>', "the NetworkPolicy admits the metrics scraper's pods from this namespace (default: monitoring)")
    .option('--scraper-pods <labels>', "the scraper's pod labels, name=value[,...] (default: app.kubernetes.io/name=prometheus)")
    .option('--check', 'write nothing; exit 1 with a diff when the files on disk are not what would be rendered')
    .option('-f, --force', 'replace files edited by hand or not made by deploy render')
    .option('--target <name>', "render with this named target's deploy: settings (the flags win)")
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/deploy.js'), opts, cmd));
  workspaceFlags(program.commands.at(-1)!.commands.at(-1)!);

  program
    .command('dev')
    .description('run the plugin on this machine: endpoints and hooks over HTTP, reload on save, a console at /__dev/')
    .option('--port <port>', 'port to listen on; 0 picks a free one (default: 0)', int('port', 0, 65535))
    .option('--host <host>', 'address to listen on (default: 127.0.0.1; another needs --allow-remote)')
    .option('--allow-remote', 'allow a --host that is not loopback (the dev host has no authentication)')
    .option('--allow-host <name>', "also answer requests made to this host name (repeatable; other names than this machine's are refused)", collect)
    .option('--user <id>', 'user id of calls without an X-PlexiChat-User header (default: dev_user)')
    .option('--permissions <list>', "comma-separated permissions of calls without an X-PlexiChat-Permissions header (default: the manifest's)")
    .option('--keep-state', "keep the plugin's storage across reloads")
    .option('--no-reload', 'do not watch the files; load the plugin once')
    .option('--python <path>', 'Python interpreter to use (or PLEXICHAT_PYTHON)')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/dev.js'), opts, cmd));

  const sdk = program.command('sdk').description('the bundled Python SDK, for use outside the CLI');
  sdk
    .command('wheel')
    .description("write the SDK as a wheel (built offline) to pip install into a plugin's own virtual environment")
    .option('--out <dir>', 'folder to write the wheel to (default: the current directory)')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/sdk.js'), opts, cmd));

  const deps = program.command('deps').description("lock the plugin's Python dependencies (pylock.toml) and sync its .venv to the lock");
  const pipFlags = (c: Command) =>
    c
      .option('--python <path>', 'the Python whose pip runs (or PLEXICHAT_PYTHON; default: the first python3 on PATH)')
      .option('--index-url <url>', "the package index (pip's --index-url; pip.conf and PIP_INDEX_URL apply too)")
      .option('--extra-index-url <url>', 'another index (repeatable)', collect)
      .option('--find-links <dir|url>', 'a folder or page of distributions, e.g. an offline wheelhouse (repeatable)', collect)
      .option('--no-index', 'use --find-links only, never an index');
  pipFlags(
    deps
      .command('lock')
      .description('resolve dependencies.packages with pip into pylock.toml (PEP 751): exact versions and sha256 of every file')
      .option('--check', 'change nothing: fail (exit 1) when pylock.toml no longer satisfies config/plugin.yaml (for CI)')
      .option('--python-version <x.y>', "a Python version to lock for (repeatable; default: the lock's own targets, else this machine's)", collect)
      .option('--platform <tag>', 'a wheel platform to lock for, e.g. manylinux_2_17_x86_64 (repeatable; wheels only)', collect),
  ).action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/deps/lock.js'), opts, cmd));
  pipFlags(deps.command('sync').description('make .venv hold exactly the locked distributions (hash-checked) and the SDK; test, dev and check use it')).action(
    (opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/deps/sync.js'), opts, cmd),
  );

  const mp = program.command('marketplace').description('publish through the PlexiChat marketplace');

  mp.command('login')
    .description('store a marketplace token (prompted on a TTY, or --token-stdin)')
    .option('--token-stdin', 'read the token from standard input')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/login.js'), opts, cmd));
  mp.command('logout')
    .description('forget the stored token')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/logout.js'), opts, cmd));
  mp.command('whoami')
    .description('show who the token belongs to')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/whoami.js'), opts, cmd));
  mp.command('prepare')
    .description('write the marketplace listing next to the archive and check it is complete')
    .option('--archive <path>', 'use this archive (made with `build --out`) instead of dist/<name>-<version>.zip')
    .option('--rebuild', 'build dist/<name>-<version>.zip from the sources first (as `build` does)')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/prepare.js'), opts, cmd));
  mp.command('submit')
    .description('upload the archive and listing for review')
    .option('--archive <path>', 'upload this archive (made with `build --out`) instead of dist/<name>-<version>.zip')
    .option('--rebuild', 'build dist/<name>-<version>.zip from the sources first (as `build` does)')
    .option('--timeout <seconds>', 'give up after this many seconds in all, retries included (default 600)', seconds)
    .option('--accept-permission <name>', 'submit although this permission is newly required since the published version (repeatable)', collect)
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/submit.js'), opts, cmd));
  mp.command('status')
    .argument('[id]', 'submission id (default: every submission of the current plugin)')
    .description('show the review state')
    .option('--wait', 'poll until approved, rejected or published')
    .option('--timeout <seconds>', 'give up after this many seconds (with --wait: the whole wait, default 900)', seconds)
    .action((id: string | undefined, opts: Record<string, unknown>, cmd: Command) =>
      runner(() => import('../commands/marketplace/status.js'), { id, ...opts }, cmd),
    );
  mp.command('review')
    .argument('<id>', 'submission id')
    .description("record a reviewer's decision (reviewer token)")
    .option('--approve', 'approve the submission')
    .option('--reject', 'reject the submission')
    .option('--notes <text>', 'notes for the developer')
    .action((id: string, opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/review.js'), { id, ...opts }, cmd));
  mp.command('publish')
    .argument('[id]', 'submission id (default: the approved submission of the current version)')
    .description('publish an approved submission')
    .addOption(new Option('--channel <channel>', 'release channel').choices(['stable', 'beta']))
    .action((id: string | undefined, opts: Record<string, unknown>, cmd: Command) =>
      runner(() => import('../commands/marketplace/publish.js'), { id, ...opts }, cmd),
    );
  mp.command('info')
    .argument('<name>', 'plugin name')
    .description('show the published versions of a plugin')
    .option('--registry <url>', 'read a static registry (https://… or file://…; or PLEXICHAT_REGISTRY_URL) instead of the marketplace server')
    .action((name: string, opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/info.js'), { name, ...opts }, cmd));
  const mkeys = mp.command('keys').description('publisher keys the marketplace checks signed uploads against');
  mkeys
    .command('add')
    .argument('<pubkey-file>', 'public key file (the .pub that `keys generate` wrote)')
    .description('register a public key with your account')
    .option('--expires <time>', 'the key signs nothing at or after this date/time (ISO 8601)')
    .option('--key <file>', 'its private key, to prove you hold it (default: the file beside the .pub, else PLEXICHAT_SIGNING_KEY or the default key)')
    .action((file: string, opts: Record<string, unknown>, cmd: Command) =>
      runner(() => import('../commands/marketplace/keys.js').then((m) => m.add), { file, ...opts }, cmd),
    );
  mkeys
    .command('list')
    .description('show your registered keys, revoked ones too')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/keys.js').then((m) => m.list), opts, cmd));
  mkeys
    .command('revoke')
    .argument('<key-id>', 'the key id (16 hex digits)')
    .description('revoke a key: new uploads signed with it are refused, earlier releases keep verifying')
    .action((id: string, opts: Record<string, unknown>, cmd: Command) =>
      runner(() => import('../commands/marketplace/keys.js').then((m) => m.revoke), { id, ...opts }, cmd),
    );
  mkeys
    .command('rollover')
    .argument('<statement-file>', 'the statement `keys rollover` wrote')
    .description("register the new key of a rollover statement on the strength of the old key's signature; the old key is marked rolled over")
    .action((file: string, opts: Record<string, unknown>, cmd: Command) =>
      runner(() => import('../commands/marketplace/keys.js').then((m) => m.rollover), { file, ...opts }, cmd),
    );
  mp.command('download')
    .argument('<name[@version]>', 'plugin name, optionally @version (default: the highest published)')
    .description('download a published archive, verifying both signatures before writing it')
    .option('-o, --out <dir>', 'folder to write <name>-<version>.zip (and its .sig) into (default: the current one)')
    .option('--keyring <file>', "trust only these marketplace keys (a saved GET /api/v1/keys), not the server's list")
    .option('--registry <url>', 'read a static registry (https://… or file://…; or PLEXICHAT_REGISTRY_URL) instead of the marketplace server')
    .option('--platform <tag>', "a version built with --split-platforms: the platform's archive (default: this machine's), e.g. manylinux_2_17_x86_64")
    .action((spec: string, opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/download.js'), { spec, ...opts }, cmd));
  mp.command('index')
    .description('write the static registry of a development marketplace (stopped) from its data dir')
    .option('--to <dir|s3://bucket/prefix>', 'where to write the registry (a folder is made if missing)')
    .option('--data-dir <dir>', 'the data dir of `marketplace serve` (default: ~/.local/share/plexichat-plugin/marketplace)')
    .option('--s3-endpoint <url>', 'an S3-compatible store (or AWS_ENDPOINT_URL_S3); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/index.js'), opts, cmd));
  mp.command('mirror')
    .argument('[name[@version]...]', 'plugins to copy (default: all the source lists; every version unless @version)')
    .description('copy published plugins from a marketplace or static registry into a static registry, verified before writing')
    .option('--from <url>', 'a marketplace server or a static registry (https://…, http://… or file://…)')
    .option('--to <dir|s3://bucket/prefix>', 'the static registry to write into (a folder is made if missing)')
    .option('--keyring <file>', "trust only these marketplace keys, not the source's published keys")
    .option('--s3-endpoint <url>', 'an S3-compatible store (or AWS_ENDPOINT_URL_S3); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
    .action((specs: string[], opts: Record<string, unknown>, cmd: Command) =>
      runner(() => import('../commands/marketplace/mirror.js'), { specs, ...opts }, cmd),
    );
  mp.command('serve')
    .description('run the development marketplace on this machine')
    .option('--host <host>', 'address to listen on (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on; 0 picks a free one (default: 0)', int('port', 0, 65535))
    .option('--data-dir <dir>', 'where the database and archives live (default: ~/.local/share/plexichat-plugin/marketplace)')
    .option('--developer-token <token>', 'accept this developer token (repeatable)', collect)
    .option('--reviewer-token <token>', 'accept this reviewer token')
    .option('--tokens-file <file>', 'accept the tokens of this file: "developer <token>" / "reviewer <token>" lines (not shown by ps, unlike the flags)')
    .option(
      '--signing-key <file>',
      "the marketplace's own Ed25519 key (from keys generate), kept out of the data dir and the bucket; default: made on first start and kept there",
    )
    .option('--auto-approve', 'approve every valid submission at once')
    .option('--max-upload-mb <n>', 'largest accepted archive in MB (default: 100)', int('--max-upload-mb', 1, 10_000))
    .option('--index-to <dir|s3://bucket/prefix>', 'keep a static registry there: written at start and on every publish')
    .option('--database <url>', 'keep the metadata in PostgreSQL: postgres://user@host/db, no password (PGPASSWORD or ~/.pgpass); with --blobs')
    .option('--blobs <url>', 'keep the archives in an S3-compatible bucket: s3://bucket/prefix (AWS_* credentials); with --database')
    .option('--s3-endpoint <url>', 'the S3 endpoint of a non-AWS store (path-style), e.g. http://127.0.0.1:9000, for --blobs and --index-to')
    .option(
      '--sweep-grace <seconds>',
      'keep an archive no row names this long before the sweep removes it (shared storage; default: 3600)',
      int('--sweep-grace', 0, 31_536_000),
    )
    .option('--config <file>', 'read database, blobs, s3_endpoint and sweep_grace_seconds from this JSON file')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/serve.js'), opts, cmd));
  mp.command('migrate')
    .description("bring the marketplace's schema up to date, sweep orphaned archives, or copy one storage into another")
    .option('--data-dir <dir>', 'the SQLite + folder storage to migrate (default: as serve)')
    .option('--database <url>', 'the PostgreSQL database to migrate (with --blobs), as serve')
    .option('--blobs <url>', 'the S3 blob store (with --database), as serve')
    .option('--s3-endpoint <url>', 'the S3 endpoint of a non-AWS store (path-style)')
    .option('--config <file>', 'read database, blobs, s3_endpoint and sweep_grace_seconds from this JSON file')
    .option('--sweep', 'also remove archives no row names, older than the grace')
    .option(
      '--sweep-grace <seconds>',
      'with --sweep: the grace in seconds (default: 3600 on shared storage, 0 in a data dir)',
      int('--sweep-grace', 0, 31_536_000),
    )
    .option('--from <dir>', 'copy every row and archive of this data dir ...')
    .option('--from-database <url>', '... or of this database (with --from-blobs)')
    .option('--from-blobs <url>', '... and this bucket')
    .option('--to <dir>', 'into this new data dir ...')
    .option('--to-database <url>', '... or into this empty database (with --to-blobs)')
    .option('--to-blobs <url>', '... and this bucket')
    .action((opts: Record<string, unknown>, cmd: Command) => runner(() => import('../commands/marketplace/migrate.js'), opts, cmd));

  // Every marketplace command but serve talks to a marketplace: --target names one (docs/workspace.md).
  const targetFlag = (c: Command) => c.option('--target <name>', 'the named marketplace to use (targets: in plexichat-workspace.yaml or your config.json)');
  for (const c of mp.commands) {
    if (c.name() === 'serve') continue;
    if (c.commands.length) c.commands.forEach(targetFlag);
    else targetFlag(c);
  }

  program
    .command('completion')
    .argument('<shell>', 'bash, zsh or fish')
    .description('print a shell completion script')
    .option('--values <list>', 'print the names the script offers here instead: plugins (of the workspace) or targets, one a line')
    .action((shell: string, opts: Record<string, unknown>, cmd: Command) => runner(() => import('./completion.js'), { shell, program: cmd, ...opts }, cmd));

  return program;
}
