"""Pushes from sync code without an ASGI server in the process (a Celery worker): sent with
the channel layer's own group_send on the process's push loop, against the Redis server
(TEST_REDIS_URL; skipped with the reason when none answers). A push Redis refuses, or never
answers, is logged, never raised, and pauses the process's pushes."""

import asyncio
import logging
import secrets
import socket
import time

import pytest
import redis
from channels_redis.pubsub import RedisPubSubChannelLayer

from live import publish
from tests.production.stack import REDIS_BASE_URL, redis_missing

RECEIVE_TIMEOUT_S = 3
REDIS_MISSING = redis_missing()
needs_redis = pytest.mark.skipif(REDIS_MISSING is not None, reason=REDIS_MISSING or "")


@pytest.fixture
def layer_at(monkeypatch):
    """Make a pub/sub layer (a prefix of its own: pub/sub channels are server-wide, whatever
    the database number) the process's layer, with no ASGI server loop noted; its
    connections on the push loop are closed afterwards."""
    layers = []
    monkeypatch.setattr(publish, "_server_loop", None)

    def make(address: str = REDIS_BASE_URL) -> RedisPubSubChannelLayer:
        layer = RedisPubSubChannelLayer(hosts=[{"address": address}], prefix=f"test-{secrets.token_hex(4)}")
        monkeypatch.setattr(publish, "get_channel_layer", lambda: layer)
        layers.append(layer)
        return layer

    yield make
    for layer in layers:
        asyncio.run_coroutine_threadsafe(layer.flush(), publish._push_loop()).result(timeout=5)


@needs_redis
def test_a_workers_pushes_reach_a_subscriber_in_order_over_one_connection(layer_at):
    layer = layer_at()
    messages = [(group, {"type": "live.update", "version": n}) for n, group in enumerate(["a", "b", "a", "c"])]

    async def scenario() -> list[dict]:
        channel = await layer.new_channel()
        for group in ("a", "b", "c"):
            await layer.group_add(group, channel)
        await asyncio.to_thread(publish.deliver, messages)
        await asyncio.to_thread(publish.deliver, [("b", {"type": "private.refresh"})], wait=False)
        received = [
            await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT_S) for _ in range(len(messages) + 1)
        ]
        await layer.flush()
        return received

    received = asyncio.run(scenario())
    # In order within each group (and here overall: one Redis shard publishes in turn).
    assert received == [message for _, message in messages] + [{"type": "private.refresh"}]
    # Both pushes went out on the process's one push loop, which keeps the layer's connection.
    assert publish._push_loop().is_running()


def test_a_push_redis_refuses_is_logged_not_raised_and_pushes_pause(layer_at, caplog):
    layer = layer_at("redis://127.0.0.1:1")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="arena.events"):
        publish.deliver([("board", {"type": "private.refresh"})], wait=False)
        publish.deliver([("board", {"type": "private.refresh"}), ("other", {"type": "x"})])
    assert [r.getMessage() for r in caplog.records] == [
        "push of 1 message(s) failed",
        "the channel layer did not take a push: this process drops its pushes for 10 s",
    ]
    assert issubclass(caplog.records[0].exc_info[0], redis.ConnectionError)
    # The second push, within the pause, was dropped without trying Redis.
    assert publish._pause_for(layer).dropped == 2


def test_a_redis_that_stops_answering_times_out_and_pushes_pause(layer_at, caplog):
    # A listening socket nobody reads from: connections are accepted, nothing is answered.
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        layer = layer_at(f"redis://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        with caplog.at_level(logging.ERROR, logger="arena.events"):
            publish.deliver([("board", {"type": "private.refresh"})], wait=False)
            publish.deliver([("board", {"type": "private.refresh"})], wait=False)
        waited = time.monotonic() - started
        # The first waited out PUSH_TIMEOUT_S and failed; the second was not tried.
        assert [r.exc_info[0] for r in caplog.records] == [TimeoutError]
        assert publish.PUSH_TIMEOUT_S <= waited < publish.PUSH_TIMEOUT_S + 1
        assert publish._pause_for(layer).dropped == 1
    finally:
        silent.close()
