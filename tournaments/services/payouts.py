"""Payouts: a pure function of final scores, stakes at close and the round's frozen rules."""

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

import numpy as np

import scoring
from core.errors import Conflict
from core.money import wei_to_tokens
from tournaments.ledger import ledger
from tournaments.models import (
    Payout,
    PayoutState,
    Round,
    StakeEventKind,
    StakeSnapshot,
    Tournament,
)
from tournaments.selectors import stake_snapshot_map
from tournaments.services.model_slots import stake_change


def _fraction_to_wei(stake_wei: int, payout_tokens: float, stake_tokens: float) -> int:
    """stake_wei × (payout / stake), truncated toward zero so we never pay a wei too much.

    The per-stake fraction is rounded to 15 significant digits (float's precision) so that
    float noise (60 × 0.05 = 3.0000000000000004) cannot add wei to an exact cap.
    """
    if stake_wei == 0 or stake_tokens == 0:
        return 0
    fraction = Decimal(f"{payout_tokens / stake_tokens:.15g}")
    return int((Decimal(stake_wei) * fraction).to_integral_value(rounding=ROUND_DOWN))


def _cap_rewards_to_pool(amounts: list[int], pool: int) -> list[int]:
    """Rewards never exceed the pool: scale positive payouts down pro rata if they would."""
    total = sum(a for a in amounts if a > 0)
    if total <= pool:
        return amounts
    return [a * pool // total if a > 0 else a for a in amounts]


def _pool_available(round: Round) -> int:
    """The reward pool minus rewards already promised to other resolved, unsettled rounds.

    The pool is the ledger's (on a chain the contract's: the mirror may lag by the
    confirmation depth), and only rounds whose rewards the ledger has not reserved yet are
    subtracted (on a chain, a finalized settlement has had its rewards reserved there).
    """
    pending = Payout.objects.filter(
        round__tournament_id=round.tournament_id, state=PayoutState.PENDING
    ).exclude(round=round)
    # The tournament's row lock serialises rounds resolving at once (overlapping workers), so
    # two of them can never both promise the same part of the pool.
    Tournament.objects.select_for_update().get(pk=round.tournament_id)
    money = ledger()
    pool = money.pool(tournament_id=round.tournament_id)
    pending = money.not_yet_reserved(pending)
    promised = sum(max(amount, 0) for amount in pending.values_list("amount", flat=True))
    return max(pool - promised, 0)


def stake_snapshot_correct(*, round: Round, amounts: dict[int, int]) -> int:
    """Replace the round's stake snapshot (taken at close from the platform's records) with
    the stakes at risk the ledger itself held at the round's close (model id → wei); only
    before payouts exist. Returns how many rows changed."""
    if round.payouts.exists():
        raise Conflict(f"round {round.number} has payouts: its stakes at risk are fixed")
    changed = 0
    for snapshot in StakeSnapshot.objects.filter(round=round, model_id__in=amounts):
        if snapshot.amount != amounts[snapshot.model_id]:
            changed += StakeSnapshot.objects.filter(pk=snapshot.pk).update(amount=amounts[snapshot.model_id])
    return changed


def payouts_for_round(*, round: Round) -> list[Payout]:
    """Compute and store payouts from the last score day. Call inside the round's row lock."""
    existing = list(round.payouts.all())
    if existing:
        return existing
    # The last scored day: the final one, or the last before a target that never came
    # (round_resolve); no scored day, no payouts.
    final_scores = list(round.scores.filter(day=round.scored_days).select_related("model"))
    if not final_scores:
        return []
    rules = round.rules
    snapshot = stake_snapshot_map(round=round)
    stakes_wei = [snapshot.get(s.model_id, 0) for s in final_scores]
    stakes = np.array([float(wei_to_tokens(w)) for w in stakes_wei])
    corr = np.array([s.corr for s in final_scores])
    mmc = np.array([s.mmc for s in final_scores])
    # DEX rounds carry each model's P&L contribution; a model without one (none computed)
    # neither gains nor loses by it.
    pnl = np.array([s.pnl_contribution or 0.0 for s in final_scores])
    threshold = float(wei_to_tokens(int(rules["payout_threshold"])))
    total_stake = float(stakes.sum())
    if total_stake > 0:
        amounts_tokens = scoring.payouts(
            stakes,
            corr,
            mmc,
            threshold=threshold,
            corr_multiplier=rules["corr_multiplier"],
            mmc_multiplier=rules["mmc_multiplier"],
            cap=rules["payout_cap"],
            pnl=pnl,
            pnl_multiplier=float(rules.get("pnl_multiplier", 0.0)),
        )
        payout_factor = min(1.0, threshold / total_stake)
    else:
        amounts_tokens = np.zeros(len(final_scores))
        payout_factor = 1.0
    amounts = [
        # A burn never exceeds the stake at risk (the contract refuses such a leaf).
        max(_fraction_to_wei(w, float(p), float(s)), -w)
        for w, p, s in zip(stakes_wei, amounts_tokens, stakes, strict=True)
    ]
    amounts = _cap_rewards_to_pool(amounts, _pool_available(round))
    return Payout.objects.bulk_create(
        [
            Payout(
                round=round,
                model=s.model,
                stake_at_risk=w,
                corr=s.corr,
                mmc=s.mmc,
                pnl_contribution=s.pnl_contribution,
                payout_factor=payout_factor,
                amount=a,
            )
            for s, w, a in zip(final_scores, stakes_wei, amounts, strict=True)
        ]
    )


def payouts_apply(*, round: Round, now: datetime) -> int:
    """Database settlement: rewards from the pool onto stakes, burns off stakes.

    Call inside the round's row lock; each payout flips to settled in the same transaction
    as its stake change, so a retry finds nothing pending.
    """
    applied = 0
    rewards = 0
    for payout in round.payouts.filter(state=PayoutState.PENDING).select_related("model"):
        amount = payout.amount
        if amount < 0:
            # A burn never exceeds what is staked now (the modeler may have been burned elsewhere).
            amount = max(amount, -payout.model.stake)
            kind = StakeEventKind.BURN
        else:
            rewards += amount
            kind = StakeEventKind.REWARD
        if amount:
            stake_change(model=payout.model, amount=amount, kind=kind, round=round)
        payout.state = PayoutState.SETTLED
        payout.settled_at = now
        payout.save(update_fields=["state", "settled_at"])
        applied += 1
    if rewards:
        tournament = Tournament.objects.select_for_update().get(pk=round.tournament_id)
        tournament.reward_pool = tournament.reward_pool - rewards
        tournament.save(update_fields=["reward_pool"])
    return applied


__all__ = ["payouts_for_round", "payouts_apply"]
