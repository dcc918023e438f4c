// Sealed prediction envelopes in the browser: HPKE (RFC 9180) base mode on WebCrypto.
//
// Suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, single-shot (sequence 0,
// empty AAD). The envelope is byte-compatible with arena_client/sealing.py, which is where
// the format is documented:
//
//   "ARNS" | 0x01 | kem 0x0020 | kdf 0x0001 | aead 0x0002 | enc (32) | ciphertext + tag (n + 16)
//
// WebCrypto's HKDF fuses Extract and Expand, but RFC 9180 labels each step separately, so
// both are built from HMAC-SHA256 here (RFC 5869 is two lines of HMAC).

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export const KEM_X25519_HKDF_SHA256 = 0x0020;
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_AES_128_GCM = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;

const AEAD_KEY_LENGTH = { [AEAD_AES_128_GCM]: 16, [AEAD_AES_256_GCM]: 32 };
const HASH_LENGTH = 32; // Nh of HKDF-SHA256, also Nsecret of the KEM
const KEY_LENGTH = 32; // Npk = Nsk = Nenc for X25519
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

export const ENVELOPE_HEADER = Uint8Array.of(
  0x41, 0x52, 0x4e, 0x53, // "ARNS"
  0x01, // format version
  0x00, 0x20, // KEM id
  0x00, 0x01, // KDF id
  0x00, 0x02, // AEAD id
);
export const ENVELOPE_OVERHEAD = ENVELOPE_HEADER.length + KEY_LENGTH + TAG_LENGTH;

const INFO_LABEL = encoder.encode("arena/v1/submission");
const MAX_SLUG_BYTES = 255;
const MAX_UINT64 = (1n << 64n) - 1n;

// DER prefix of a PKCS#8 X25519 private key (RFC 8410): WebCrypto imports raw X25519
// private keys only in this wrapping.
const PKCS8_X25519_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
);

export class SealError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}
export class InvalidKeyError extends SealError {}
export class MalformedEnvelopeError extends SealError {}
export class EnvelopeAuthenticationError extends SealError {}

// ---------------------------------------------------------------------------------------------
// Arena envelope

/** Seal `plaintext` to a round's raw 32-byte X25519 public key; resolve to the envelope. */
export async function seal(plaintext, recipientPublicKey, info) {
  return sealEnvelope(plaintext, recipientPublicKey, info, undefined);
}

/**
 * The same as `seal`, with the ephemeral key derived from `ikmE` (RFC 9180 DeriveKeyPair).
 * For test vectors only: a reproducible ephemeral key destroys HPKE's security.
 */
export async function sealWithFixedEphemeralForTests(plaintext, recipientPublicKey, info, ikmE) {
  if (!(ikmE instanceof Uint8Array) || ikmE.length < KEY_LENGTH) {
    throw new TypeError("ikmE must be at least 32 bytes");
  }
  return sealEnvelope(plaintext, recipientPublicKey, info, ikmE);
}

async function sealEnvelope(plaintext, recipientPublicKey, info, ikmE) {
  const body = asBytes(plaintext, "plaintext");
  const { enc, context } = await setupBaseSender(recipientPublicKey, asBytes(info, "info"), {
    aeadId: AEAD_AES_256_GCM,
    ikmE,
  });
  const ciphertext = await context.seal(new Uint8Array(0), body);
  return concat(ENVELOPE_HEADER, enc, ciphertext);
}

/** Open an envelope with the round's raw 32-byte X25519 private key (e.g. once published). */
export async function openSealed(envelope, recipientPrivateKey, info) {
  const bytes = asBytes(envelope, "envelope");
  checkHeader(bytes);
  const enc = bytes.subarray(ENVELOPE_HEADER.length, ENVELOPE_HEADER.length + KEY_LENGTH);
  const ciphertext = bytes.subarray(ENVELOPE_HEADER.length + KEY_LENGTH);
  let context;
  try {
    ({ context } = await setupBaseReceiver(enc, recipientPrivateKey, asBytes(info, "info"), {
      aeadId: AEAD_AES_256_GCM,
    }));
  } catch (error) {
    if (error instanceof SealError) throw error;
    // WebCrypto refuses a low-order `enc` (all-zero DH output): only a forged envelope has one.
    throw authenticationFailure();
  }
  return context.open(new Uint8Array(0), ciphertext);
}

/**
 * The HPKE `info` binding tournament, round and model; identical to
 * arena_client.sealing.submission_info:
 *   "arena/v1/submission" | u16 slug length | slug (UTF-8) | u64 round | u64 model id
 */
export function submissionInfo(tournament, roundNumber, modelId) {
  if (typeof tournament !== "string") throw new TypeError("tournament must be a string slug");
  if (typeof tournament.isWellFormed === "function" && !tournament.isWellFormed()) {
    throw new RangeError("tournament slug is not valid Unicode");
  }
  const slug = encoder.encode(tournament);
  if (slug.length < 1 || slug.length > MAX_SLUG_BYTES) {
    throw new RangeError(`tournament slug must be 1..${MAX_SLUG_BYTES} bytes of UTF-8, got ${slug.length}`);
  }
  const numbers = new DataView(new ArrayBuffer(16));
  numbers.setBigUint64(0, asUint64(roundNumber, "roundNumber"));
  numbers.setBigUint64(8, asUint64(modelId, "modelId"));
  return concat(INFO_LABEL, i2osp(slug.length, 2), slug, new Uint8Array(numbers.buffer));
}

/** Parse a key in its wire form: 64 hex digits. */
export function keyFromHex(text) {
  const cleaned = String(text).trim();
  if (cleaned.length !== 2 * KEY_LENGTH) {
    throw new InvalidKeyError(
      `a key must be ${2 * KEY_LENGTH} hex digits (${KEY_LENGTH} bytes), got ${cleaned.length} characters`,
    );
  }
  if (!/^[0-9a-fA-F]*$/.test(cleaned)) throw new InvalidKeyError("a key must contain only hex digits 0-9a-f");
  return Uint8Array.from(cleaned.match(/../g), (pair) => parseInt(pair, 16));
}

function checkHeader(envelope) {
  if (envelope.length < ENVELOPE_OVERHEAD) {
    throw new MalformedEnvelopeError(
      `envelope is ${envelope.length} bytes; the smallest possible is ${ENVELOPE_OVERHEAD}`,
    );
  }
  for (let i = 0; i < ENVELOPE_HEADER.length; i++) {
    if (envelope[i] !== ENVELOPE_HEADER[i]) {
      throw new MalformedEnvelopeError(
        i < 4 ? "not an Arena envelope (bad magic)" : "unsupported envelope version or HPKE suite",
      );
    }
  }
}

function authenticationFailure() {
  return new EnvelopeAuthenticationError(
    "envelope failed authentication: it was altered, sealed for another tournament/round/model, " +
      "or sealed to a different round key",
  );
}

// ---------------------------------------------------------------------------------------------
// RFC 9180, base mode

/**
 * SetupBaseS (RFC 9180 section 5.1.1). `ikmE`, if given, makes the ephemeral key
 * DeriveKeyPair(ikmE): for test vectors only.
 */
export async function setupBaseSender(recipientPublicKey, info, { aeadId = AEAD_AES_256_GCM, ikmE } = {}) {
  const pkR = checkKey(recipientPublicKey, "public");
  const ephemeral = ikmE ? await deriveKeyPair(ikmE) : await generateKeyPair();
  const recipient = await importPublicKey(pkR);
  let dh;
  try {
    dh = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: recipient }, ephemeral.privateKey, 256));
  } catch {
    throw new InvalidKeyError("public key is not usable for X25519 (low-order point)");
  }
  const enc = ephemeral.publicKey;
  const sharedSecret = await extractAndExpand(dh, concat(enc, pkR));
  const context = await keySchedule(sharedSecret, asBytes(info, "info"), aeadId);
  return { enc, context };
}

/** SetupBaseR (RFC 9180 section 5.1.1). */
export async function setupBaseReceiver(enc, recipientPrivateKey, info, { aeadId = AEAD_AES_256_GCM } = {}) {
  const skR = checkKey(recipientPrivateKey, "private");
  const keyPair = await importPrivateKey(skR);
  const sender = await importPublicKey(checkKey(enc, "ephemeral public"));
  const dh = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: sender }, keyPair.privateKey, 256));
  const sharedSecret = await extractAndExpand(dh, concat(enc, keyPair.publicKey));
  const context = await keySchedule(sharedSecret, asBytes(info, "info"), aeadId);
  return { context };
}

/** DeriveKeyPair (RFC 9180 section 7.1.3) for X25519: raw private and public keys + CryptoKey. */
export async function deriveKeyPair(ikm) {
  const dkpPrk = await labeledExtract(KEM_SUITE_ID, new Uint8Array(0), "dkp_prk", ikm);
  const rawPrivateKey = await labeledExpand(KEM_SUITE_ID, dkpPrk, "sk", new Uint8Array(0), KEY_LENGTH);
  return { rawPrivateKey, ...(await importPrivateKey(rawPrivateKey)) };
}

async function generateKeyPair() {
  const pair = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)) };
}

async function importPublicKey(raw) {
  return subtle.importKey("raw", raw, { name: "X25519" }, false, []);
}

async function importPrivateKey(raw) {
  // Extractable only so that the JWK export below can give the public key.
  const privateKey = await subtle.importKey("pkcs8", concat(PKCS8_X25519_PREFIX, raw), { name: "X25519" }, true, [
    "deriveBits",
  ]);
  const jwk = await subtle.exportKey("jwk", privateKey);
  return { privateKey, publicKey: base64UrlDecode(jwk.x) };
}

const KEM_SUITE_ID = concat(encoder.encode("KEM"), i2osp(KEM_X25519_HKDF_SHA256, 2));

function hpkeSuiteId(aeadId) {
  return concat(
    encoder.encode("HPKE"),
    i2osp(KEM_X25519_HKDF_SHA256, 2),
    i2osp(KDF_HKDF_SHA256, 2),
    i2osp(aeadId, 2),
  );
}

async function extractAndExpand(dh, kemContext) {
  const eaePrk = await labeledExtract(KEM_SUITE_ID, new Uint8Array(0), "eae_prk", dh);
  return labeledExpand(KEM_SUITE_ID, eaePrk, "shared_secret", kemContext, HASH_LENGTH);
}

async function keySchedule(sharedSecret, info, aeadId) {
  const keyLength = AEAD_KEY_LENGTH[aeadId];
  if (!keyLength) throw new RangeError(`unsupported AEAD id ${aeadId}`);
  const suiteId = hpkeSuiteId(aeadId);
  const empty = new Uint8Array(0);
  const pskIdHash = await labeledExtract(suiteId, empty, "psk_id_hash", empty);
  const infoHash = await labeledExtract(suiteId, empty, "info_hash", info);
  const context = concat(Uint8Array.of(0x00), pskIdHash, infoHash); // mode_base = 0x00
  const secret = await labeledExtract(suiteId, sharedSecret, "secret", empty);
  const key = await labeledExpand(suiteId, secret, "key", context, keyLength);
  const baseNonce = await labeledExpand(suiteId, secret, "base_nonce", context, NONCE_LENGTH);
  const aesKey = await subtle.importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  return new AeadContext(aesKey, baseNonce);
}

/** The sequence-numbered AEAD of RFC 9180 section 5.2. */
class AeadContext {
  #key;
  #baseNonce;
  #sequence = 0;

  constructor(key, baseNonce) {
    this.#key = key;
    this.#baseNonce = baseNonce;
  }

  async seal(aad, plaintext) {
    const params = { name: "AES-GCM", iv: this.#nextNonce(), additionalData: aad, tagLength: 128 };
    return new Uint8Array(await subtle.encrypt(params, this.#key, plaintext));
  }

  async open(aad, ciphertext) {
    const params = { name: "AES-GCM", iv: this.#nextNonce(), additionalData: aad, tagLength: 128 };
    try {
      return new Uint8Array(await subtle.decrypt(params, this.#key, ciphertext));
    } catch {
      throw authenticationFailure();
    }
  }

  #nextNonce() {
    if (this.#sequence >= Number.MAX_SAFE_INTEGER) throw new RangeError("HPKE message limit reached");
    const nonce = this.#baseNonce.slice();
    const sequence = i2osp(this.#sequence, NONCE_LENGTH);
    for (let i = 0; i < NONCE_LENGTH; i++) nonce[i] ^= sequence[i];
    this.#sequence += 1;
    return nonce;
  }
}

async function labeledExtract(suiteId, salt, label, ikm) {
  return hkdfExtract(salt, concat(encoder.encode("HPKE-v1"), suiteId, encoder.encode(label), ikm));
}

async function labeledExpand(suiteId, prk, label, info, length) {
  const labeledInfo = concat(i2osp(length, 2), encoder.encode("HPKE-v1"), suiteId, encoder.encode(label), info);
  return hkdfExpand(prk, labeledInfo, length);
}

async function hkdfExtract(salt, ikm) {
  // RFC 5869: an absent salt is HashLen zero bytes (what HMAC pads an empty key to anyway;
  // spelled out because WebCrypto rejects zero-length HMAC keys).
  return hmacSha256(salt.length ? salt : new Uint8Array(HASH_LENGTH), ikm);
}

async function hkdfExpand(prk, info, length) {
  if (length > 255 * HASH_LENGTH) throw new RangeError("HKDF-Expand length too large");
  const output = new Uint8Array(length);
  let block = new Uint8Array(0);
  for (let counter = 1, filled = 0; filled < length; counter++) {
    block = await hmacSha256(prk, concat(block, info, Uint8Array.of(counter)));
    output.set(block.subarray(0, Math.min(block.length, length - filled)), filled);
    filled += block.length;
  }
  return output;
}

async function hmacSha256(key, data) {
  const hmacKey = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", hmacKey, data));
}

// ---------------------------------------------------------------------------------------------
// Bytes

function checkKey(key, kind) {
  if (!(key instanceof Uint8Array)) throw new InvalidKeyError(`${kind} key must be a Uint8Array`);
  if (key.length !== KEY_LENGTH) {
    throw new InvalidKeyError(`${kind} key must be ${KEY_LENGTH} raw bytes, got ${key.length}`);
  }
  return key;
}

function asBytes(value, name) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`${name} must be a Uint8Array or ArrayBuffer`);
}

function asUint64(value, name) {
  let big;
  if (typeof value === "bigint") big = value;
  else if (Number.isSafeInteger(value)) big = BigInt(value);
  else throw new TypeError(`${name} must be an integer`);
  if (big < 0n || big > MAX_UINT64) throw new RangeError(`${name} must be in 0..2**64-1, got ${value}`);
  return big;
}

function i2osp(value, length) {
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0 && rest > 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function base64UrlDecode(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}
