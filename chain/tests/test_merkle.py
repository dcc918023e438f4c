"""core.merkle and chain.settlement: tree shape, proofs, leaf encoding, builders' checks."""

import pytest
from eth_abi import encode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.settlement import Payout, build_commitments, build_settlement
from core.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    commitment_leaf_hash,
    hash_pair,
    process_proof,
    settlement_leaf_hash,
    verify_proof,
)

ALICE = "0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69"
BOB = "0x1efF47bc3a10a45D4B230B5d10E37751FE6AA718"

hashes = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True)


def test_hash_pair_sorts_its_inputs():
    a, b = b"\x01" * 32, b"\x02" * 32
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(a + b)


def test_three_leaves_carry_the_odd_one_up_unhashed():
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    tree = MerkleTree([c, a, b])
    assert tree.leaves == [a, b, c]
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(a) == [b, c]
    assert tree.proof(c) == [hash_pair(a, b)]


def test_single_leaf_is_its_own_root_with_an_empty_proof():
    leaf = b"\x07" * 32
    tree = MerkleTree([leaf])
    assert tree.root == leaf
    assert tree.proof(leaf) == []


def test_empty_tree_has_the_zero_root():
    assert MerkleTree([]).root == EMPTY_ROOT
    assert build_commitments([]).root == EMPTY_ROOT


def test_duplicate_and_malformed_leaves_are_refused():
    with pytest.raises(ValueError, match="duplicate leaf"):
        MerkleTree([b"\x01" * 32, b"\x01" * 32])
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleTree([b"\x01" * 31])
    with pytest.raises(KeyError, match="not in the tree"):
        MerkleTree([b"\x01" * 32]).proof(b"\x02" * 32)


@settings(max_examples=60, deadline=None)
@given(hashes)
def test_every_proof_leads_to_the_root(leaves):
    tree = MerkleTree(leaves)
    for leaf in leaves:
        assert verify_proof(leaf, tree.proof(leaf), tree.root)
    # Depth is ceil(log2(n)) at most.
    assert max(len(tree.proof(leaf)) for leaf in leaves) == (len(leaves) - 1).bit_length()


@settings(max_examples=40, deadline=None)
@given(hashes, st.randoms(use_true_random=False))
def test_root_depends_on_the_set_not_the_order(leaves, rng):
    shuffled = list(leaves)
    rng.shuffle(shuffled)
    assert MerkleTree(leaves).root == MerkleTree(shuffled).root


@settings(max_examples=40, deadline=None)
@given(hashes.filter(lambda h: len(h) >= 2))
def test_a_proof_does_not_transfer_to_another_leaf(leaves):
    tree = MerkleTree(leaves)
    first, second = leaves[0], leaves[1]
    assert process_proof(second, tree.proof(first)) != tree.root


def test_settlement_leaf_is_double_keccak_of_the_abi_encoding():
    packed = encode(
        ["uint256", "uint256", "uint256", "address", "uint256", "int256"],
        [7, 3, 42, ALICE, 1000, -25],
    )
    assert settlement_leaf_hash(7, 3, 42, ALICE, 1000, -25) == keccak(keccak(packed))
    # Every field is bound into the hash.
    assert settlement_leaf_hash(7, 4, 42, ALICE, 1000, -25) != settlement_leaf_hash(
        7, 3, 42, ALICE, 1000, -25
    )
    assert settlement_leaf_hash(7, 3, 42, BOB, 1000, -25) != settlement_leaf_hash(
        7, 3, 42, ALICE, 1000, -25
    )


def test_commitment_leaf_is_double_keccak_of_the_hash():
    h = b"\xab" * 32
    assert commitment_leaf_hash(h) == keccak(keccak(h))
    with pytest.raises(ValueError, match="32 bytes"):
        commitment_leaf_hash(b"\xab" * 20)


def test_build_settlement_totals_and_proofs():
    settlement = build_settlement(
        tournament_id=7,
        round_id=3,
        payouts=[
            Payout(model_id=9, owner=BOB.lower(), stake_at_risk=500, delta=-40),
            {"model_id": 2, "owner": ALICE, "stake_at_risk": 100, "delta": 15},
            Payout(model_id=5, owner=ALICE, stake_at_risk=0, delta=0),
        ],
    )
    assert [leaf.model_id for leaf in settlement.leaves] == [2, 5, 9]
    assert settlement.leaves[2].owner == BOB  # normalised to the checksum form
    assert (settlement.total_rewards, settlement.total_burns, settlement.leaf_count) == (15, 40, 3)
    for leaf, proof in settlement.leaves_with_proofs():
        assert verify_proof(leaf.hash, proof, settlement.root)
    bundle = settlement.as_dict()
    assert bundle["root"] == "0x" + settlement.root.hex()
    assert [item["delta"] for item in bundle["leaves"]] == ["15", "0", "-40"]


@pytest.mark.parametrize(
    ("payout", "message"),
    [
        ({"model_id": 1, "owner": "0x123", "stake_at_risk": 1, "delta": 0}, "is not an address"),
        (
            {"model_id": 1, "owner": ALICE, "stake_at_risk": 10, "delta": -11},
            "exceeds stake at risk",
        ),
        ({"model_id": -1, "owner": ALICE, "stake_at_risk": 1, "delta": 0}, "outside uint256"),
        ({"model_id": 1, "owner": ALICE, "stake_at_risk": 2**256, "delta": 0}, "outside uint256"),
        ({"model_id": 1, "owner": ALICE, "stake_at_risk": 1, "delta": 2**255}, "outside int256"),
    ],
)
def test_build_settlement_refuses_bad_payouts(payout, message):
    with pytest.raises(ValueError, match=message):
        build_settlement(tournament_id=1, round_id=1, payouts=[payout])


def test_build_settlement_refuses_a_model_twice():
    payout = {"model_id": 1, "owner": ALICE, "stake_at_risk": 1, "delta": 0}
    with pytest.raises(ValueError, match="appears twice"):
        build_settlement(tournament_id=1, round_id=1, payouts=[payout, payout])


def test_batches_cut_leaves_in_order():
    settlement = build_settlement(
        tournament_id=1,
        round_id=1,
        payouts=[
            {"model_id": i, "owner": ALICE, "stake_at_risk": 1, "delta": 1} for i in range(1, 251)
        ],
    )
    batches = settlement.batches(100)
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert batches[2][-1][0].model_id == 250
    with pytest.raises(ValueError, match="1 to 128"):
        settlement.batches(129)
