"""The ledger port: every place where money moves or is held goes through one interface.

Two adapters: the database ledger (tournaments/services/ledger_db.py), for runs without a
chain (ARENA_CHAIN=off), and the chain ledger (chain/ledger.py: the staking contract on the
embedded py-evm chain or over JSON-RPC), which the chain app registers from its ready().
`ledger()` picks the adapter for the configured profile; tournaments' services never ask
which one it is.

Lock order: `session()` is entered before any database transaction of a money step (the chain
adapter's is the process's gateway lock), so the two locks never wait on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tournaments.models import ModelSlot, Payout, Round, Tournament


class Ledger(Protocol):
    """What the round life asks of the place money lives."""

    name: str
    # The platform's database mirrors the ledger's balances (stakes, pools) rather than
    # holding them: a write shows in the database once sync() has read it back.
    mirrored: bool

    def session(self) -> AbstractContextManager[object]:
        """Held across one money step, entered before its database transaction."""

    def sync(self) -> int:
        """Bring the database's mirror up to date (chain events); returns what it read."""

    def stake(self, *, model: ModelSlot, amount: int) -> None:
        """Put `amount` more at stake on `model` (its owner's tokens)."""

    def release(self, *, model: ModelSlot, amount: int) -> None:
        """Release `amount` of `model`'s free stake (checked free by the caller)."""

    def fund_pool(self, *, tournament: Tournament, amount: int) -> None:
        """Add `amount` to the tournament's reward pool (after the tournament committed)."""

    def pool(self, *, tournament_id: int) -> int:
        """The tournament's reward pool as the ledger holds it now."""

    def not_yet_reserved(self, pending: QuerySet[Payout]) -> QuerySet[Payout]:
        """Of other rounds' pending payouts, those whose rewards the ledger has not yet
        taken out of its pool (so the pool still counts them)."""

    def round_opened(self, *, round: Round) -> None:
        """The round opens for submissions (inside round_open's transaction)."""

    def round_closed(self, *, round: Round) -> None:
        """The round closed (inside round_close's transaction): note where stakes are read."""

    def round_commitments_after_commit(self, *, round: Round) -> None:
        """Schedule the commitments' publication once the close has committed."""

    def stakes_at_risk_fixed(self, *, round: Round) -> None:
        """Make the round's stake snapshot the ledger's own (before payouts are computed)."""

    def prepare_settlement(self, *, round: Round) -> None:
        """Outside the round's lock: what must exist before settling (registrations)."""

    def describe(self) -> dict | None:
        """Where the money lives, for clients that check it (None: in this database)."""

    def published_commitments(self, *, round: Round) -> dict | None:
        """The round's commitments root as the ledger holds it, read now (None: none)."""

    def settle(self, *, round: Round, now: datetime) -> str | None:
        """One step of applying the round's payouts, exactly once overall; the settled
        transition's detail once every payout is applied, None while it must wait."""


_factories: dict[str, Callable[[], Ledger]] = {}


def register_ledger(profile: str, factory: Callable[[], Ledger]) -> None:
    """Offer an adapter for ARENA_CHAIN=`profile` (once, from an app's ready())."""
    _factories[profile] = factory


def ledger() -> Ledger:
    """The adapter for the configured profile (ARENA_CHAIN)."""
    try:
        return _factories[settings.ARENA_CHAIN]()
    except KeyError:
        raise RuntimeError(f"no ledger for ARENA_CHAIN={settings.ARENA_CHAIN!r}") from None
