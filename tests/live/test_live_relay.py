"""The process-wide relay: one channel-layer subscription per stream group, fanned out to the
process's sockets; updates still arrive in order, once, including while a socket is busy."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from live import publish
from live.relay import relay_for
from tests.live.conftest import (
    db_call,
    leaderboard_path,
    open_socket,
    receive,
    rescore,
    resume,
    run,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_sockets_of_one_view_share_one_subscription_and_all_get_each_update(scored):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    group = publish.leaderboard_group(t.slug)

    async def scenario():
        layer = get_channel_layer()
        sockets = [await open_socket(leaderboard_path()) for _ in range(3)]
        for comm in sockets:
            await resume(comm, 0)
        relay = relay_for(layer)
        # One member in the layer's group — this process's relay channel — not one per socket.
        assert list(layer.groups[group]) == [relay.channels[group]]
        assert len(relay.members[group]) == 3
        await db_call(rescore)(rnd, m["mist"], corr=0.09)
        version = await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="scored")
        got = [await receive(comm) for comm in sockets]
        assert {(g["type"], g["version"]) for g in got} == {("update", version)}
        await sockets[0].disconnect()
        await asyncio.sleep(0.05)
        assert len(relay.members[group]) == 2
        for comm in sockets[1:]:
            await comm.disconnect()

    run(scenario)


def test_an_update_arriving_during_a_resume_is_sent_after_it_in_order(scored, monkeypatch):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    catch_up = publish.stream_catch_up

    def stale_and_slow(stream, since):
        # The resume reads the log, then the update is published before it answers.
        result = catch_up(stream, since)
        time.sleep(0.4)
        return result

    def publish_rescored():
        rescore(rnd, m["mist"], corr=0.11)
        return publish.leaderboard_publish(tournament_id=t.id, reason="scored")

    async def scenario():
        comm = await open_socket(leaderboard_path())
        synced = (await resume(comm, 0))[-1]["version"]
        monkeypatch.setattr(publish, "stream_catch_up", stale_and_slow)
        await comm.send_json_to({"type": "resume", "since": synced})
        await asyncio.sleep(0.1)
        # Not on the consumers' database thread, which the slow resume holds.
        version = await sync_to_async(publish_rescored, thread_sensitive=False)()
        first, second = await receive(comm), await receive(comm)
        assert (first["type"], first["version"]) == ("synced", synced)
        assert (second["type"], second["version"]) == ("update", version)
        assert version == synced + 1
        assert await comm.receive_nothing(timeout=0.2)
        await comm.disconnect()

    run(scenario)
