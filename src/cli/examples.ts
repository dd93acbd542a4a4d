/**
 * The "Examples:" block of every command's --help, in one table keyed by
 * command path ('' is the program itself). `addExamples` hooks the table
 * into commander's help once; the JSON help document (`--json --help`)
 * carries the same entries. A test parses every example against the
 * program, so an example naming a command or flag that does not exist fails
 * the suite (test/fast/help-examples.test.ts).
 */
import type { Command } from 'commander';
import { commandPath } from './command-path.js';

export interface Example {
  /** The command line, as typed in a shell (redirections and pipes allowed). */
  command: string;
  /** What it does, in a few words. */
  description: string;
}

const P = 'plexichat-plugin';
const ex = (command: string, description: string): Example => ({ command: `${P} ${command}`, description });

export const EXAMPLES: Readonly<Record<string, readonly Example[]>> = {
  '': [
    ex('init plugins/greeter --name greeter --category utility', 'scaffold a plugin'),
    ex('-C plugins/greeter check', 'validate, test, build and verify it'),
    ex('--json validate', 'the same checks as one JSON document'),
    ex('help marketplace submit', 'the help of one command'),
  ],
  init: [
    ex('init plugins/greeter --name greeter --category utility', 'scaffold into a new folder'),
    ex('init --name advanced_analytics --category analytics --template analytics', 'the analytics template, here'),
    ex('init --name greeter --category utility --yes --force', 'no prompts; replace the generated files'),
  ],
  validate: [
    ex('validate', 'check the manifest and cross-check the code'),
    ex('validate --strict --security', 'warnings are errors; also run bandit'),
    ex('validate --against published', 'permission, hook and endpoint changes since the published version'),
    ex('validate --all', 'in a workspace: every plugin, output grouped, one summary'),
  ],
  test: [
    ex('test', "run the plugin's pytest suite"),
    ex('test -- -k dashboard -x', 'pass arguments to pytest'),
    ex('test --coverage --timeout 120', 'line coverage of src/; stop after 2 minutes'),
    ex('test --affected --base main', 'in a workspace: the plugins changed since main'),
  ],
  build: [
    ex('build', 'package dist/<name>-<version>.zip and its .sha256'),
    ex('build --out release --sign', 'into release/, signed with the default key'),
    ex('build --plugin greeter --plugin reporter', 'in a workspace: these two plugins, each with its imported libraries'),
    ex('build --wheels --split-platforms', 'pack the locked wheels, one archive per platform'),
  ],
  verify: [
    ex('verify dist/greeter-1.0.0.zip', 'check an archive as the marketplace will'),
    ex('verify dist/greeter-1.0.0.zip --key signing-key.pem.pub', "and its signature against the signer's key"),
    ex('verify greeter-1.0.0.zip --keyring keyring.json --signature greeter.sig', 'against a keyring, signature elsewhere'),
  ],
  keys: [ex('keys generate', 'create the default signing key pair'), ex('keys generate --out ci-key.pem', 'a key pair for CI, in this folder')],
  'keys generate': [
    ex('keys generate', 'signing-key.pem (and .pub) in the user config dir'),
    ex('keys generate --out ci-key.pem', 'ci-key.pem and ci-key.pem.pub here'),
    ex('keys generate --force', 'replace the existing default key'),
  ],
  'keys rollover': [
    ex('keys rollover --from signing-key.pem --to signing-key-2.pem', 'signing-key-2.pem.rollover.json: the old key hands over to the new one'),
    ex('keys rollover --from old.pem --to new.pem --out rollover.json', 'the statement in rollover.json'),
  ],
  version: [
    ex('version patch', '1.2.3 -> 1.2.4, with a dated CHANGELOG.md section'),
    ex('version minor --note "Add the weekly report" --git', 'commit and tag v1.3.0'),
    ex('version 2.0.0 --dry-run', 'show what would change'),
    ex('version patch --all --git', 'in a workspace: one commit, a tag <name>@<version> per plugin'),
  ],
  check: [
    ex('check', 'the pull-request gate'),
    ex('check --profile release', 'also the published-version and permission checks'),
    ex('check --format github --accept-permission file_write', 'annotations; accept a new permission'),
    ex('check --affected --base origin/main --format sarif --output check.sarif', 'in a workspace: the changed plugins, one SARIF log'),
  ],
  deploy: [ex('deploy render', 'the Dockerfile and both k8s manifests'), ex('deploy render --check --helm', 'CI: exit 1 with a diff when the files are stale')],
  'deploy render': [
    ex('deploy render', 'the Dockerfile and k8s/<env>-deployment.yaml for staging and production'),
    ex('deploy render --env production --image registry.example.com/greeter --helm', 'production only, with a Helm chart'),
    ex('deploy render --target staging', "with the staging target's deploy: settings (flags win)"),
    ex('deploy render --check --all', 'in a workspace: each plugin checked, exit 1 if one drifts'),
  ],
  dev: [
    ex('dev', 'serve the plugin on a free port, reload on save'),
    ex('dev --port 8080 --user alice --permissions message_read,file_write', 'as alice, with these permissions'),
    ex('dev --keep-state --no-reload', 'load once, keep storage'),
  ],
  deps: [ex('deps lock', 'pip resolves dependencies.packages into pylock.toml'), ex('deps sync', '.venv holds exactly the lock; test runs in it')],
  'deps lock': [
    ex('deps lock', 'pylock.toml for this machine'),
    ex('deps lock --python-version 3.11 --platform manylinux_2_17_x86_64', 'for another platform (wheels only)'),
    ex('deps lock --no-index --find-links wheels', 'offline, from a folder of wheels'),
    ex('deps lock --check', 'CI: exit 1 when the lock no longer satisfies the manifest'),
  ],
  'deps sync': [
    ex('deps sync', 'make .venv match pylock.toml (hash-checked)'),
    ex('deps sync --index-url https://packages.example.com/simple', 'from a private index'),
  ],
  sdk: [ex('sdk wheel --out dist', 'the SDK as a wheel, for pip'), ex('--json sdk wheel', "the wheel's path and sha256 as JSON")],
  'sdk wheel': [ex('sdk wheel', 'write plexichat_plugin_sdk-<version>-py3-none-any.whl here'), ex('sdk wheel --out dist', 'into dist/')],
  marketplace: [
    ex('marketplace login', 'store a token'),
    ex('marketplace submit', 'upload the archive for review'),
    ex('marketplace submit --target staging', 'to the marketplace a workspace or your config names staging'),
    ex('marketplace status --wait', 'wait for the review'),
  ],
  'marketplace login': [
    ex('marketplace login', 'prompts for the token on a terminal'),
    ex('marketplace login --token-stdin < token.txt', 'in a script'),
    ex('--marketplace http://127.0.0.1:8080 marketplace login', 'a token for another marketplace'),
  ],
  'marketplace logout': [
    ex('marketplace logout', 'forget the stored token'),
    ex('--marketplace http://127.0.0.1:8080 marketplace logout', 'for another marketplace'),
  ],
  'marketplace whoami': [ex('marketplace whoami', 'who the token belongs to, and its role'), ex('--json marketplace whoami', 'as JSON')],
  'marketplace prepare': [
    ex('marketplace prepare', 'dist/<name>-<version>.listing.json, checked'),
    ex('marketplace prepare --archive release/greeter-1.0.0.zip', 'for an archive made with build --out release'),
    ex('-C plugins/greeter marketplace prepare', 'for another plugin'),
    ex('marketplace prepare --archive out/greeter-1.0.0.zip', 'an archive made with build --out out'),
  ],
  'marketplace submit': [
    ex('marketplace submit', 'upload the archive and listing'),
    ex('marketplace submit --archive release/greeter-1.0.0.zip', 'an archive made with build --out release'),
    ex('marketplace submit --archive out/greeter-1.0.0.zip', 'verify and upload an archive made with build --out out'),
    ex('marketplace submit --accept-permission file_write', 'a newly required permission is intended'),
  ],
  'marketplace status': [
    ex('marketplace status', 'every submission of this plugin'),
    ex('marketplace status sub_4f2a9c01d3e5b7a8', 'one submission'),
    ex('marketplace status --wait --timeout 1800', 'until approved, rejected or published'),
  ],
  'marketplace review': [
    ex('marketplace review sub_4f2a9c01d3e5b7a8 --approve', 'approve (reviewer token)'),
    ex('marketplace review sub_4f2a9c01d3e5b7a8 --reject --notes "file_write is not needed"', 'reject, with notes'),
  ],
  'marketplace publish': [
    ex('marketplace publish', 'the approved submission of this version'),
    ex('marketplace publish sub_4f2a9c01d3e5b7a8 --channel beta', 'one submission, to beta'),
  ],
  'marketplace info': [
    ex('marketplace info greeter', 'the published versions of a plugin'),
    ex('--json marketplace info greeter', 'as JSON'),
    ex('marketplace info greeter --registry file:///srv/registry', 'from a static registry'),
  ],
  'marketplace keys': [
    ex('marketplace keys add ~/.config/plexichat-plugin/signing-key.pem.pub', 'register your public key'),
    ex('marketplace keys list', 'your keys, revoked ones too'),
  ],
  'marketplace keys add': [
    ex('marketplace keys add ~/.config/plexichat-plugin/signing-key.pem.pub', 'register a public key'),
    ex('marketplace keys add ci-key.pem.pub --expires 2027-12-31', 'a key that signs nothing from 2027-12-31'),
  ],
  'marketplace keys list': [ex('marketplace keys list', 'your registered keys'), ex('--json marketplace keys list', 'as JSON')],
  'marketplace keys rollover': [
    ex('marketplace keys rollover signing-key-2.pem.rollover.json', 'register the new key on the strength of the old one'),
    ex('--json marketplace keys rollover rollover.json', 'as JSON'),
  ],
  'marketplace keys revoke': [
    ex('marketplace keys revoke 3f9a1c0d5e7b2a64', 'refuse new uploads signed with this key'),
    ex('--json marketplace keys revoke 3f9a1c0d5e7b2a64', 'as JSON'),
  ],
  'marketplace download': [
    ex('marketplace download greeter', 'the highest published version, verified'),
    ex('marketplace download greeter --keyring marketplace-keys.json', 'trust only these marketplace keys'),
    ex('marketplace download greeter --registry https://plugins.example.com/registry', 'from a static registry, verified the same way'),
    ex('marketplace download greeter@1.2.0 --platform macosx_11_0_arm64 --out vendor', "one platform's archive of a version, into vendor/"),
  ],
  'marketplace index': [
    ex('marketplace index --to ./registry', 'the static registry of the default data dir, into a folder'),
    ex('marketplace index --data-dir ./market --to s3://plugins/registry', 'into an S3 bucket (AWS_* credentials)'),
  ],
  'marketplace mirror': [
    ex('marketplace mirror --from https://market.example.com --to ./registry greeter other_tool@2.0.0', 'two plugins, verified, for an air-gapped team'),
    ex(
      'marketplace mirror --from https://plugins.example.com/registry --to /media/usb/registry --keyring marketplace-keys.json',
      'everything a registry lists, against a pinned key',
    ),
  ],
  'marketplace serve': [
    ex('marketplace serve', 'a development marketplace on a free port'),
    ex('marketplace serve --developer-token dev-token-0001 --reviewer-token review-token-0001', 'tokens as flags (ps shows them; --tokens-file does not)'),
    ex('marketplace serve --index-to /srv/registry', 'keep a static registry current on every publish'),
    ex(
      'marketplace serve --database postgres://market@db:5432/market --blobs s3://plugins/market',
      'a replica on PostgreSQL + S3 (PGPASSWORD, AWS_* in the environment)',
    ),
  ],
  'marketplace migrate': [
    ex('marketplace migrate --database postgres://market@db/market --blobs s3://plugins/market', 'apply the schema migrations without serving'),
    ex('marketplace migrate --data-dir ~/market --sweep', 'also remove archives no row names'),
    ex('marketplace migrate --from ~/market --to-database postgres://market@db/market --to-blobs s3://plugins/market', 'copy a data dir into PostgreSQL + S3'),
    ex('marketplace migrate --from-database postgres://market@db/market --from-blobs s3://plugins/market --to ./market-copy', 'and back'),
  ],
  completion: [
    ex('completion bash > ~/.local/share/bash-completion/completions/plexichat-plugin', 'bash'),
    ex('completion zsh > "${fpath[1]}/_plexichat-plugin"', 'zsh'),
    ex('completion fish > ~/.config/fish/completions/plexichat-plugin.fish', 'fish'),
    ex('completion bash --values plugins', "the workspace's plugin names (what --plugin completes to)"),
  ],
};

/** The examples of a command (none for one the table does not name). */
export function examplesOf(cmd: Command): readonly Example[] {
  return EXAMPLES[commandPath(cmd)] ?? [];
}

/** The examples block as shown under a command's help: each a shell comment, then the command line. */
function formatExamples(examples: readonly Example[]): string {
  return `\nExamples:\n${examples.map((e) => `  # ${e.description}\n  ${e.command}`).join('\n')}`;
}

/** One hook on the program: every command's help ends with its examples. */
export function addExamples(program: Command): void {
  program.addHelpText('afterAll', ({ command }) => {
    const examples = examplesOf(command);
    return examples.length > 0 ? formatExamples(examples) : '';
  });
}
