/**
 * The Dockerfile and its ignore file. The image holds exactly the files
 * `build` packs (the ignore file allows those and nothing else) and the
 * plugin SDK, runs as a numeric non-root user, installs the manifest's
 * `dependencies.packages`, and starts the SDK's plugin host without reload
 * and the dev console, with a health check on its /healthz endpoint.
 */
import type { Manifest } from '../core/manifest/index.js';
import { CONTAINER_PORT, HEALTH_PATH, RUN_AS } from './names.js';

/** Pinned default base image (override with --base-image). */
export const DEFAULT_BASE_IMAGE = 'python:3.12.11-slim-bookworm';

/** Where things live inside the image. */
export const IMAGE_PLUGIN_DIR = '/opt/plexichat/plugin';
export const IMAGE_SDK_DIR = '/opt/plexichat/sdk';
/** Where the ConfigMap's manifest is mounted (Kubernetes only). */
export const IMAGE_CONFIG_DIR = '/etc/plexichat';
/** Where the request-signing Secret is mounted (Kubernetes), and its key (the file's name). */
export const IMAGE_AUTH_DIR = '/etc/plexichat-auth';
export const AUTH_SECRET_KEY = 'secret';

/** The plugin host's command line inside the image (the SDK's `plexichat_plugin_sdk.host`). */
export function hostCommand(port = CONTAINER_PORT): string[] {
  return [
    'python3',
    '-m',
    'plexichat_plugin_sdk.host',
    '--project',
    IMAGE_PLUGIN_DIR,
    '--host',
    '0.0.0.0',
    // Every call but /healthz and /metrics must carry the platform's signature made with this
    // secret; the host does not start without it (docs/deploy.md: the Secret).
    '--auth-secret-file',
    `${IMAGE_AUTH_DIR}/${AUTH_SECRET_KEY}`,
    '--port',
    String(port),
    '--no-reload',
    '--no-console',
  ];
}

/** The health check command (Python's standard library: no curl in slim images). */
export function healthCheckCommand(port = CONTAINER_PORT): string[] {
  return ['python3', '-c', `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${port}${HEALTH_PATH}', timeout=2)`];
}

export interface DockerfileInput {
  manifest: Manifest;
  baseImage: string;
  /** The vendored SDK folder, relative to the build context (the project root), posix. */
  sdkDir: string;
}

/** A value inside a double-quoted Dockerfile word: no expansion, one line. */
function quoted(value: string): string {
  return `"${value
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

function execForm(args: string[]): string {
  return `[${args.map((a) => JSON.stringify(a)).join(', ')}]`;
}

export function renderDockerfile(i: DockerfileInput): string {
  const { plugin, metadata, dependencies } = i.manifest;
  const packages = dependencies?.packages ?? [];
  const labels: [string, string][] = [
    ['org.opencontainers.image.title', plugin.name],
    ['org.opencontainers.image.version', String(plugin.version)],
    ['org.opencontainers.image.description', plugin.description],
    ['org.opencontainers.image.authors', plugin.author],
  ];
  if (metadata.license) labels.push(['org.opencontainers.image.licenses', metadata.license]);
  if (metadata.homepage) labels.push(['org.opencontainers.image.url', metadata.homepage]);

  const lines = [
    `# ${plugin.name} ${plugin.version}: the plugin and the PlexiChat plugin SDK, served by the SDK's plugin host.`,
    '# Build from the project root: docker build -t <image>:<version> .',
    `ARG BASE_IMAGE=${i.baseImage}`,
    '',
    '# Stage 1: the build context holds only what `plexichat-plugin build` packs plus the SDK',
    '# (see the ignore file); make it world-readable and read-only.',
    'FROM ${BASE_IMAGE} AS files',
    'COPY . /context/',
    `RUN mkdir -p /out && mv /context/${i.sdkDir} /out/sdk \\`,
    '    && find /context -depth -type d -empty -delete \\',
    '    && mkdir -p /context && mv /context /out/plugin \\',
    '    && chmod -R a+rX,go-w /out',
    '',
    'FROM ${BASE_IMAGE}',
    `LABEL ${labels.map(([k, v]) => `${k}=${quoted(v)}`).join(' \\\n      ')}`,
    'ENV PYTHONDONTWRITEBYTECODE=1 \\',
    '    PYTHONUNBUFFERED=1 \\',
    `    PYTHONPATH=${IMAGE_SDK_DIR} \\`,
    '    HOME=/tmp',
  ];
  if (packages.length > 0) {
    lines.push(
      '# dependencies.packages from config/plugin.yaml',
      `RUN ${execForm(['python3', '-m', 'pip', 'install', '--no-cache-dir', '--disable-pip-version-check', ...packages])}`,
    );
  }
  lines.push(
    `COPY --from=files /out/sdk/ ${IMAGE_SDK_DIR}/`,
    `COPY --from=files /out/plugin/ ${IMAGE_PLUGIN_DIR}/`,
    `WORKDIR ${IMAGE_PLUGIN_DIR}`,
    `USER ${RUN_AS}:${RUN_AS}`,
    `EXPOSE ${CONTAINER_PORT}`,
    `HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ${execForm(healthCheckCommand())}`,
    `ENTRYPOINT ${execForm(hostCommand())}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Escape a path for a .dockerignore line (Go filepath.Match syntax). */
function ignorePattern(p: string): string {
  return p.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

/**
 * The ignore file: everything is excluded except the files `build` packs
 * and the vendored SDK, so the image never holds tests, caches, secrets or
 * the deploy files themselves.
 */
export function renderDockerignore(packed: readonly string[], sdkDir: string): string {
  const lines = [
    '# The image gets exactly the files `plexichat-plugin build` packs, and the plugin SDK.',
    '# A file added to the project is missing here until you render again (`deploy render --check` notices).',
    '*',
    ...packed.map((p) => `!${ignorePattern(p)}`),
    `!${ignorePattern(sdkDir)}`,
    '**/__pycache__',
    '**/*.py[co]',
  ];
  return `${lines.join('\n')}\n`;
}
