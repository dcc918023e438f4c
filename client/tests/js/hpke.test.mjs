import assert from "node:assert/strict";
import test from "node:test";

import {
  AEAD_AES_128_GCM,
  ENVELOPE_HEADER,
  EnvelopeAuthenticationError,
  InvalidKeyError,
  MalformedEnvelopeError,
  deriveKeyPair,
  keyFromHex,
  openSealed,
  seal,
  sealWithFixedEphemeralForTests,
  setupBaseReceiver,
  setupBaseSender,
  submissionInfo,
} from "../../../static/js/hpke.mjs";
import { fromHex, loadVectors, toHex } from "./helpers.mjs";

const rfc = loadVectors("rfc9180_x25519_base.json");
const arena = loadVectors("arena_vectors.json");

test("DeriveKeyPair reproduces the RFC 9180 A.1.1 ephemeral and recipient keys", async () => {
  const ephemeral = await deriveKeyPair(fromHex(rfc.ikmE));
  assert.equal(toHex(ephemeral.rawPrivateKey), rfc.skEm);
  assert.equal(toHex(ephemeral.publicKey), rfc.pkEm);
  const recipient = await deriveKeyPair(fromHex(rfc.ikmR));
  assert.equal(toHex(recipient.rawPrivateKey), rfc.skRm);
  assert.equal(toHex(recipient.publicKey), rfc.pkRm);
});

test("sender context reproduces the RFC 9180 A.1.1 enc and ciphertexts", async () => {
  const { enc, context } = await setupBaseSender(fromHex(rfc.pkRm), fromHex(rfc.info), {
    aeadId: AEAD_AES_128_GCM,
    ikmE: fromHex(rfc.ikmE),
  });
  assert.equal(toHex(enc), rfc.enc);
  for (const vector of rfc.encryptions) {
    const ciphertext = await context.seal(fromHex(vector.aad), fromHex(vector.pt));
    assert.equal(toHex(ciphertext), vector.ct, `sequence ${vector.sequence_number}`);
  }
});

test("receiver context opens the RFC 9180 A.1.1 ciphertexts", async () => {
  const { context } = await setupBaseReceiver(fromHex(rfc.enc), fromHex(rfc.skRm), fromHex(rfc.info), {
    aeadId: AEAD_AES_128_GCM,
  });
  for (const vector of rfc.encryptions) {
    const plaintext = await context.open(fromHex(vector.aad), fromHex(vector.ct));
    assert.equal(toHex(plaintext), vector.pt);
  }
});

test("receiver context rejects the RFC ciphertexts out of sequence", async () => {
  const { context } = await setupBaseReceiver(fromHex(rfc.enc), fromHex(rfc.skRm), fromHex(rfc.info), {
    aeadId: AEAD_AES_128_GCM,
  });
  const second = rfc.encryptions[1];
  await assert.rejects(context.open(fromHex(second.aad), fromHex(second.ct)), EnvelopeAuthenticationError);
});

test("submissionInfo encodes the agreed bytes", () => {
  for (const vector of arena.submission_info) {
    // Decimal strings in the JSON: a u64 does not survive JSON.parse as a Number.
    const info = submissionInfo(vector.tournament, BigInt(vector.round), BigInt(vector.model_id));
    assert.equal(toHex(info), vector.info, vector.tournament);
  }
});

test("submissionInfo refuses bad fields with their reason", () => {
  assert.throws(() => submissionInfo("", 1, 1), /tournament slug must be 1\.\.255 bytes of UTF-8, got 0/);
  assert.throws(() => submissionInfo("x".repeat(256), 1, 1), /got 256/);
  assert.throws(() => submissionInfo("t", -1, 1), /roundNumber must be in 0\.\.2\*\*64-1, got -1/);
  assert.throws(() => submissionInfo("t", 1.5, 1), /roundNumber must be an integer/);
  assert.throws(() => submissionInfo("t", 1, 2n ** 64n), /modelId must be in 0\.\.2\*\*64-1/);
  assert.throws(() => submissionInfo("t\ud800", 1, 1), /not valid Unicode/);
});

test("the fixed-ephemeral envelope is byte-identical to the agreed vector", async () => {
  const v = arena.envelope;
  const info = submissionInfo(v.tournament, v.round, v.model_id);
  const envelope = await sealWithFixedEphemeralForTests(
    fromHex(v.plaintext),
    fromHex(v.recipient_public_key),
    info,
    fromHex(v.ikmE),
  );
  assert.equal(toHex(envelope), v.envelope);
});

test("seal then openSealed round-trips, with the documented layout", async () => {
  const recipient = await deriveKeyPair(new Uint8Array(32).fill(7));
  const info = submissionInfo("crypto-daily", 3, 9);
  const plaintext = new TextEncoder().encode("id,prediction\na,0.5\n");
  const envelope = await seal(plaintext, recipient.publicKey, info);
  assert.equal(envelope.length, 11 + 32 + plaintext.length + 16);
  assert.deepEqual(envelope.subarray(0, 11), ENVELOPE_HEADER);
  assert.equal(toHex(ENVELOPE_HEADER), "41524e5301002000010002");
  const opened = await openSealed(envelope, recipient.rawPrivateKey, info);
  assert.deepEqual(opened, plaintext);
  // A fresh ephemeral key per seal: the same input never gives the same envelope twice.
  const again = await seal(plaintext, recipient.publicKey, info);
  assert.notEqual(toHex(again), toHex(envelope));
});

test("openSealed rejects tampering, replay and the wrong key", async () => {
  const recipient = await deriveKeyPair(new Uint8Array(32).fill(8));
  const other = await deriveKeyPair(new Uint8Array(32).fill(9));
  const info = submissionInfo("crypto-daily", 3, 9);
  const envelope = await seal(new Uint8Array([1, 2, 3]), recipient.publicKey, info);

  const flipped = envelope.slice();
  flipped[flipped.length - 1] ^= 0x01;
  await assert.rejects(openSealed(flipped, recipient.rawPrivateKey, info), EnvelopeAuthenticationError);
  await assert.rejects(
    openSealed(envelope, recipient.rawPrivateKey, submissionInfo("crypto-daily", 4, 9)),
    /envelope failed authentication: it was altered, sealed for another tournament\/round\/model/,
  );
  await assert.rejects(
    openSealed(envelope, recipient.rawPrivateKey, submissionInfo("crypto-daily", 3, 10)),
    EnvelopeAuthenticationError,
  );
  await assert.rejects(openSealed(envelope, other.rawPrivateKey, info), EnvelopeAuthenticationError);
});

test("openSealed names malformed envelopes", async () => {
  const recipient = await deriveKeyPair(new Uint8Array(32).fill(8));
  const info = submissionInfo("t", 1, 1);
  await assert.rejects(
    openSealed(new Uint8Array(58), recipient.rawPrivateKey, info),
    new MalformedEnvelopeError("envelope is 58 bytes; the smallest possible is 59"),
  );
  const envelope = await seal(new Uint8Array(0), recipient.publicKey, info);
  const badMagic = envelope.slice();
  badMagic[0] = 0x58;
  await assert.rejects(openSealed(badMagic, recipient.rawPrivateKey, info), /not an Arena envelope \(bad magic\)/);
  const badSuite = envelope.slice();
  badSuite[10] = 0x01;
  await assert.rejects(openSealed(badSuite, recipient.rawPrivateKey, info), /unsupported envelope version or HPKE suite/);
});

test("keys are checked before use", async () => {
  const info = submissionInfo("t", 1, 1);
  await assert.rejects(seal(new Uint8Array(1), new Uint8Array(31), info), new InvalidKeyError("public key must be 32 raw bytes, got 31"));
  await assert.rejects(seal(new Uint8Array(1), new Uint8Array(32), info), /low-order point/);
  assert.throws(() => keyFromHex("ab"), /a key must be 64 hex digits \(32 bytes\), got 2 characters/);
  assert.throws(() => keyFromHex("zz".repeat(32)), /only hex digits/);
  assert.equal(toHex(keyFromHex(` ${"Ab".repeat(32)}\n`)), "ab".repeat(32));
});
