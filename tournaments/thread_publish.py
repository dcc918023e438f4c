"""Group sends on the Redis pub/sub channel layer, published from the calling thread.

channels_redis only publishes from an event loop, so a request thread or a Celery task had
to hand each push to a loop: the ASGI server's (a thread hop, a Redis round trip on the
loop's asyncio client and a second wake-up for the reply) or, in the worker, a fresh one per
push (async_to_sync, with a new loop-bound layer and Redis connection each time). Publishing
here with redis-py's synchronous client does the same PUBLISH from the thread that has the
message: an upload's private refresh then costs the server ~0.3 M instructions instead of
~0.6 M (`python -m tests.load.instructions`, docs/performance.md).

The group's Redis channel, its shard and the message's bytes are channels_redis's own: a
RedisPubSubLoopLayer built from the layer's configuration names and shards them, and the
layer's serializer encodes them, so a consumer subscribed through the layer receives exactly
what its group_send would have sent (tests/live/test_thread_publish.py, against Redis).
"""

import logging
import os
import time
from functools import cache

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer

log = logging.getLogger("arena.events")

# A push is best effort (a missed one is made good by the feed's versions, gap repair and the
# client's resume), and the thread waiting for it may be serving a request: a Redis that
# stops answering must cost requests little. One publish waits at most PUBLISH_TIMEOUT_S;
# after a failure this process drops its pushes for PAUSE_AFTER_FAILURE_S instead of
# making every request wait out the timeout again.
PUBLISH_TIMEOUT_S = 0.5
PAUSE_AFTER_FAILURE_S = 10.0


class ThreadPublisher:
    def __init__(self, layer: RedisPubSubChannelLayer):
        self._serialize = layer.serialize
        # Built, never started: only its channel naming and sharding are used.
        self._naming = RedisPubSubLoopLayer(*layer._args, channel_layer=layer, **layer._kwargs)
        self._clients: dict[int, redis.Redis] = {}
        self._paused_until = 0.0
        self.dropped = 0  # messages not sent while paused

    def publishable(self) -> bool:
        """Whether every shard is a plain address (not Sentinel), which this client reaches."""
        return all("address" in shard.host for shard in self._naming._shards)

    def group_send_all(self, messages: list[tuple[str, dict]]) -> None:
        """group_send each (group, message): in order within each group (and overall with one
        Redis shard); several go in one round trip per shard. Raises what redis-py raises,
        then drops pushes for PAUSE_AFTER_FAILURE_S."""
        if time.monotonic() < self._paused_until:
            self.dropped += len(messages)
            return
        try:
            self._publish(messages)
        except redis.RedisError:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            log.warning("Redis did not take a push: this process drops its pushes for %.0f s", PAUSE_AFTER_FAILURE_S)
            raise

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _publish(self, messages: list[tuple[str, dict]]) -> None:
        by_shard: dict[int, list[tuple[str, bytes]]] = {}
        for group, message in messages:
            channel = self._naming._get_group_channel_name(group)
            shard = self._naming._shards.index(self._naming._get_shard(channel))
            by_shard.setdefault(shard, []).append((channel, self._serialize(message)))
        for shard, publishes in by_shard.items():
            client = self._client(shard)
            if len(publishes) == 1:
                client.publish(*publishes[0])
                continue
            with client.pipeline(transaction=False) as pipe:
                for channel, data in publishes:
                    pipe.publish(channel, data)
                pipe.execute()

    def _client(self, shard: int) -> redis.Redis:
        client = self._clients.get(shard)
        if client is None:
            host = dict(self._naming._shards[shard].host)
            address = host.pop("address")
            host.update(socket_timeout=PUBLISH_TIMEOUT_S, socket_connect_timeout=PUBLISH_TIMEOUT_S)
            # One pool per shard and process, shared by its threads (redis-py's pool is).
            client = self._clients.setdefault(shard, redis.Redis.from_url(address, **host))
        return client


def thread_publisher(layer) -> ThreadPublisher | None:
    """A publisher for `layer` if it is the Redis pub/sub layer with plain addresses; None
    for any other layer (the in-memory one lives on its server's loop)."""
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    return _publisher(layer, os.getpid())


@cache
def _publisher(layer: RedisPubSubChannelLayer, pid: int) -> ThreadPublisher | None:
    # Per process: connections are not shared across a fork.
    publisher = ThreadPublisher(layer)
    return publisher if publisher.publishable() else None
