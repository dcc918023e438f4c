"""What a ledger that holds the money elsewhere (the chain) writes back into the database.

The chain's indexer and keeper call these services; they never write tournaments' tables
themselves.
"""

from datetime import datetime

from tournaments import signals
from tournaments.models import ModelSlot, PayoutState, Round, StakeEvent, Tournament


def stake_mirror(
    *, model_id: int, stake: int, kind: str, tx_hash: str, round: Round | None = None
) -> ModelSlot | None:
    """Set a model's stake to what the ledger holds now, with the change in its history.
    Call inside a transaction. None for a model this platform does not know."""
    model = ModelSlot.objects.select_for_update().filter(pk=model_id).first()
    if model is None:
        return None  # a model of another platform sharing the contract
    # The history records the change of `stake` itself (a burn may also reach unbonding
    # stake, which `stake` no longer holds), so it always sums to the mirror.
    change = stake - model.stake
    model.stake = stake
    model.save(update_fields=["stake"])
    StakeEvent.objects.create(model=model, kind=kind, amount=change, round=round, tx_hash=tx_hash)
    signals.announce(signals.stake_changed, sender=ModelSlot, model=model)  # the live pages, after commit
    return model


def pool_mirror(*, tournament_id: int, pool: int) -> None:
    """Set a tournament's reward pool to what the ledger holds now."""
    Tournament.objects.filter(pk=tournament_id).update(reward_pool=pool)


def payouts_mark_settled(
    *, round: Round, now: datetime, tx_by_model: dict[int, str], only: set[int] | None = None
) -> int:
    """The ledger applied the round's payouts (or, with `only`, those of these models): each
    pending one is settled, with its tx."""
    settled = 0
    pending = round.payouts.filter(state=PayoutState.PENDING)
    if only is not None:
        pending = pending.filter(model_id__in=only)
    for payout in pending:
        payout.state = PayoutState.SETTLED
        payout.settled_at = now
        payout.tx_hash = tx_by_model.get(payout.model_id, "")
        payout.save(update_fields=["state", "settled_at", "tx_hash"])
        settled += 1
    return settled


def payouts_void(*, round: Round) -> int:
    """The ledger gave the round up (abandoned): no payout was applied; they are kept, void,
    to show what the disputed settlement would have paid."""
    return round.payouts.filter(state=PayoutState.PENDING).update(state=PayoutState.VOID)
