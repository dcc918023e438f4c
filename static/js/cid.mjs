// Content identifiers in the browser, identical to arena_client/cid.py: CIDv1, codec raw
// (0x55), multihash sha2-256 (0x12, 32 bytes), multibase base32 lower ("b", no padding) —
// the name IPFS gives a single-block file added with --cid-version=1 --raw-leaves.

const CID_PREFIX = Uint8Array.of(0x01, 0x55, 0x12, 0x20);
const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"; // RFC 4648 section 6, lower case

/** Resolve to the CID string naming `data` (Uint8Array or ArrayBuffer). */
export async function cidForBytes(data) {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", data));
  return cidForDigest(digest);
}

/** The CID string for a 32-byte SHA-256 digest. */
export function cidForDigest(digest) {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new TypeError("a sha2-256 digest is a 32-byte Uint8Array");
  }
  const bytes = new Uint8Array(CID_PREFIX.length + digest.length);
  bytes.set(CID_PREFIX);
  bytes.set(digest, CID_PREFIX.length);
  return "b" + base32Lower(bytes);
}

/** RFC 4648 base32, lower case, without "=" padding. */
export function base32Lower(bytes) {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff; // never more than 12 live bits are needed
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
