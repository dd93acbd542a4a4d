/**
 * Container image references (`[registry[:port]/]path[:tag][@digest]`), by
 * the grammar of the distribution reference: a value that does not match
 * never reaches a Dockerfile or a manifest, so no flag can inject an
 * instruction or a line.
 */

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)';
const REPOSITORY = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

/** Split a reference, or undefined when it is not one. */
export function parseImageRef(ref: string): ImageRef | undefined {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (rest.length > 255 || !REPOSITORY.test(rest)) return undefined;
  return { repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Why a base image reference is refused, or undefined when it is pinned. */
export function baseImageProblem(ref: string): string | undefined {
  const r = parseImageRef(ref);
  if (!r) return `'${ref}' is not an image reference (e.g. python:3.12.11-slim-bookworm)`;
  if (r.digest) return undefined;
  if (!r.tag) return `'${ref}' has no tag, so it means :latest and changes under you`;
  if (r.tag === 'latest') return `'${ref}' uses the latest tag, which changes under you`;
  return undefined;
}

/** Why an --image repository is refused, or undefined. */
export function repositoryProblem(ref: string): string | undefined {
  const r = parseImageRef(ref);
  if (!r) return `'${ref}' is not an image repository (e.g. registry.example.com/team/my-plugin)`;
  if (r.tag !== undefined || r.digest !== undefined) return `'${ref}' carries a tag or digest; the tag is always the plugin's version`;
  return undefined;
}
