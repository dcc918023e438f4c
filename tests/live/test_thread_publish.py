"""Pushes published from the calling thread (tournaments/thread_publish.py) reach consumers
subscribed through channels_redis's own pub/sub layer, as its group_send would send them.
Against the Redis server (TEST_REDIS_URL); skipped with the reason when none answers."""

import asyncio
import logging
import os
import secrets

import pytest
import redis
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from tournaments import events
from tournaments.thread_publish import thread_publisher

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
RECEIVE_TIMEOUT_S = 3


def _redis_missing() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {REDIS_URL}: {exc}"
    return None


REDIS_MISSING = _redis_missing()
needs_redis = pytest.mark.skipif(REDIS_MISSING is not None, reason=REDIS_MISSING or "")


def _layer(address: str = REDIS_URL) -> RedisPubSubChannelLayer:
    # A prefix of its own: pub/sub channels are server-wide, whatever the database number.
    return RedisPubSubChannelLayer(hosts=[{"address": address}], prefix=f"test-{secrets.token_hex(4)}")


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
def test_a_thread_published_message_arrives_as_the_layers_own_group_send_sends_it():
    layer = _layer()
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
def test_several_messages_arrive_in_the_order_given_across_groups():
    layer = _layer()
    messages = [(group, {"type": "live.update", "version": n}) for n, group in enumerate(["a", "b", "a", "c", "b"])]

    def publish() -> int:
        thread_publisher(layer).group_send_all(messages)
        return len(messages)

    received = _receive_what_is_published(layer, ["a", "b", "c"], publish)
    assert [m["version"] for m in received] == [0, 1, 2, 3, 4]


def test_only_the_redis_pub_sub_layer_with_plain_addresses_is_published_from_a_thread():
    assert thread_publisher(InMemoryChannelLayer()) is None
    sentinel = RedisPubSubChannelLayer(
        hosts=[{"sentinels": [("127.0.0.1", 26379)], "master_name": "arena"}]
    )
    assert thread_publisher(sentinel) is None
    assert thread_publisher(_layer()) is not None  # built without connecting


def test_a_push_to_an_unreachable_redis_is_logged_and_does_not_raise(monkeypatch, caplog):
    layer = _layer("redis://127.0.0.1:1")  # nothing listens on port 1
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    with caplog.at_level(logging.ERROR, logger="arena.events"):
        events._deliver([("board", {"type": "private.refresh"})], wait=False)
    assert [r.getMessage() for r in caplog.records] == ["push of 1 message(s) failed"]
