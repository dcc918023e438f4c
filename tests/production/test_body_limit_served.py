"""Bodies over their route's limit are refused by the real server, reading at most the limit.

uvicorn (README, Production) serving config.asgi on the production profile: a client that
sends an endless chunked body, or declares a huge Content-Length, gets 413 while it is still
sending, and the connection is closed; what the server took is bounded by the limit plus
what the kernel's socket buffers hold, not by what the client offers."""

import select
import socket
import time
from pathlib import Path

import pytest

from tests.production.stack import create_stack

pytestmark = pytest.mark.production

LIMIT = 256 * 1024
CHUNK = 64 * 1024
OFFERED = 1024 * 1024 * 1024  # 1 GiB: far more than any buffer between client and server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    stack = create_stack(
        Path(tmp_path_factory.mktemp("body-limit")), extra_env={"ARENA_MAX_BODY_BYTES": str(LIMIT)}
    )
    try:
        stack.start_uvicorn(workers=1)
        stack.wait_http()
        yield stack
    finally:
        stack.stop()


def read_answer(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.5)
        if not ready:
            continue
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        data += part
    return data


def offer_chunked(port: int, path: str) -> tuple[bytes, int]:
    """Send a chunked body of up to OFFERED bytes until the server answers or hangs up;
    returns (its answer, bytes of body sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    chunk = f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
    sent = 0
    deadline = time.monotonic() + 60
    try:
        while sent < OFFERED and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break  # the server answered while we were still sending
            if writable:
                try:
                    sock.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += CHUNK
        return read_answer(sock, time.monotonic() + 10), sent
    finally:
        sock.close()


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def test_an_endless_chunked_body_gets_413_after_about_the_limit(served):
    answer, sent = offer_chunked(served.port, "/api/models")
    assert status_of(answer) == 413
    assert b'"code": "too_large"' in answer
    assert f"limit of {LIMIT:,} bytes".encode() in answer
    # The client could push only what the server read (≤ the limit and one chunk) plus the
    # socket buffers on both sides (3 MiB on loopback here) — never the offered gigabyte.
    assert sent < 16 * 1024 * 1024, sent


def test_a_site_form_with_a_huge_body_gets_413_too(served):
    answer, sent = offer_chunked(served.port, "/accounts/login/")
    assert status_of(answer) == 413
    assert answer.rstrip().endswith(f"limit of {LIMIT:,} bytes".encode())
    assert sent < 16 * 1024 * 1024, sent


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(served):
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    try:
        sock.sendall(
            b"POST /api/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000000\r\n"
            b"Content-Type: application/json\r\n\r\n"
        )
        answer = read_answer(sock, time.monotonic() + 10)
    finally:
        sock.close()
    assert status_of(answer) == 413
    assert b'"details": {"limit": 262144}' in answer


def test_an_upload_route_takes_more_than_the_default(served):
    """A 1 MiB body to the submissions route is read whole and reaches the view (401: no key)."""
    body = b"a" * (1024 * 1024)
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    try:
        sock.sendall(
            f"POST /api/models/1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            "Authorization: Bearer arena_x_y\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        answer = read_answer(sock, time.monotonic() + 20)
    finally:
        sock.close()
    assert status_of(answer) == 401
