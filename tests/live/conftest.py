"""Live leaderboard fixtures: a round in scoring with three scored models, and helpers to run
a websocket conversation against the real ASGI application (origin check, session auth,
routing, consumer) on the in-memory channel layer.

The database is transactional (`transaction=True`): consumers read it from worker threads
and pushes go out only after a real commit, as in production.
"""

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.utils import timezone

from config.asgi import application
from core.money import tokens_to_wei
from live import publish
from tournaments.models import ModelSlot, Round, RoundState, Score
from tournaments.services.model_slots import model_create, stake_deposit

ORIGIN = b"http://127.0.0.1:8000"
TIMEOUT = 3


def run(scenario: Callable, *args) -> None:
    """Run an async test body on a fresh event loop (the suite has no asyncio plugin)."""

    async def main():
        await get_channel_layer().flush()
        try:
            await scenario(*args)
        finally:
            # The consumers' database thread keeps its connection otherwise, and PostgreSQL
            # will not drop the test database while it is open.
            await sync_to_async(connections.close_all)()

    asyncio.run(main())


db_call = sync_to_async  # thread_sensitive: the same worker thread as the consumers' reads


async def open_socket(path: str, *, origin: bytes = ORIGIN, cookie: str | None = None):
    """Connect and return the communicator, asserting the handshake was accepted."""
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    return comm


async def receive(comm) -> dict:
    """The next frame as JSON, or {"closed": code} when the server closed the socket."""
    output = await comm.receive_output(timeout=TIMEOUT)
    if output["type"] == "websocket.close":
        return {"closed": output.get("code")}
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def resume(comm, since: int) -> list[dict]:
    """Send resume and collect everything up to and including "synced"."""
    await comm.send_json_to({"type": "resume", "since": since})
    got = []
    while True:
        message = await receive(comm)
        got.append(message)
        if message.get("type") == "synced" or "closed" in message:
            return got


def session_cookie(client, user) -> str:
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.fixture
def scored(tournament, open_round, make_user):
    """Round 1 in scoring after day 1: three staked models with known CORR/MMC.

    Ranks by CORR: gale-force (0.04) 1st, drizzle (0.02) 2nd, mist (-0.01) 3rd. Scores are
    written directly (the scoring engine has its own tests); the publish is the real one.
    """
    owners = {name: make_user(f"{name}-owner") for name in ("gale-force", "drizzle", "mist")}
    models = {}
    for name, stake in (("gale-force", 25), ("drizzle", 10), ("mist", 5)):
        slot = model_create(owner=owners[name], tournament=tournament, name=name)
        models[name] = stake_deposit(model=slot, by=owners[name], amount=tokens_to_wei(stake))
    now = timezone.now()
    for name, corr, mmc in (("gale-force", 0.04, 0.01), ("drizzle", 0.02, 0.005), ("mist", -0.01, -0.002)):
        Score.objects.create(round=open_round, model=models[name], day=1, corr=corr, mmc=mmc, computed_at=now)
    Round.objects.filter(pk=open_round.pk).update(
        state=RoundState.SCORING, scored_days=1, meta_corr=0.03, closes_at=now - timedelta(hours=1)
    )
    publish.leaderboard_publish(tournament_id=tournament.id, reason="setup")
    # Owners loaded now: the async test bodies cannot lazy-load them.
    models = {name: ModelSlot.objects.select_related("owner").get(pk=m.pk) for name, m in models.items()}
    return {"tournament": tournament, "round": Round.objects.get(pk=open_round.pk), "models": models, "owners": owners}


def rescore(round: Round, model: ModelSlot, *, corr: float, mmc: float = 0.0) -> None:
    Score.objects.filter(round=round, model=model).update(corr=corr, mmc=mmc)


def leaderboard_path(slug: str = "weather", query: str = "") -> str:
    return f"/ws/tournaments/{slug}/leaderboard/" + (f"?{query}" if query else "")
