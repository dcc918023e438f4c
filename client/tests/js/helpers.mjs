// Shared by the JS tests: load the JSON vector files that the Python tests read too.
import { readFileSync } from "node:fs";

export function loadVectors(name) {
  return JSON.parse(readFileSync(new URL(`../data/${name}`, import.meta.url), "utf8"));
}

export const fromHex = (hex) => new Uint8Array(Buffer.from(hex, "hex"));
export const toHex = (bytes) => Buffer.from(bytes).toString("hex");
