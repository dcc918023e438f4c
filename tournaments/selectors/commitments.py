"""What a round publishes so anyone can check its submissions: its keys, the Merkle root of
the counted envelopes, and each envelope's inclusion proof."""

import logging

from arena_client.cid import cid_digest

from core.errors import Conflict
from core.merkle import MerkleTree, commitment_leaf_hash
from tournaments.models import Round, RoundKey, RoundState, Submission
from tournaments.round_keys import RoundKeyError, round_private_key_published

log = logging.getLogger("arena.selectors")


def round_encryption(*, round: Round) -> dict:
    """What the round publishes about its keys and commitments (API round detail, round page).

    public_key: hex, from the moment the round opens. private_key: hex, once the round has
    resolved, so anyone can re-open the envelopes and re-check the scoring. commitments_root:
    "0x…" from close on.
    """
    key = RoundKey.objects.filter(round=round).first()
    try:
        published = round_private_key_published(round=round) if key else None
    except RoundKeyError:
        # A misconfigured key-encryption key must not take public pages down; it is logged
        # loudly here and fails the round's decryption step outright.
        log.exception("%s: cannot open the stored round key to publish it", round)
        published = None
    return {
        "public_key": key.public_key if key else None,
        "private_key": published.hex() if published else None,
        "commitments_root": round.commitments_root or None,
        "commitments_count": round.commitments_count,
    }


def commitments_tree(*, round: Round) -> MerkleTree:
    """The Merkle tree over the round's counted envelopes (arena_client.merkle's scheme).

    Leaves are keccak256(keccak256(sha256 digest carried by the CID)). Equal envelopes counted
    for two models would be one leaf (a tree cannot hold a leaf twice), so digests are
    de-duplicated; `len(tree)` is the number of distinct envelopes committed to.
    """
    cids = round.submissions.filter(is_counted=True).values_list("cid", flat=True)
    digests = {cid_digest(cid) for cid in cids}
    return MerkleTree(commitment_leaf_hash(digest) for digest in digests)


def submission_inclusion_proof(*, submission: Submission) -> dict:
    """Proof that a counted submission's envelope is under its round's commitments root.

    Conflict while the round is open (nothing is committed yet) and for a submission that was
    not counted; the tree is rebuilt from the counted rows and must give the stored root.
    """
    round = submission.round
    if round.state in (RoundState.SCHEDULED, RoundState.OPEN):
        raise Conflict(
            f"round {round.number} is {round.state}: its submissions are committed when it "
            f"closes at {round.closes_at.isoformat()}",
            code="round_not_closed",
        )
    if not submission.is_counted:
        raise Conflict(
            f"submission {submission.id} was not counted at close (a later upload to round "
            f"{round.number} replaced it): only counted submissions are committed",
            code="not_counted",
        )
    if not round.commitments_root:
        raise Conflict(
            f"round {round.number} closed before commitments were recorded", code="no_commitments"
        )
    tree = commitments_tree(round=round)
    root = "0x" + tree.root.hex()
    if root != round.commitments_root:
        raise RuntimeError(
            f"{round}: the counted submissions give root {root}, not the recorded "
            f"{round.commitments_root}"
        )
    digest = cid_digest(submission.cid)
    leaf = commitment_leaf_hash(digest)
    return {
        "submission": submission,
        "digest": "0x" + digest.hex(),
        "leaf": "0x" + leaf.hex(),
        "proof": ["0x" + node.hex() for node in tree.proof(leaf)],
        "root": root,
        "count": len(tree),
    }
