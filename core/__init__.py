"""The shared core every app may import: domain errors, money fields and wei arithmetic, the
Merkle tree, the API's tools, the pages' form refusals and the lean SQL helpers. It imports no
platform app."""
