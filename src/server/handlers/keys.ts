/**
 * Signing keys (docs/signing.md): the marketplace's own (GET /keys, public),
 * a developer's registered publisher keys (/me/keys), and a published
 * version's signatures.
 */
import type { FastifyRequest } from 'fastify';
import { callerOf, type RouteHandlers, type ServerCore } from '../core.js';
import { ApiError } from '../errors.js';
import { KeyFormatError, parsePublicKeyText } from '../../signing/keys.js';
import { KEY_PROOF_FORMAT, keyProofMatches } from '../../signing/key-proof.js';
import { publishedRow } from './plugins.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ApiError(400, 'BAD_REQUEST', 'expected a JSON object');
  return b as Record<string, unknown>;
}

export function keyHandlers(core: ServerCore): RouteHandlers<'marketplaceKeys' | 'addKey' | 'listKeys' | 'revokeKey' | 'rolloverKey' | 'signatures'> {
  const { signing } = core;
  return {
    async marketplaceKeys() {
      return { keys: await signing.marketplaceKeys() };
    },

    async addKey(req, reply) {
      const b = body(req);
      if (typeof b.public_key !== 'string')
        throw new ApiError(400, 'INVALID_KEY', '"public_key" is required: the PEM or one-line base64 of an Ed25519 public key');
      let key;
      try {
        key = parsePublicKeyText(b.public_key);
      } catch (err) {
        if (!(err instanceof KeyFormatError)) throw err;
        throw new ApiError(400, 'INVALID_KEY', `"public_key" is not usable: ${err.message}`);
      }
      const expires = b.expires_at ?? null;
      if (expires !== null && (typeof expires !== 'string' || !ISO.test(expires) || Number.isNaN(Date.parse(expires)))) {
        throw new ApiError(400, 'BAD_REQUEST', '"expires_at" must be null or an ISO 8601 UTC time such as 2027-01-31T00:00:00.000Z');
      }
      if (expires !== null && Date.parse(expires) <= core.now()) {
        throw new ApiError(400, 'KEY_EXPIRED', `"expires_at" ${expires} is in the past: the key could sign nothing`, { expires_at: expires });
      }
      // Proof of possession: the key's signature over the caller's id and the key id (signing/key-proof.ts).
      const user = callerOf(req).user;
      if (b.proof === undefined || b.proof === null) {
        throw new ApiError(
          400,
          'KEY_PROOF_REQUIRED',
          `"proof" is required: the key's signature over {"developer":"${user}","format":"${KEY_PROOF_FORMAT}","key_id":…} (docs/signing.md)`,
        );
      }
      if (typeof b.proof !== 'string' || !keyProofMatches(key, user, b.proof)) {
        throw new ApiError(
          400,
          'KEY_PROOF_INVALID',
          `"proof" is not this key's signature over your developer id ${user}: only the holder of the private key can register it`,
        );
      }
      const { record, created } = await signing.addKey(user, key, expires);
      if (created) core.log(`key: ${record.key_id} added by ${record.owner}`);
      return reply.code(created ? 201 : 200).send({ ...record, existing: !created });
    },

    async listKeys(req) {
      const keys = await signing.keysOf(callerOf(req).user);
      return { keys: await Promise.all(keys.map((k) => core.rollovers.decorate(k))) };
    },

    async rolloverKey(req, reply) {
      const r = await core.rollovers.accept(callerOf(req).user, body(req).statement);
      core.log(`key: ${r.rolled_over.key_id} rolled over to ${r.key.key_id} by ${r.key.owner}`);
      return reply.code(r.created ? 201 : 200).send(r);
    },

    async revokeKey(req) {
      const keyId = (req.params as { key_id: string }).key_id;
      const record = await signing.revoke(callerOf(req).user, keyId);
      core.log(`key: ${record.key_id} revoked by ${record.owner}`);
      return record;
    },

    async signatures(req) {
      const row = await publishedRow(core, req);
      return { ...(await signing.signaturesOf(row)), attestations: await core.attestations.servedOf(row) };
    },
  };
}
