/**
 * What the route handlers and the server's Fastify plugins share: the
 * ServerCore (storage, clock, log, limits), the handler type, and the
 * Fastify type additions (route config and request decorations). Every
 * other server module imports from here; nothing here imports them back.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from './auth.js';
import type { MetaStore } from './storage/meta.js';
import type { BlobStore } from './storage/blobs.js';
import type { Access, RouteName } from './routes.js';
import type { VerifyFn } from './verify.js';
import type { ServerSigning } from './signing.js';
import type { ServerAttestations } from './attestations.js';
import type { ServerRollovers } from './rollover.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    routeName?: RouteName;
    access?: Access;
  }
  interface FastifyRequest {
    caller?: Caller;
    dropAnswer?: boolean;
    /** Test fault: the answer is held this long after the work is done. */
    holdAnswerMs?: number;
    /** Test fault: the upload write fails with ENOSPC after this many bytes. */
    diskFullAfter?: number;
  }
}

/** What the handlers need from the server. */
export interface ServerCore {
  /** Users, keys, plugins, submissions, idempotency (storage/meta.ts: SQLite or PostgreSQL). */
  meta: MetaStore;
  /** Archives by digest and the server's named files (storage/blobs.ts: a folder or a bucket). */
  blobs: BlobStore;
  verify: VerifyFn;
  /** Publisher keys, upload signatures and the marketplace's counter-signature (signing.ts). */
  signing: ServerSigning;
  /** The SBOMs and provenance envelopes that come with uploads (attestations.ts). */
  attestations: ServerAttestations;
  /** Key rollover statements (rollover.ts). */
  rollovers: ServerRollovers;
  autoApprove: boolean;
  maxUploadBytes: number;
  now: () => number;
  log: (line: string) => void;
  /** Idempotency keys being processed: `${user}\n${key}`. */
  inflight: Set<string>;
  /** Digests committed to the store whose row is not yet inserted (by this process). */
  pendingDigests: Map<string, number>;
  /** After a publish commits: rewrite the plugin's part of the static registry (serve --index-to); never throws. */
  afterPublish?: (plugin: string) => Promise<void>;
}

/** The server's life: set by close(), read by the lifecycle hooks. */
export interface ServerState {
  stopping: boolean;
  /** Connections held open by a `hang` fault; close() destroys them. */
  hung: Set<Socket>;
}

export interface RequestRecord {
  route: RouteName | undefined;
  method: string;
  url: string;
  status: number;
  requestId: string;
  idempotencyKey?: string;
}

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** Handlers for some routes; handlers.ts joins them into one for every RouteName. */
export type RouteHandlers<N extends RouteName = RouteName> = Record<N, Handler>;

/** The caller set by the auth plugin (every route but the public ones has one). */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new Error('no caller: the route is public but its handler needs a token');
  return req.caller;
}
