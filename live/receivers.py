"""What the live feed does when tournaments announces a change (tournaments/signals.py).

LiveConfig.ready() connects these receivers. Each change schedules, on commit, one publish
per tournament (live.tasks.leaderboard_publish, live/publish.py) and, where only one
modeler's own view shows it, a refresh of that private view. Nothing is sent for a change
that rolls back, and a transaction that changes many models (settling a round) publishes
once.
"""

import logging
import threading

from django.db import transaction

from live import publish, tasks
from tournaments import signals
from tournaments.models import Tournament

log = logging.getLogger("arena.events")

_pending = threading.local()


def _pending_reasons() -> dict[int, set[str]]:
    if not hasattr(_pending, "reasons"):
        _pending.reasons = {}
    return _pending.reasons


def _publish_on_commit(tournament_id: int, reason: str) -> None:
    """One publish per tournament per commit, however many changes the transaction made
    (settling a round changes every staked model)."""
    _pending_reasons().setdefault(tournament_id, set()).add(reason)
    transaction.on_commit(lambda: _flush(tournament_id))


def _flush(tournament_id: int) -> None:
    reasons = _pending_reasons().pop(tournament_id, None)
    if reasons is None:
        return  # an earlier callback of the same commit already published
    try:
        tasks.leaderboard_publish.delay(tournament_id, "+".join(sorted(reasons))[:40])
    except Exception:  # noqa: BLE001 - as in publish.deliver: the change itself is committed
        log.exception("could not publish tournament %s", tournament_id)


def _private_refresh_on_commit(tournament_id: int, owner_id: int, slug: str | None = None) -> None:
    """After commit, tell the owner's private view to refresh. `slug`, when the caller has
    the tournament loaded already, saves the query for it."""

    def send() -> None:
        name = slug or Tournament.objects.filter(pk=tournament_id).values_list("slug", flat=True).first()
        if name:
            # A refresh carries no data, so it needs no order: the request need not wait.
            publish.deliver(
                [(publish.private_group(name, owner_id), {"type": "private.refresh"})], wait=False
            )

    transaction.on_commit(send)


# --- Receivers (connected in LiveConfig.ready()) ------------------------------------------


def round_changed(sender, *, round, **kwargs) -> None:
    """A round moved along its life (opened, closed, resolved with payouts, settled)."""
    _publish_on_commit(round.tournament_id, f"round:{round.state}")


def round_scored(sender, *, round, **kwargs) -> None:
    """A score day of `round` was computed."""
    _publish_on_commit(round.tournament_id, "scored")


def round_pnl(sender, *, round, **kwargs) -> None:
    """A DEX round's vault was marked to market (live P&L)."""
    _publish_on_commit(round.tournament_id, "pnl")


def stake_changed(sender, *, model, **kwargs) -> None:
    """A model's stake changed (deposit, release, reward, burn)."""
    _publish_on_commit(model.tournament_id, "stake")
    _private_refresh_on_commit(model.tournament_id, model.owner_id)


def submission_changed(sender, *, submission, **kwargs) -> None:
    """An upload was stored or its state changed: only its owner's private view shows it."""
    model = submission.model
    # An upload's model comes with its tournament (get_model): no query for the slug then.
    slug = model.tournament.slug if type(model).tournament.is_cached(model) else None
    _private_refresh_on_commit(model.tournament_id, model.owner_id, slug)


def connect() -> None:
    """Follow tournaments' changes. Idempotent: each receiver is connected under a fixed
    dispatch_uid, so even a reloaded module's functions are connected once."""
    for name, receiver in (
        ("round_changed", round_changed),
        ("round_scored", round_scored),
        ("round_pnl", round_pnl),
        ("stake_changed", stake_changed),
        ("submission_changed", submission_changed),
    ):
        getattr(signals, name).connect(receiver, dispatch_uid=f"live.{name}")
