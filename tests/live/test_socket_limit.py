"""Open websockets per client address are limited (live/socket_limit.py): the socket
over ARENA_WS_MAX_PER_ADDRESS gets an error frame and close code 4429, through the real ASGI
application (the limit, origin check, session auth, routing, consumer)."""

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from tests.live.conftest import ORIGIN, TIMEOUT, leaderboard_path, receive, resume, run

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", ORIGIN), (b"host", b"127.0.0.1:8000")]


def refusal(limit: int) -> dict:
    return {
        "type": "error",
        "code": 4429,
        "message": f"more than {limit} open sockets from your address: close some, or reconnect later",
    }


async def connect_from(address: str | None, path: str | None = None) -> WebsocketCommunicator:
    """A handshake from `address` (the peer the ASGI server reports), accepted or not."""
    comm = WebsocketCommunicator(application, path or leaderboard_path(), headers=HEADERS)
    if address is not None:
        comm.scope["client"] = (address, 50000)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected  # refusals, too, are accepted first so that the reason reaches the page
    return comm


async def live(comm) -> bool:
    """The socket follows its stream: a resume is answered up to "synced"."""
    return (await resume(comm, 0))[-1]["type"] == "synced"


@pytest.fixture
def limit_two(settings):
    settings.ARENA_WS_MAX_PER_ADDRESS = 2
    return 2


def test_the_socket_over_the_limit_is_refused_with_4429_and_others_are_not(scored, limit_two):
    async def scenario():
        first = await connect_from("203.0.113.7")
        second = await connect_from("203.0.113.7")
        assert await live(first) and await live(second)
        third = await connect_from("203.0.113.7")
        assert await receive(third) == refusal(2)
        assert await receive(third) == {"closed": 4429}
        elsewhere = await connect_from("198.51.100.20")
        assert await live(elsewhere)
        assert await live(first)  # the refusal touched no open socket
        for comm in (first, second, elsewhere):
            await comm.disconnect()

    run(scenario)


def test_closing_a_socket_frees_its_place(scored, limit_two):
    async def scenario():
        first = await connect_from("203.0.113.7")
        second = await connect_from("203.0.113.7")
        await first.disconnect()
        await first.wait(timeout=TIMEOUT)  # its consumer has returned
        again = await connect_from("203.0.113.7")
        assert await live(again)
        for comm in (second, again):
            await comm.disconnect()

    run(scenario)


def test_sockets_refused_by_the_stream_do_not_keep_their_place(scored, limit_two):
    async def scenario():
        for _ in range(3):
            gone = await connect_from("203.0.113.7", "/ws/nowhere/")
            assert (await receive(gone))["code"] == 4404
            assert await receive(gone) == {"closed": 4404}
            await gone.disconnect()
            await gone.wait(timeout=TIMEOUT)
        first = await connect_from("203.0.113.7")
        second = await connect_from("203.0.113.7")
        assert await live(first) and await live(second)
        for comm in (first, second):
            await comm.disconnect()

    run(scenario)


def test_ipv6_addresses_of_one_64_block_share_the_limit(scored, limit_two):
    async def scenario():
        a = await connect_from("2001:db8:5:6::1")
        b = await connect_from("2001:db8:5:6:aaaa::2")
        refused = await connect_from("2001:db8:5:6:ffff:ffff:ffff:ffff")
        assert await receive(refused) == refusal(2)
        assert await receive(refused) == {"closed": 4429}
        other_block = await connect_from("2001:db8:5:7::1")
        assert await live(other_block)
        for comm in (a, b, other_block):
            await comm.disconnect()

    run(scenario)


def test_zero_turns_the_limit_off_and_unknown_peers_are_not_counted(scored, settings):
    settings.ARENA_WS_MAX_PER_ADDRESS = 0

    async def scenario():
        many = [await connect_from("203.0.113.7") for _ in range(5)]
        assert all([await live(comm) for comm in many])
        settings.ARENA_WS_MAX_PER_ADDRESS = 1
        # A Unix-socket server reports no peer: such sockets cannot be told apart, so they
        # are not counted (the README says to run the server with proxy headers).
        anonymous = [await connect_from(None) for _ in range(3)]
        assert all([await live(comm) for comm in anonymous])
        for comm in many + anonymous:
            await comm.disconnect()

    run(scenario)
