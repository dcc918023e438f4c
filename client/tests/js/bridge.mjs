// Lets the Python tests drive static/js: reads {"ops": [...]} as JSON on stdin and prints one
// result per op. Bytes travel as hex. Not a test file itself (node --test ignores it).
import { readFileSync } from "node:fs";

import { cidForBytes } from "../../../static/js/cid.mjs";
import { openSealed, seal, submissionInfo } from "../../../static/js/hpke.mjs";
import { fromHex, toHex } from "./helpers.mjs";

const info = (op) => submissionInfo(op.tournament, BigInt(op.round), BigInt(op.model_id));

const handlers = {
  seal: (op) => seal(fromHex(op.plaintext), fromHex(op.public_key), info(op)),
  open: (op) => openSealed(fromHex(op.envelope), fromHex(op.private_key), info(op)),
  info: async (op) => info(op),
  cid: async (op) => cidForBytes(fromHex(op.data)),
};

const { ops } = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const op of ops) {
  try {
    const value = await handlers[op.op](op);
    results.push({ ok: true, value: typeof value === "string" ? value : toHex(value) });
  } catch (error) {
    results.push({ ok: false, error: error.name, message: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
