"""Bad clients: every malformed, oversized or unwanted message closes the socket with its
documented code after an error frame; foreign origins are refused at the handshake."""

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from live.consumers import MAX_MESSAGE_BYTES, RATE_LIMIT
from tests.live.conftest import leaderboard_path, open_socket, receive, resume, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("frame", "code", "message"),
    [
        ("not json", 4400, 'not JSON: send {"type": "resume", "since": N}'),
        ("[1, 2]", 4400, "a message must be a JSON object"),
        ('{"type": "subscribe"}', 4400, "unknown message type 'subscribe': send resume or ping"),
        ('{"since": 3}', 4400, "unknown message type None: send resume or ping"),
        ('{"type": "resume", "since": -1}', 4400, "since must be a non-negative integer: your last version"),
        ('{"type": "resume", "since": "7"}', 4400, "since must be a non-negative integer: your last version"),
        ('{"type": "resume", "since": true}', 4400, "since must be a non-negative integer: your last version"),
        (
            '{"type": "ping", "pad": "' + "x" * MAX_MESSAGE_BYTES + '"}',
            4413,
            f"messages are limited to {MAX_MESSAGE_BYTES} bytes",
        ),
        # 400 three-byte characters: under the limit in characters, over it in bytes.
        ('{"type": "ping", "pad": "' + "€" * 400 + '"}', 4413, f"messages are limited to {MAX_MESSAGE_BYTES} bytes"),
    ],
)
def test_bad_message_closes_with_its_code(scored, frame, code, message):
    async def scenario():
        comm = await open_socket(leaderboard_path())
        await comm.send_to(text_data=frame)
        assert await receive(comm) == {"type": "error", "code": code, "message": message}
        assert await receive(comm) == {"closed": code}

    run(scenario)


def test_binary_frame_closes_with_4400(scored):
    async def scenario():
        comm = await open_socket(leaderboard_path())
        await comm.send_to(bytes_data=b"\x00\x01")
        assert await receive(comm) == {
            "type": "error",
            "code": 4400,
            "message": "binary frames are not accepted: send JSON text",
        }
        assert await receive(comm) == {"closed": 4400}

    run(scenario)


def test_too_many_messages_close_with_4429_after_the_allowed_ones_are_answered(scored):
    limit = RATE_LIMIT[0]

    async def scenario():
        comm = await open_socket(leaderboard_path())
        for _ in range(limit):
            await comm.send_json_to({"type": "ping"})
            assert await receive(comm) == {"type": "pong"}
        await comm.send_json_to({"type": "ping"})
        assert await receive(comm) == {
            "type": "error",
            "code": 4429,
            "message": f"more than {limit} messages in 10 seconds",
        }
        assert await receive(comm) == {"closed": 4429}

    run(scenario)


def test_the_consumer_keeps_serving_other_sockets_after_a_bad_one(scored):
    async def scenario():
        good = await open_socket(leaderboard_path())
        bad = await open_socket(leaderboard_path())
        await bad.send_to(text_data="{")
        assert (await receive(bad))["code"] == 4400
        assert await receive(bad) == {"closed": 4400}
        got = await resume(good, 0)
        assert [g["type"] for g in got] == ["snapshot", "synced"]
        await good.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        (leaderboard_path("nope"), 4404, "no tournament with slug 'nope'"),
        ("/ws/tournaments/weather/rounds/99/", 4404, "no round 99 in tournament 'weather'"),
        (leaderboard_path(query="metric=sharpe"), 4400, "unknown metric 'sharpe': use corr, mmc, payout, pnl"),
        (leaderboard_path(query="last_n=0"), 4400, "last_n must be a whole number from 1 to 100"),
        (leaderboard_path(query="last_n=abc"), 4400, "last_n must be a whole number from 1 to 100"),
        ("/ws/elsewhere/", 4404, "no live stream at /ws/elsewhere/"),
    ],
)
def test_unknown_streams_close_with_a_code_and_a_reason(scored, path, code, message):
    async def scenario():
        comm = await open_socket(path)
        assert await receive(comm) == {"type": "error", "code": code, "message": message}
        assert await receive(comm) == {"closed": code}

    run(scenario)


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null"])
def test_a_foreign_origin_is_refused_at_the_handshake(scored, origin):
    async def scenario():
        comm = WebsocketCommunicator(
            application,
            leaderboard_path(),
            headers=[(b"origin", origin), (b"host", b"127.0.0.1:8000")],
        )
        connected, code = await comm.connect(timeout=3)
        assert (connected, code) == (False, 1000)  # daphne turns this into an HTTP 403

    run(scenario)


def test_no_origin_header_is_refused_too(scored):
    async def scenario():
        comm = WebsocketCommunicator(application, leaderboard_path(), headers=[(b"host", b"127.0.0.1:8000")])
        connected, _ = await comm.connect(timeout=3)
        assert connected is False

    run(scenario)
