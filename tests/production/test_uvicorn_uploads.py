"""Sealed uploads through both ASGI servers of the production profile, side by side.

Runs the upload load script small (`tests/load/uploads.py --server both`): the same fresh
PostgreSQL database and Redis database, a Celery worker, then two daphne processes and
uvicorn with two worker processes (docs/performance.md: httptools, uvloop, no lifespan), each
sent a burst of concurrent sealed uploads over the HTTP API. Every upload must be accepted
and stored exactly once, under the CID its response named, with exactly the bytes sent.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.production.stack import ROOT

pytestmark = [pytest.mark.production, pytest.mark.slow]  # a whole stack twice: with the slow suites

UPLOADS = 12


def test_concurrent_uploads_are_stored_exactly_once_under_daphne_and_uvicorn_workers():
    env = os.environ | {"ARENA_STACK_CHAIN": "off"}  # uploads never touch the chain
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.load.uploads", "--server", "both", "--servers", "2",
         "--uploads", str(UPLOADS), "--rows", "200"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = {
        r["server"]: r
        for r in (json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{"))
    }
    assert set(results) == {"daphne", "uvicorn"}, proc.stdout
    for server, r in results.items():
        assert r["statuses"] == {"201": UPLOADS}, (server, proc.stdout)
        check = r["check"]
        assert check["stored_rows"] == check["accepted"] == UPLOADS, (server, check)
        assert not (check["lost"] or check["duplicated"] or check["mismatched"] or check["stored_but_refused"]), (server, check)
        assert r["server_cpu_s"] > 0, (server, r)  # the workers' CPU is counted, not only the supervisor's
