"""Inclusion proofs for a round's commitments root (the root posted on-chain at close).

Scheme (shared with core/merkle.py and the contract; OpenZeppelin-style sorted pairs):

* leaf  = keccak256(keccak256(abi.encode(bytes32 digest))), where ``digest`` is the SHA-256
  digest a submission's CID carries. ``abi.encode`` of one ``bytes32`` is those 32 bytes, so
  leaf = keccak256(keccak256(digest)). Hashing twice keeps a leaf from ever being mistaken for
  an internal node (whose preimage is 64 bytes).
* node  = keccak256(min(a, b) || max(a, b)), comparing the 32-byte values as big-endian
  unsigned integers (the same as comparing the bytes). Sorting means a proof is a plain list
  of sibling hashes with no left/right flags.
* A one-leaf tree's root is the leaf and its proof is empty. How a builder pairs an odd node
  out does not matter to the verifier: a level without a sibling simply adds nothing to the
  proof.
"""

from __future__ import annotations

from collections.abc import Iterable

from Crypto.Hash import keccak

from .cid import cid_digest

__all__ = [
    "MerkleProofError",
    "hash_pair",
    "keccak256",
    "root_from_proof",
    "submission_leaf",
    "verify_submission_proof",
]

HASH_SIZE = 32


class MerkleProofError(ValueError):
    """An inclusion proof is malformed or does not lead to the expected root."""


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak256 (the original Keccak padding, not NIST SHA3-256)."""
    return keccak.new(digest_bits=256, data=bytes(data)).digest()


def submission_leaf(digest: bytes) -> bytes:
    """Leaf for a submission whose CID carries the SHA-256 ``digest``."""
    _check_hash(digest, "submission digest")
    return keccak256(keccak256(digest))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Internal node over two children, independent of their order."""
    return keccak256(a + b) if a <= b else keccak256(b + a)


def root_from_proof(leaf: bytes, proof: Iterable[bytes]) -> bytes:
    """Fold a proof's sibling hashes into ``leaf``; return the root they imply."""
    _check_hash(leaf, "leaf")
    node = bytes(leaf)
    for position, sibling in enumerate(proof):
        _check_hash(sibling, f"proof element {position}")
        node = hash_pair(node, bytes(sibling))
    return node


def verify_submission_proof(cid: str, proof: Iterable[bytes], root: bytes) -> None:
    """Check that the submission named ``cid`` is committed under ``root``.

    Raises :class:`MerkleProofError` when the proof is malformed or leads elsewhere, and
    :class:`arena_client.cid.CidError` when ``cid`` is not a platform CID.
    """
    _check_hash(root, "root")
    computed = root_from_proof(submission_leaf(cid_digest(cid)), proof)
    if computed != bytes(root):
        raise MerkleProofError(
            f"inclusion proof for {cid} leads to root 0x{computed.hex()}, "
            f"not the committed root 0x{bytes(root).hex()}"
        )


def _check_hash(value: bytes, name: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise MerkleProofError(f"{name} must be {HASH_SIZE} bytes, got {size}")
