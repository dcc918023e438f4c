"""Merkle trees whose leaves and proofs match ArenaStaking.vy exactly.

Hashing (the contract's docstring states the same rule):

* settlement leaf = keccak256(keccak256(abi.encode(uint256 tournament_id, uint256 round_id,
  uint256 model_id, address owner, uint256 stake_at_risk, int256 delta)))
* commitment leaf = keccak256(keccak256(abi.encode(bytes32 submission_hash)))
* inner node = keccak256(min(a, b) ++ max(a, b))   (sorted pair, as snekmate verifies)

The double hash makes every leaf pre-image 32 bytes while inner nodes hash 64 bytes, so an
inner node can never be presented as a leaf.

Tree shape: leaf hashes are sorted ascending (so the root depends only on the set of
leaves, not on the order the caller listed them); each layer pairs neighbours (0,1), (2,3), …;
an odd last node is carried up unchanged (never duplicated, which would let two different
leaf lists share a root). The root of one leaf is that leaf's hash; an empty tree's root is
32 zero bytes, the value the contract expects when a round has nothing to commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eth_abi import encode
from eth_hash.auto import keccak

EMPTY_ROOT = b"\x00" * 32


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Inner node: keccak256 of the two children in ascending byte order."""
    return keccak(a + b) if a < b else keccak(b + a)


def settlement_leaf_hash(
    tournament_id: int,
    round_id: int,
    model_id: int,
    owner: str,
    stake_at_risk: int,
    delta: int,
) -> bytes:
    """keccak256(keccak256(abi.encode(tournament_id, round_id, model_id, owner, stake_at_risk, delta)))."""
    packed = encode(
        ["uint256", "uint256", "uint256", "address", "uint256", "int256"],
        [tournament_id, round_id, model_id, owner, stake_at_risk, delta],
    )
    return keccak(keccak(packed))


def commitment_leaf_hash(submission_hash: bytes) -> bytes:
    """keccak256(keccak256(abi.encode(bytes32 submission_hash)))."""
    if len(submission_hash) != 32:
        raise ValueError(f"a submission hash is 32 bytes, got {len(submission_hash)}")
    return keccak(keccak(encode(["bytes32"], [submission_hash])))


class MerkleTree:
    """A tree over already-hashed leaves; see the module docstring for its shape."""

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        leaves = sorted(leaf_hashes)
        for leaf in leaves:
            if len(leaf) != 32:
                raise ValueError(f"a leaf hash is 32 bytes, got {len(leaf)}")
        for left, right in zip(leaves, leaves[1:], strict=False):
            if left == right:
                # Two equal leaves would share one proof and one "applied" slot.
                raise ValueError(f"duplicate leaf 0x{left.hex()}")
        self._layers: list[list[bytes]] = [leaves]
        while len(self._layers[-1]) > 1:
            below = self._layers[-1]
            above = [hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            self._layers.append(above)
        self._index = {leaf: i for i, leaf in enumerate(leaves)}

    @property
    def leaves(self) -> list[bytes]:
        """Leaf hashes in tree order (ascending)."""
        return list(self._layers[0])

    @property
    def root(self) -> bytes:
        top = self._layers[-1]
        return top[0] if top else EMPTY_ROOT

    def __len__(self) -> int:
        return len(self._layers[0])

    def __contains__(self, leaf_hash: object) -> bool:
        return leaf_hash in self._index

    def proof(self, leaf_hash: bytes) -> list[bytes]:
        """Sibling hashes from the leaf up to (not including) the root."""
        try:
            index = self._index[leaf_hash]
        except KeyError:
            raise KeyError(f"leaf 0x{leaf_hash.hex()} is not in the tree") from None
        proof = []
        for layer in self._layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                proof.append(layer[sibling])
            # else: the node was carried up alone and contributes no sibling.
            index //= 2
        return proof


def process_proof(leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to, computed as the contract does."""
    node = leaf_hash
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify_proof(leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    return process_proof(leaf_hash, proof) == root
