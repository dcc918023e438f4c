import hashlib

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.merkle import (
    MerkleProofError,
    hash_pair,
    keccak256,
    root_from_proof,
    submission_leaf,
    verify_submission_proof,
)


def build_tree(leaves: list[bytes]) -> list[list[bytes]]:
    """A test-only builder with the chain's shape: sorted leaves, odd node carried up."""
    layers = [sorted(leaves)]
    while len(layers[-1]) > 1:
        below = layers[-1]
        above = [hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        layers.append(above)
    return layers


def proof_for(layers: list[list[bytes]], leaf: bytes) -> list[bytes]:
    index = layers[0].index(leaf)
    proof = []
    for layer in layers[:-1]:
        if index ^ 1 < len(layer):
            proof.append(layer[index ^ 1])
        index //= 2
    return proof


def cids(count: int) -> list[str]:
    return [cid_for_bytes(f"ciphertext {i}".encode()) for i in range(count)]


def test_keccak256_is_ethereums_not_sha3():
    assert (
        keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"").hex() != hashlib.sha3_256(b"").hexdigest()


def test_leaf_is_double_keccak_of_the_cid_digest():
    digest = hashlib.sha256(b"ciphertext").digest()
    assert submission_leaf(digest) == keccak256(keccak256(digest))


def test_pair_hash_ignores_order():
    a, b = keccak256(b"a"), keccak256(b"b")
    low, high = sorted([a, b])
    assert hash_pair(a, b) == hash_pair(b, a) == keccak256(low + high)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 8])
def test_every_submission_verifies_against_the_root(count):
    names = cids(count)
    leaves = {
        cid: submission_leaf(hashlib.sha256(f"ciphertext {i}".encode()).digest())
        for i, cid in enumerate(names)
    }
    layers = build_tree(list(leaves.values()))
    root = layers[-1][0]
    for cid, leaf in leaves.items():
        proof = proof_for(layers, leaf)
        assert verify_submission_proof(cid, proof, root) is None
    if count == 1:
        assert root == next(iter(leaves.values())) and proof_for(layers, root) == []


def test_a_proof_for_another_submission_is_refused():
    names = cids(5)
    leaves = [
        submission_leaf(hashlib.sha256(f"ciphertext {i}".encode()).digest()) for i in range(5)
    ]
    layers = build_tree(leaves)
    root = layers[-1][0]
    outsider = cid_for_bytes(b"swapped after close")
    with pytest.raises(MerkleProofError) as caught:
        verify_submission_proof(outsider, proof_for(layers, leaves[0]), root)
    assert str(caught.value).startswith(f"inclusion proof for {outsider} leads to root 0x")
    assert str(caught.value).endswith(f"not the committed root 0x{root.hex()}")
    # ...and a tampered sibling breaks an honest one.
    proof = proof_for(layers, leaves[2])
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    with pytest.raises(MerkleProofError):
        verify_submission_proof(names[2], proof, root)


def test_malformed_inputs_are_named():
    leaf = keccak256(b"x")
    with pytest.raises(MerkleProofError, match="^proof element 1 must be 32 bytes, got 31$"):
        root_from_proof(leaf, [leaf, leaf[:31]])
    with pytest.raises(MerkleProofError, match="^root must be 32 bytes, got str$"):
        verify_submission_proof(cid_for_bytes(b""), [], leaf.hex())
    with pytest.raises(MerkleProofError, match="^submission digest must be 32 bytes, got 20$"):
        submission_leaf(bytes(20))
