"""`manage.py up --rounds 2 --headless` end to end, in a subprocess with its own var/ dir."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A whole `up` process on the in-process chain (~45 s): with the slow suites, which CI runs.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["ARENA_VAR_DIR"] = str(var)
    proc = subprocess.run(
        [sys.executable, "manage.py", "up", "--rounds", "2", "--headless", "--rows-per-era", "300"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last_line = proc.stdout.strip().splitlines()[-1]
    return json.loads(last_line), var


def test_headless_prints_two_settled_rounds(headless_run):
    report, _ = headless_run
    rounds = report["rounds"]
    assert [r["number"] for r in rounds] == [1, 2]
    assert {r["state"] for r in rounds} == {"settled"}
    for r in rounds:
        assert r["valid_submissions"] == 19
        assert r["scored_days"] == 4
        assert len(r["models"]) == 19
        assert set(r["models"][0]) >= {"name", "corr", "mmc", "stake", "payout"}


def test_headless_scores_reflect_skill(headless_run):
    report, _ = headless_run
    for r in report["rounds"]:
        by_name = {m["name"]: m for m in r["models"]}
        assert by_name["gbm-deep"]["corr"] > 0.05
        assert by_name["contrarian"]["corr"] < -0.05
        assert by_name["contrarian"]["payout"] < 0 < by_name["gbm-deep"]["payout"]
        assert r["meta_corr"] > 0.05
        # |payout| never exceeds cap × stake (default cap 0.05).
        for m in r["models"]:
            assert abs(m["payout"]) <= 0.05 * m["stake"] + 1e-9


def test_headless_uses_its_own_database(headless_run):
    _, var = headless_run
    assert (var / "headless.sqlite3").exists()
    assert not (var / "arena.sqlite3").exists() or (var / "arena.sqlite3").stat().st_size == 0
