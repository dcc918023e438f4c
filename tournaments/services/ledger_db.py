"""The database ledger: the ledger port's adapter for runs without a chain (ARENA_CHAIN=off).

Stakes and pools are the database's own rows; every change is a row-locked StakeEvent
(model_slots.stake_change) and settlement applies the payouts in the round's transaction.
"""

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from tournaments.models import ModelSlot, Payout, Round, StakeEventKind, Tournament
from tournaments.services.model_slots import stake_change
from tournaments.services.payouts import payouts_apply


class DatabaseLedger:
    name = "database"
    mirrored = False

    def session(self) -> AbstractContextManager[object]:
        return nullcontext()

    def sync(self) -> int:
        return 0

    def stake(self, *, model: ModelSlot, amount: int) -> None:
        stake_change(model=model, amount=amount, kind=StakeEventKind.DEPOSIT)

    def release(self, *, model: ModelSlot, amount: int) -> None:
        stake_change(model=model, amount=-amount, kind=StakeEventKind.RELEASE)

    def fund_pool(self, *, tournament: Tournament, amount: int) -> None:
        with transaction.atomic():
            locked = Tournament.objects.select_for_update().get(pk=tournament.pk)
            locked.reward_pool += amount  # wei: a Python int through the field, not SQL
            locked.save(update_fields=["reward_pool"])
        tournament.reward_pool = locked.reward_pool

    def pool(self, *, tournament_id: int) -> int:
        return Tournament.objects.get(pk=tournament_id).reward_pool

    def not_yet_reserved(self, pending: QuerySet[Payout]) -> QuerySet[Payout]:
        return pending  # rewards leave the pool only when they are applied

    def round_opened(self, *, round: Round) -> None:
        pass

    def round_closed(self, *, round: Round) -> None:
        pass

    def round_commitments_after_commit(self, *, round: Round) -> None:
        pass  # the commitments root is recorded with the close (round_commitments_record)

    def stakes_at_risk_fixed(self, *, round: Round) -> None:
        pass  # the close's snapshot is the ledger's own

    def prepare_settlement(self, *, round: Round) -> None:
        pass

    def describe(self) -> dict | None:
        return None

    def published_commitments(self, *, round: Round) -> dict | None:
        return None  # the root is the platform's record only (RoundCommitments)

    def settle(self, *, round: Round, now: datetime) -> str | None:
        return f"{payouts_apply(round=round, now=now)} payouts applied"
