"""Pushes to live pages, sent only after the database commit that caused them."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger("arena.events")


def leaderboard_group(tournament_slug: str) -> str:
    return f"leaderboard.{tournament_slug}"


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - a failed push must never undo or fail a committed change
        log.exception("push to %s failed", group)


def _on_commit(group: str, message: dict) -> None:
    transaction.on_commit(lambda: _send(group, message))


def round_changed(round) -> None:
    _on_commit(
        leaderboard_group(round.tournament.slug),
        {"type": "round.update", "round": round.number, "state": round.state},
    )


def round_scored(round) -> None:
    _on_commit(
        leaderboard_group(round.tournament.slug),
        {
            "type": "round.update",
            "round": round.number,
            "state": round.state,
            "scored_days": round.scored_days,
            "meta_corr": round.meta_corr,
        },
    )
