"""Pushes published from the calling thread (tournaments/thread_publish.py) reach consumers
subscribed through channels_redis's own pub/sub layer, as its group_send would send them.
Against the Redis server (TEST_REDIS_URL); skipped with the reason when none answers."""

import asyncio
import logging
import secrets
import socket

import pytest
import redis
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from tests.production.stack import REDIS_BASE_URL, redis_missing
from tournaments import events, thread_publish
from tournaments.thread_publish import thread_publisher

RECEIVE_TIMEOUT_S = 3
REDIS_MISSING = redis_missing()
needs_redis = pytest.mark.skipif(REDIS_MISSING is not None, reason=REDIS_MISSING or "")


@pytest.fixture
def make_layer():
    """Pub/sub layers with a prefix of their own (pub/sub channels are server-wide, whatever
    the database number); their publishers' connections are closed afterwards."""
    layers = []

    def make(address: str = REDIS_BASE_URL) -> RedisPubSubChannelLayer:
        layers.append(RedisPubSubChannelLayer(hosts=[{"address": address}], prefix=f"test-{secrets.token_hex(4)}"))
        return layers[-1]

    yield make
    for layer in layers:
        if (publisher := thread_publisher(layer)) is not None:
            publisher.close()
    thread_publish._publisher.cache_clear()


def _receive_what_is_published(layer, groups: list[str], publish) -> list[dict]:
    """Subscribe a channel to `groups` through the layer, run `publish` on a thread, and
    return what the channel receives, in order (as many messages as `publish` returns)."""

    async def scenario() -> list[dict]:
        channel = await layer.new_channel()
        for group in groups:
            await layer.group_add(group, channel)
        count = await asyncio.to_thread(publish)
        received = [await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT_S) for _ in range(count)]
        await layer.flush()
        return received

    return asyncio.run(scenario())


@needs_redis
def test_a_thread_published_message_arrives_as_the_layers_own_group_send_sends_it(make_layer):
    layer = make_layer()
    publisher = thread_publisher(layer)
    assert publisher is not None
    message = {"type": "live.update", "version": 7, "text": '{"rows": [1, 2.5, "x"]}'}

    def publish_both_ways() -> int:
        publisher.group_send_all([("board-a", message)])
        asyncio.run(layer.group_send("board-a", message))
        return 2

    through_thread, through_layer = _receive_what_is_published(layer, ["board-a"], publish_both_ways)
    assert through_thread == message
    assert through_layer == through_thread


@needs_redis
def test_several_messages_arrive_in_the_order_given_across_groups(make_layer):
    # In order within each group; across groups too, as here, with one Redis shard.
    layer = make_layer()
    messages = [(group, {"type": "live.update", "version": n}) for n, group in enumerate(["a", "b", "a", "c", "b"])]

    def publish() -> int:
        thread_publisher(layer).group_send_all(messages)
        return len(messages)

    received = _receive_what_is_published(layer, ["a", "b", "c"], publish)
    assert [m["version"] for m in received] == [0, 1, 2, 3, 4]


def test_only_the_redis_pub_sub_layer_with_plain_addresses_is_published_from_a_thread(make_layer):
    assert thread_publisher(InMemoryChannelLayer()) is None
    sentinel = RedisPubSubChannelLayer(
        hosts=[{"sentinels": [("127.0.0.1", 26379)], "master_name": "arena"}]
    )
    assert thread_publisher(sentinel) is None
    assert thread_publisher(make_layer()) is not None  # built without connecting


def test_a_push_redis_refuses_is_logged_not_raised_and_pushes_pause(monkeypatch, caplog, make_layer):
    layer = make_layer("redis://127.0.0.1:1")  # nothing listens on port 1
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    def loop_path(*args):
        raise AssertionError("the push went through an event loop, not the thread")

    monkeypatch.setattr(events, "async_to_sync", loop_path)
    with caplog.at_level(logging.WARNING, logger="arena.events"):
        events._deliver([("board", {"type": "private.refresh"})], wait=False)
        events._deliver([("board", {"type": "private.refresh"}), ("other", {"type": "x"})])
    assert [r.getMessage() for r in caplog.records] == [
        "Redis did not take a push: this process drops its pushes for 10 s",
        "push of 1 message(s) failed",
    ]
    assert caplog.records[1].exc_info[0] is redis.ConnectionError
    # The second push, within the pause, was dropped without trying Redis.
    assert thread_publisher(layer).dropped == 2


def test_a_redis_that_stops_answering_times_out_and_pushes_pause(monkeypatch, caplog, make_layer):
    # A listening socket nobody reads from: connections are accepted, nothing is answered.
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        layer = make_layer(f"redis://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
        with caplog.at_level(logging.ERROR, logger="arena.events"):
            events._deliver([("board", {"type": "private.refresh"})], wait=False)
            events._deliver([("board", {"type": "private.refresh"})], wait=False)
        # The first waited out PUBLISH_TIMEOUT_S and failed; the second was not tried.
        assert [r.exc_info[0] for r in caplog.records] == [redis.TimeoutError]
        assert thread_publisher(layer).dropped == 1
    finally:
        silent.close()
