"""The chain ledger: the ledger port's adapter for the staking contract (tournaments/ledger.py).

Stakes, pools and payouts live in the contract, on the embedded py-evm chain or behind
JSON-RPC; the database mirrors them through the indexer (chain_index → tournaments'
mirror services). Writes from the platform's side are sent from custodial dev wallets on dev
chains; on a real chain modelers and sponsors sign them in their own wallets.
"""

import logging
from contextlib import AbstractContextManager
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from chain.client import use_gateway
from chain.models import IndexedEvent
from chain.selectors import chain_summary, onchain_commitments
from chain.services import (
    chain_fund_from_dev_wallet,
    chain_index,
    chain_open_round,
    chain_post_commitments,
    chain_prepare_settlement,
    chain_record_close,
    chain_request_release_from_dev_wallet,
    chain_settlement_step,
    chain_stake_from_dev_wallet,
)
from chain.tasks import post_commitments
from core.errors import ArenaError
from tournaments.models import ModelSlot, Payout, PayoutState, Round, Tournament

log = logging.getLogger("arena.chain")


class ChainLedger:
    name = "chain"
    mirrored = True

    def session(self) -> AbstractContextManager[object]:
        return use_gateway()

    def sync(self) -> int:
        return chain_index()

    def stake(self, *, model: ModelSlot, amount: int) -> None:
        chain_stake_from_dev_wallet(model=model, amount=amount)

    def release(self, *, model: ModelSlot, amount: int) -> None:
        chain_request_release_from_dev_wallet(model=model, amount=amount)

    def fund_pool(self, *, tournament: Tournament, amount: int) -> None:
        # After the tournament's commit: a funding the chain kept must not belong to a
        # tournament whose row was rolled back. The indexer mirrors the new pool.
        def fund() -> None:
            try:
                chain_fund_from_dev_wallet(tournament=tournament, amount=amount)
            except ArenaError as exc:
                log.warning("%s: reward pool not funded: %s", tournament.slug, exc.message)
            except Exception:  # noqa: BLE001 - the tournament is committed; funding can be redone
                log.exception("%s: reward pool not funded", tournament.slug)

        transaction.on_commit(fund)

    def pool(self, *, tournament_id: int) -> int:
        # The contract's, not the mirror's (which lags by the confirmation depth).
        with use_gateway() as gateway:
            return gateway.pool_of(tournament_id)

    def not_yet_reserved(self, pending: QuerySet[Payout]) -> QuerySet[Payout]:
        # A finalized settlement has had its rewards reserved out of the contract's pool:
        # known from the keeper's record, or from the indexer (finalized by a step whose
        # transaction then rolled back, or by anyone else).
        finalized = set(
            IndexedEvent.objects.filter(name="SettlementFinalized").values_list(
                "args__tournament_id", "args__round_id"
            )
        )
        rounds = Round.objects.filter(pk__in=pending.values("round_id"))
        seen_final = [
            pk for pk, t, n in rounds.values_list("pk", "tournament_id", "number") if (t, n) in finalized
        ]
        return pending.exclude(round__chain__finalized_tx__gt="").exclude(round_id__in=seen_final)

    def round_opened(self, *, round: Round) -> None:
        chain_open_round(round=round)

    def round_closed(self, *, round: Round) -> None:
        chain_record_close(round=round)

    def round_commitments_after_commit(self, *, round: Round) -> None:
        transaction.on_commit(lambda: post_commitments.delay(round.pk))

    def stakes_at_risk_fixed(self, *, round: Round) -> None:
        chain_post_commitments(round=round)

    def prepare_settlement(self, *, round: Round) -> None:
        chain_prepare_settlement(round=round)

    def describe(self) -> dict | None:
        return chain_summary()

    def published_commitments(self, *, round: Round) -> dict | None:
        return onchain_commitments(round=round)

    def settle(self, *, round: Round, now: datetime) -> str | None:
        if not chain_settlement_step(round=round, now=now):
            return None  # the challenge window is open, or the chain must wait
        round.chain.refresh_from_db()
        if round.chain.abandoned_tx:
            settled = round.payouts.filter(state=PayoutState.SETTLED).count()
            applied = "no payout applied" if not settled else f"{settled} payout(s) applied before it, the rest void"
            return (
                f"abandoned on-chain 90 days after its close, unsettled (root "
                f"{round.chain.settlement_root}): {applied}; every stake at risk released"
            )
        return f"settled on-chain, root {round.chain.settlement_root}"
