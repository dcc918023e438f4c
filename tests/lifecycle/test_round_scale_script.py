"""The 5,000-model round benchmark (tests/load/round_scale.py, docs/performance.md) keeps
working: run small, every check it makes on the round passes and it reports every phase."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_round_benchmark_runs_small_and_its_checks_pass():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.load.round_scale",
            "--models",
            "12",
            "--rows",
            "300",
            "--database",
            "sqlite",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["checks_failed"] == []
    assert (result["models"], result["rows"], result["database"]) == (12, 300, "sqlite")
    assert list(result["phases"]) == [
        "close (commit + stake snapshot)",
        "open every envelope + validate",
        "score day 1",
        "resolve (payouts)",
        "settlement root",
        "settle (database ledger)",
    ]
    assert result["root"].startswith("0x") and len(result["root"]) == 66
