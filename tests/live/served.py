"""`manage.py up` in a subprocess on its own var/ folder, for the browser tests."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.production.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServedArena(str):
    """The base URL (a str, as the tests use it) that also knows its var/ folder."""

    def __new__(cls, base: str, var: Path):
        served = super().__new__(cls, base)
        served.var = var
        return served


@contextmanager
def served_arena(var: Path, *, args: list[str], env: dict[str, str], ready_path: str, timeout: float) -> Iterator[ServedArena]:
    """Start `manage.py up` with `args` and `env` (on top of ours, without DATABASE_URL or
    REDIS_URL), wait until `ready_path` answers 200, yield it, then stop the process group."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environ |= {"ARENA_VAR_DIR": str(var)} | env
    log_path = var / "up.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "up", "--port", str(port), *args],
            cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                try:
                    if httpx.get(f"{base}{ready_path}", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{ready_path} did not answer: {log_path.read_text()[-3000:]}"
                time.sleep(0.3)
            yield ServedArena(base, var)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
