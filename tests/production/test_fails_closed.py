"""Production fails closed, on the real processes: failed log-ins are counted across web
processes (the cache is Redis), and one address's websockets are limited per ASGI process,
over real TCP with daphne reporting the peer address.

Two daphne processes on their own ports stand for a deployment's web workers behind a proxy.
"""

import json
import time
from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.production.stack import create_stack

pytestmark = pytest.mark.production

PASSWORD = "a-long-production-passphrase-42"
SOCKETS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARENA_STACK_CHAIN", "off")  # no chain needed: keep the stack small
        stack = create_stack(
            tmp_path_factory.mktemp("stack"),
            extra_env={
                "ARENA_LOGIN_FAILURES_PER_USERNAME": "3",
                "ARENA_WS_MAX_PER_ADDRESS": str(SOCKETS),
            },
        )
    try:
        stack.ports = stack.start_servers("daphne", 2)
        stack.wait_http(ports=stack.ports)
        stack.python(
            "from datetime import timedelta\n"
            "from django.contrib.auth.models import User\n"
            "from django.utils import timezone\n"
            "from tournaments.models import Tournament\n"
            f"User.objects.create_user(username='pat', password={PASSWORD!r})\n"
            "sponsor = User.objects.create_user(username='sue', password=None)\n"
            "Tournament.objects.create(sponsor=sponsor, name='Held open', slug='held-open',\n"
            "    first_round_at=timezone.now() + timedelta(days=1))\n"
        )
        yield stack
    finally:
        stack.stop()


def log_in(port: int, username: str, password: str) -> httpx.Response:
    """The site's log-in form as a browser posts it (CSRF cookie and token included). The
    cookies are Secure in production, so they are sent by hand over this plain HTTP."""
    base = f"http://127.0.0.1:{port}"
    page = httpx.get(f"{base}/accounts/login/", timeout=30)
    assert page.status_code == 200
    token = page.cookies["csrftoken"]
    return httpx.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Cookie": f"csrftoken={token}"}, timeout=30,
    )


def test_failed_log_ins_count_across_web_processes(stack):
    a, b = stack.ports
    assert log_in(a, "pat", "wrong").status_code == 200
    assert log_in(b, "pat", "wrong").status_code == 200
    assert log_in(a, "pat", "wrong").status_code == 200
    for port in (b, a):  # each process alone saw fewer than three failures
        refused = log_in(port, "pat", PASSWORD)
        assert refused.status_code == 429
        assert 890 <= int(refused.headers["Retry-After"]) <= 900
        assert (
            '<p class="form-error" role="alert">Too many failed log-in attempts for this '
            "username. Try again in 15 minutes.</p>"
        ) in refused.text


def test_a_right_password_before_the_limit_gets_in(stack):
    stack.python(
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_user(username='quinn', password={PASSWORD!r})\n"
    )
    a, b = stack.ports
    assert log_in(a, "quinn", "wrong").status_code == 200
    assert log_in(b, "quinn", "wrong").status_code == 200
    ok = log_in(b, "quinn", PASSWORD)
    assert ok.status_code == 302
    assert ok.headers["Location"] == "/"


def socket(port: int):
    return connect(
        f"ws://127.0.0.1:{port}/ws/tournaments/held-open/leaderboard/",
        origin=f"http://127.0.0.1:{port}", open_timeout=10,
    )


def synced(ws) -> bool:
    ws.send(json.dumps({"type": "resume", "since": 0}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if json.loads(ws.recv(timeout=10))["type"] == "synced":
            return True
    return False


def test_sockets_over_the_limit_per_address_are_closed_with_4429(stack):
    a, b = stack.ports
    with ExitStack() as opened:  # websockets wants each sync connection in a `with`
        held = [opened.enter_context(socket(a)) for _ in range(SOCKETS)]
        assert all(synced(ws) for ws in held)
        with socket(a) as refused:
            assert json.loads(refused.recv(timeout=10)) == {
                "type": "error", "code": 4429,
                "message": f"more than {SOCKETS} open sockets from your address: close some, or reconnect later",
            }
            with pytest.raises(ConnectionClosed) as closed:
                refused.recv(timeout=10)
            assert closed.value.rcvd.code == 4429
        # The count is per process (README): the other web process still takes this address.
        with socket(b) as other:
            assert synced(other)
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:  # the server notices the close, then the place is free again
            with socket(a) as again:
                try:
                    # A refused socket gets its error frame unasked; an accepted one waits.
                    again.recv(timeout=1)
                except TimeoutError:
                    assert synced(again)
                    break
            assert time.monotonic() < deadline, "the closed socket's place was not freed"
            time.sleep(0.2)
    assert "Traceback" not in stack.log("daphne") + stack.log("daphne-2")
