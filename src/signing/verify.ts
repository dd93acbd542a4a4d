/**
 * Checking a signature document against an archive and a set of trusted
 * keys. The one rule for the CLI's `verify`, `marketplace download` and
 * the development marketplace's submit and publish: each failure has its
 * own code (docs/signing.md "Errors"), and the first failing check answers.
 *
 * Order: the key is known (UNKNOWN_KEY), the signature is that key's over
 * the document's fields (SIGNATURE_INVALID, the "signed fields"), the key
 * was valid when the signature was made (KEY_REVOKED, KEY_EXPIRED), the
 * document names the archive's plugin and version (WRONG_PLUGIN), and the
 * archive is the one that was signed (SIGNATURE_INVALID, naming the digest
 * that differs: the archive's sha256 and/or its member list's). Pure.
 */
import { createHash } from 'node:crypto';
import type { ArchiveFacts } from './archive.js';
import { signatureMatches, type SignatureDocument, type SignatureRole } from './document.js';
import type { TrustedKey } from './keyring.js';

export type SignatureCode = 'SIGNATURE_MISSING' | 'SIGNATURE_MALFORMED' | 'SIGNATURE_INVALID' | 'UNKNOWN_KEY' | 'KEY_REVOKED' | 'KEY_EXPIRED' | 'WRONG_PLUGIN';

export interface SignatureProblem {
  code: SignatureCode;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

/** Something worth saying about a signature that passed. */
export interface SignatureNote {
  code: 'KEY_REVOKED_LATER' | 'SIGNATURE_UNCHECKED';
  message: string;
}

export type SignatureCheck = { ok: true; key?: TrustedKey; notes: SignatureNote[] } | ({ ok: false; notes: SignatureNote[] } & SignatureProblem);

export interface CheckInput {
  doc: SignatureDocument;
  facts: ArchiveFacts;
  /** The plugin the archive's manifest names, when it could be read. */
  plugin?: { name: string; version: string };
  /** Trusted keys; undefined checks only that the document matches the archive (no authenticity). */
  keys?: TrustedKey[];
  /** The time the key's validity is judged at (default: the document's created_at). */
  at?: string;
  /** The role the document must have (default: publisher). */
  role?: SignatureRole;
  /** Names the signature in messages, e.g. "the signature" or "the marketplace's counter-signature". */
  what?: string;
  /** Says what `at` is, in messages (default: "<what> was made on <at>"). */
  when?: string;
  /** The plugin the caller asked for (a download's name@version): the document must name it (WRONG_PLUGIN). */
  expected?: ExpectedPlugin;
  /**
   * Without keys: what the caller's user can do to check the signer (the
   * flags of that command, e.g. "pass --key <pubkey-file> or --keyring <file>").
   * The SIGNATURE_UNCHECKED note is given only with it: a command with no
   * way to check the signer (check, prepare, submit, whose marketplace checks
   * it) says nothing the user cannot act on.
   */
  uncheckedAdvice?: string;
}

/** What a caller asked for: a name, and a version when one was asked for (or resolved from a listing). */
export interface ExpectedPlugin {
  name: string;
  version?: string;
}

/**
 * The one rule for "is this the plugin that was asked for": `what` (a
 * signature document, an archive's manifest, a listing) names `actual`;
 * WRONG_PLUGIN unless its name, and its version when one was asked for, are
 * the ones expected. Every download, info and verify with an expectation
 * applies it to each thing that names a plugin.
 */
export function expectedPluginProblem(expected: ExpectedPlugin, actual: { name: string; version?: string }, what: string): SignatureProblem | undefined {
  const nameOk = actual.name === expected.name;
  const versionOk = expected.version === undefined || actual.version === expected.version;
  if (nameOk && versionOk) return undefined;
  const asked = expected.version === undefined ? expected.name : `${expected.name} ${expected.version}`;
  const got = actual.version === undefined || expected.version === undefined ? actual.name : `${actual.name} ${actual.version}`;
  return {
    code: 'WRONG_PLUGIN',
    message: `${what} is for ${got}, but ${asked} was asked for`,
    hint: 'the marketplace answered with another plugin or version than the one asked for: do not install it; report it to the marketplace',
    details: { expected, actual },
  };
}

/** Short form of a digest for messages. */
export function shortDigest(hex: string | null): string {
  return hex === null ? 'none' : `${hex.slice(0, 16)}…`;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a document's raw signature bytes (what a counter-signature names). */
export function signatureDigest(doc: SignatureDocument): string {
  return sha256Hex(Buffer.from(doc.signature, 'base64'));
}

/** What the steps share: the input, the words for the signature, and the notes so far. */
interface Checking {
  input: CheckInput;
  doc: SignatureDocument;
  what: string;
  notes: SignatureNote[];
  /** The trusted key that made the signature, once found. */
  key?: TrustedKey;
}

type Step = (c: Checking) => SignatureProblem | undefined;

/** The document has the role asked for. */
function roleStep({ doc, input, what }: Checking): SignatureProblem | undefined {
  const role = input.role ?? 'publisher';
  if (doc.role === role) return undefined;
  return {
    code: 'SIGNATURE_INVALID',
    message: `${what} is a ${doc.role} signature, expected a ${role} signature`,
    hint: role === 'publisher' ? 'pass the .sig written by `build --sign`' : 'download the counter-signature from the marketplace again',
    details: { digest: 'role', expected: role, actual: doc.role },
  };
}

/** With trusted keys: the key is among them, and the signature is that key's over the signed fields. */
function keyStep(c: Checking): SignatureProblem | undefined {
  const { doc, input, what } = c;
  if (!input.keys) return undefined;
  c.key = input.keys.find((k) => k.keyId === doc.key_id);
  if (!c.key) {
    const known = input.keys.map((k) => k.keyId);
    return {
      code: 'UNKNOWN_KEY',
      message: `${what} was made with key ${doc.key_id}, which is not ${known.length === 0 ? 'trusted (no keys given)' : `among the trusted keys (${known.join(', ')})`}`,
      hint: "pass the signer's public key with --key <file> or a keyring with --keyring <file>; on the marketplace, register it with `plexichat-plugin marketplace keys add <pubkey-file>`",
      details: { key_id: doc.key_id, trusted: known },
    };
  }
  if (!signatureMatches(doc, c.key.publicKey)) {
    return {
      code: 'SIGNATURE_INVALID',
      message: `${what} does not match its signed fields (the .sig was edited after signing, or not made by key ${doc.key_id})`,
      hint: 'sign the archive again with `plexichat-plugin build --sign`',
      details: { digest: 'signed fields', key_id: doc.key_id },
    };
  }
  return undefined;
}

/** The key was valid when the signature was made: not revoked before (a later revocation is a note), not expired. */
function validityStep(c: Checking): SignatureProblem | undefined {
  const { doc, input, what, key } = c;
  if (!key) return undefined;
  const r = keyValidityAt(key, input.at ?? doc.created_at, what, input.when);
  if (r.note) c.notes.push(r.note);
  return r.problem;
}

/**
 * Whether a trusted key was valid at `at` (when a signature was made):
 * KEY_REVOKED or KEY_EXPIRED, or a KEY_REVOKED_LATER note. The one rule for
 * signature documents and provenance envelopes. `when` says what `at` is.
 */
export function keyValidityAt(key: TrustedKey, at: string, what: string, when?: string): { problem?: SignatureProblem; note?: SignatureNote } {
  const atMs = Date.parse(at);
  const said = when ?? `${what} was made on ${at}`;
  let note: SignatureNote | undefined;
  if (key.revokedAt !== null) {
    if (atMs >= Date.parse(key.revokedAt)) {
      return {
        problem: {
          code: 'KEY_REVOKED',
          message: `key ${key.keyId} was revoked on ${key.revokedAt}; ${said}, after the revocation`,
          hint: 'sign with a key that is not revoked (`plexichat-plugin keys generate`, then `marketplace keys add`)',
          details: { key_id: key.keyId, revoked_at: key.revokedAt, signed_at: at },
        },
      };
    }
    note = {
      code: 'KEY_REVOKED_LATER',
      message: `key ${key.keyId} was revoked on ${key.revokedAt}, after ${when ?? `${what} was made (${at})`}: it still verifies`,
    };
  }
  if (key.expiresAt !== null && atMs >= Date.parse(key.expiresAt)) {
    return {
      note,
      problem: {
        code: 'KEY_EXPIRED',
        message: `key ${key.keyId} expired on ${key.expiresAt}; ${said}, after it expired`,
        hint: "sign with a key that is still valid, or extend the key's expiry in the keyring",
        details: { key_id: key.keyId, expires_at: key.expiresAt, signed_at: at },
      },
    };
  }
  return { note };
}

/** The document names the archive's plugin and version. */
function pluginStep({ doc, input, what }: Checking): SignatureProblem | undefined {
  if (!input.plugin || (input.plugin.name === doc.plugin.name && input.plugin.version === doc.plugin.version)) return undefined;
  return {
    code: 'WRONG_PLUGIN',
    message: `${what} is for ${doc.plugin.name} ${doc.plugin.version}, but the archive holds ${input.plugin.name} ${input.plugin.version}`,
    hint: 'use the .sig that build wrote next to this archive, or sign this archive with `plexichat-plugin build --sign`',
    details: { signed: doc.plugin, archive: input.plugin },
  };
}

/** The document names the plugin and version the caller asked for. */
function expectedStep({ doc, input, what }: Checking): SignatureProblem | undefined {
  return input.expected ? expectedPluginProblem(input.expected, doc.plugin, what) : undefined;
}

/** The archive is the one that was signed: its sha256 and size, and its member list's sha256. */
function archiveStep({ doc, input }: Checking): SignatureProblem | undefined {
  const { facts } = input;
  const archiveDiffers = facts.sha256 !== doc.archive.sha256 || facts.size !== doc.archive.size;
  const contentsDiffer = facts.contentsSha256 !== doc.contents.sha256;
  if (!archiveDiffers && !contentsDiffer) return undefined;
  const parts: string[] = [];
  if (archiveDiffers) {
    parts.push(
      `the archive's sha256 differs from the signed one (signed ${shortDigest(doc.archive.sha256)} ${doc.archive.size} bytes, now ${shortDigest(facts.sha256)} ${facts.size} bytes)`,
    );
  }
  if (contentsDiffer) {
    parts.push(
      `its member list (plexichat-integrity.json) differs from the signed one (signed ${shortDigest(doc.contents.sha256)}, now ${shortDigest(facts.contentsSha256)}): members were added, removed or changed`,
    );
  } else if (archiveDiffers) {
    parts.push("its member list is the signed one, so a member's bytes or a member outside the list changed");
  }
  return {
    code: 'SIGNATURE_INVALID',
    message: `the archive changed after signing: ${parts.join('; ')}`,
    hint: 'rebuild and sign again (`plexichat-plugin build --sign`), or get an untampered copy of the archive',
    details: {
      digest: archiveDiffers ? (contentsDiffer ? 'archive.sha256, contents.sha256' : 'archive.sha256') : 'contents.sha256',
      signed: { archive: doc.archive, contents: doc.contents },
      actual: { archive: { sha256: facts.sha256, size: facts.size }, contents: { sha256: facts.contentsSha256 } },
    },
  };
}

/** The checks in the order of the module comment; the first problem answers. */
const STEPS: readonly Step[] = [roleStep, keyStep, validityStep, expectedStep, pluginStep, archiveStep];

export function checkSignature(input: CheckInput): SignatureCheck {
  const c: Checking = { input, doc: input.doc, what: input.what ?? 'the signature', notes: [] };
  for (const step of STEPS) {
    const problem = step(c);
    if (problem) return { ok: false, notes: c.notes, ...problem };
  }
  if (!input.keys && input.uncheckedAdvice) {
    c.notes.push({
      code: 'SIGNATURE_UNCHECKED',
      message: `${c.what} names this archive and key ${c.doc.key_id}, but who signed it was not checked: ${input.uncheckedAdvice}`,
    });
  }
  return { ok: true, key: c.key, notes: c.notes };
}
