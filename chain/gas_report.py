"""Gas figures of the operations the cost targets are stated for, measured on a fresh chain.

``gas_report()`` deploys on an in-process chain (py-evm, prague rules), runs one round with
``batch_size`` models and returns plain numbers (gas units from the receipts, so intrinsic
and calldata costs are included). The lead wraps it as ``manage.py chain gas-report``.
"""

from __future__ import annotations

from typing import Any

from chain.gateway import ChainGateway
from chain.settlement import Payout, build_commitments, build_settlement

TOURNAMENT_ID = 1
STAKE = 10**21  # 1,000 tokens of 18 decimals


def _settle_round(
    gateway: ChainGateway, *, round_id: int, model_ids: list[int], owner: str
) -> dict[str, int]:
    """Open, close, propose, finalize and apply one round over ``model_ids``, as the
    platform does; gas of each step."""
    opened = gateway.open_round(tournament_id=TOURNAMENT_ID, round_id=round_id)
    commitments = build_commitments(
        (model_id * 1_000_003 + round_id).to_bytes(32, "big") for model_id in model_ids
    )
    posted = gateway.post_commitments_root(
        tournament_id=TOURNAMENT_ID,
        round_id=round_id,
        root=commitments.root,
        submission_count=commitments.count,
    )
    # Alternate gains and losses so the batch exercises both paths (and one burn call).
    payouts = [
        Payout(
            model_id=model_id,
            owner=owner,
            stake_at_risk=STAKE,
            delta=(STAKE // 100) * (1 if i % 2 == 0 else -1),
        )
        for i, model_id in enumerate(model_ids)
    ]
    settlement = build_settlement(tournament_id=TOURNAMENT_ID, round_id=round_id, payouts=payouts)
    proposed = gateway.propose_settlement(
        tournament_id=TOURNAMENT_ID,
        round_id=round_id,
        root=settlement.root,
        leaf_count=settlement.leaf_count,
        total_rewards=settlement.total_rewards,
        total_burns=settlement.total_burns,
    )
    gateway.advance_time(gateway.tournament(TOURNAMENT_ID)["challenge_window"])
    finalized = gateway.finalize_settlement(tournament_id=TOURNAMENT_ID, round_id=round_id)
    (applied,) = gateway.apply_settlement(settlement, batch_size=len(model_ids))
    assert gateway.round_state(TOURNAMENT_ID, round_id)["status_name"] == "completed"
    return {
        "open_round": opened.gas_used,
        "post_commitments_root": posted.gas_used,
        "propose_settlement": proposed.gas_used,
        "finalize_settlement": finalized.gas_used,
        "apply_batch": applied.gas_used,
        "proof_length": len(settlement.proof_for(model_ids[0])),
    }


def gas_report(batch_size: int = 100, gateway: ChainGateway | None = None) -> dict[str, Any]:
    """Gas of stake, approve, fund, open, post root, propose, finalize and apply per leaf.

    Two rounds are applied: model ids 1..N (dense, as database ids usually are, so the
    contract's applied-bitmap shares storage words) and ids spaced 256 apart (every leaf
    pays for a fresh bitmap word: the worst case). ``gateway`` defaults to a fresh
    in-process chain; pass a deployed dev gateway (e.g. on anvil) to measure there.
    Tournament id 1 and model ids 1..N and 1_000_000+ must be unused on it.
    """
    if gateway is None:
        gateway = ChainGateway.in_process()
    guardian, owner, sponsor = gateway.dev_accounts[:3]
    gateway.register_tournament(
        tournament_id=TOURNAMENT_ID, guardian=guardian, challenge_window=3600
    )
    dense = list(range(1, batch_size + 1))
    sparse = [1_000_000 + 256 * i for i in range(batch_size)]
    gateway.mint(to=owner, amount=STAKE * 2 * batch_size + 1)
    gateway.mint(to=sponsor, amount=STAKE * batch_size)
    approve = gateway.approve(amount=2**256 - 1, sender=owner)
    first_stake = None
    for model_id in dense + sparse:
        gateway.register_model(model_id=model_id, tournament_id=TOURNAMENT_ID, owner=owner)
        result = gateway.stake(model_id=model_id, amount=STAKE, sender=owner)
        first_stake = first_stake or result
    top_up = gateway.stake(model_id=dense[0], amount=1, sender=owner)
    funded = gateway.fund(tournament_id=TOURNAMENT_ID, amount=STAKE * batch_size, sender=sponsor)

    dense_round = _settle_round(gateway, round_id=1, model_ids=dense, owner=owner)
    sparse_round = _settle_round(gateway, round_id=2, model_ids=sparse, owner=owner)
    operator_per_round = (
        dense_round["open_round"]
        + dense_round["post_commitments_root"]
        + dense_round["propose_settlement"]
        + dense_round["finalize_settlement"]
    )
    return {
        "backend": gateway.backend,
        "batch_size": batch_size,
        "proof_length": dense_round["proof_length"],
        "approve": approve.gas_used,
        "stake_first": first_stake.gas_used,
        "stake_top_up": top_up.gas_used,
        "fund": funded.gas_used,
        "open_round": dense_round["open_round"],
        "post_commitments_root": dense_round["post_commitments_root"],
        "propose_settlement": dense_round["propose_settlement"],
        "finalize_settlement": dense_round["finalize_settlement"],
        "operator_per_round": operator_per_round,
        "apply_batch_total": dense_round["apply_batch"],
        "apply_per_leaf": dense_round["apply_batch"] // batch_size,
        "apply_batch_total_sparse_ids": sparse_round["apply_batch"],
        "apply_per_leaf_sparse_ids": sparse_round["apply_batch"] // batch_size,
        "apply_per_leaf_target": 60_000,
    }


if __name__ == "__main__":  # python -m chain.gas_report
    import json

    print(json.dumps(gas_report()))
