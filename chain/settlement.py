"""Pure builders for what a round puts on-chain: its commitments root and its settlement.

No chain access here: the round services compute these from database rows, then hand the
root and totals to the gateway (``post_commitments_root`` / ``propose_settlement``) and the
leaves with proofs to ``apply_leaves``. Rebuilding from the same payouts always gives the
same root, so a crashed run can rebuild instead of storing proofs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils import is_address, to_checksum_address

from core.merkle import MerkleTree, commitment_leaf_hash, settlement_leaf_hash

UINT256_MAX = 2**256 - 1
INT256_MIN = -(2**255)
INT256_MAX = 2**255 - 1
# The contract accepts up to 128 leaves per call; 100 keeps a batch well under a block's
# gas limit and is the size the gas target is stated for.
DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class Payout:
    """One model's result for a round, as the payout rules computed it (token base units)."""

    model_id: int
    owner: str
    stake_at_risk: int
    delta: int


@dataclass(frozen=True)
class SettlementLeaf:
    tournament_id: int
    round_id: int
    model_id: int
    owner: str
    stake_at_risk: int
    delta: int

    @property
    def hash(self) -> bytes:
        return settlement_leaf_hash(
            self.tournament_id,
            self.round_id,
            self.model_id,
            self.owner,
            self.stake_at_risk,
            self.delta,
        )


@dataclass(frozen=True)
class Settlement:
    """A round's settlement: root, declared totals and each leaf's proof."""

    tournament_id: int
    round_id: int
    leaves: tuple[SettlementLeaf, ...]
    root: bytes
    total_rewards: int
    total_burns: int
    _proofs: Mapping[int, tuple[bytes, ...]] = field(repr=False)

    @property
    def leaf_count(self) -> int:
        return len(self.leaves)

    def proof_for(self, model_id: int) -> list[bytes]:
        return list(self._proofs[model_id])

    def leaves_with_proofs(self) -> Iterator[tuple[SettlementLeaf, list[bytes]]]:
        for leaf in self.leaves:
            yield leaf, self.proof_for(leaf.model_id)

    def batches(
        self, size: int = DEFAULT_BATCH_SIZE
    ) -> list[list[tuple[SettlementLeaf, list[bytes]]]]:
        """Leaves with proofs cut into ``apply_leaves`` calls of at most ``size`` leaves."""
        if not 1 <= size <= 128:
            raise ValueError("a batch holds 1 to 128 leaves (the contract's bound)")
        items = list(self.leaves_with_proofs())
        return [items[i : i + size] for i in range(0, len(items), size)]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the round's audit bundle (hashes as 0x-hex)."""
        return {
            "tournament_id": self.tournament_id,
            "round_id": self.round_id,
            "root": "0x" + self.root.hex(),
            "leaf_count": self.leaf_count,
            "total_rewards": str(self.total_rewards),
            "total_burns": str(self.total_burns),
            "hashing": "keccak256(keccak256(abi.encode(uint256 tournament_id, uint256 round_id, "
            "uint256 model_id, address owner, uint256 stake_at_risk, int256 delta))); "
            "nodes keccak256(sorted pair)",
            "leaves": [
                {
                    "model_id": leaf.model_id,
                    "owner": leaf.owner,
                    "stake_at_risk": str(leaf.stake_at_risk),
                    "delta": str(leaf.delta),
                    "leaf_hash": "0x" + leaf.hash.hex(),
                    "proof": ["0x" + node.hex() for node in self.proof_for(leaf.model_id)],
                }
                for leaf in self.leaves
            ],
        }


@dataclass(frozen=True)
class Commitments:
    """The Merkle tree over a round's submission hashes, posted at close."""

    tree: MerkleTree
    submission_hashes: tuple[bytes, ...]

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def count(self) -> int:
        return len(self.submission_hashes)

    def proof_for(self, submission_hash: bytes) -> list[bytes]:
        return self.tree.proof(commitment_leaf_hash(submission_hash))


def _check_payout(payout: Payout) -> Payout:
    if not 0 <= payout.model_id <= UINT256_MAX:
        raise ValueError(f"model id {payout.model_id} is outside uint256")
    if not is_address(payout.owner):
        raise ValueError(f"model {payout.model_id}: owner {payout.owner!r} is not an address")
    if not 0 <= payout.stake_at_risk <= UINT256_MAX:
        raise ValueError(f"model {payout.model_id}: stake at risk is outside uint256")
    if not INT256_MIN <= payout.delta <= INT256_MAX:
        raise ValueError(f"model {payout.model_id}: delta is outside int256")
    if -payout.delta > payout.stake_at_risk:
        # The contract rejects such a leaf, which would block the whole round.
        raise ValueError(f"model {payout.model_id}: burn {-payout.delta} exceeds stake at risk")
    return Payout(
        model_id=payout.model_id,
        owner=to_checksum_address(payout.owner),
        stake_at_risk=payout.stake_at_risk,
        delta=payout.delta,
    )


def build_settlement(
    *, tournament_id: int, round_id: int, payouts: Iterable[Payout | Mapping[str, Any]]
) -> Settlement:
    """Leaves, root, totals and proofs for one round.

    ``payouts`` holds one entry per model (a ``Payout`` or a mapping with the same keys).
    Zero deltas are kept: the leaf records that the model was settled for the round.
    Raises ValueError on a duplicate model, an out-of-range number or a burn larger than
    the stake at risk.
    """
    checked: list[Payout] = []
    seen: set[int] = set()
    for item in payouts:
        payout = item if isinstance(item, Payout) else Payout(**item)
        payout = _check_payout(payout)
        if payout.model_id in seen:
            raise ValueError(f"model {payout.model_id} appears twice in one round")
        seen.add(payout.model_id)
        checked.append(payout)
    checked.sort(key=lambda p: p.model_id)
    leaves = tuple(
        SettlementLeaf(
            tournament_id=tournament_id,
            round_id=round_id,
            model_id=p.model_id,
            owner=p.owner,
            stake_at_risk=p.stake_at_risk,
            delta=p.delta,
        )
        for p in checked
    )
    tree = MerkleTree(leaf.hash for leaf in leaves)
    proofs = {leaf.model_id: tuple(tree.proof(leaf.hash)) for leaf in leaves}
    return Settlement(
        tournament_id=tournament_id,
        round_id=round_id,
        leaves=leaves,
        root=tree.root,
        total_rewards=sum(leaf.delta for leaf in leaves if leaf.delta > 0),
        total_burns=sum(-leaf.delta for leaf in leaves if leaf.delta < 0),
        _proofs=proofs,
    )


def build_commitments(submission_hashes: Iterable[bytes]) -> Commitments:
    """Commitments tree over 32-byte submission hashes (e.g. the sha2-256 digest of a CID)."""
    hashes = tuple(submission_hashes)
    tree = MerkleTree(commitment_leaf_hash(h) for h in hashes)
    return Commitments(tree=tree, submission_hashes=hashes)
