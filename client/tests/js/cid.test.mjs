import assert from "node:assert/strict";
import test from "node:test";

import { base32Lower, cidForBytes, cidForDigest } from "../../../static/js/cid.mjs";
import { fromHex, loadVectors } from "./helpers.mjs";

const arena = loadVectors("arena_vectors.json");

test("cidForBytes gives the names IPFS gives", async () => {
  for (const vector of arena.cid) {
    assert.equal(await cidForBytes(fromHex(vector.data)), vector.cid);
  }
});

test("base32Lower follows RFC 4648 section 10 (lower case, unpadded)", () => {
  const cases = { "": "", f: "my", fo: "mzxq", foo: "mzxw6", foob: "mzxw6yq", fooba: "mzxw6ytb", foobar: "mzxw6ytboi" };
  for (const [input, expected] of Object.entries(cases)) {
    assert.equal(base32Lower(new TextEncoder().encode(input)), expected, input);
  }
});

test("cidForDigest refuses a digest of the wrong size", () => {
  assert.throws(() => cidForDigest(new Uint8Array(31)), /a sha2-256 digest is a 32-byte Uint8Array/);
});
