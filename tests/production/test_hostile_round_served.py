"""Hostile files through the whole round on the production profile: PostgreSQL, Redis, the
ASGI server, a Celery worker and beat. Every class of tests/hostile.py is sealed correctly and
uploaded over the HTTP API by its own modeler, beside one honest model; beat and the worker
open, close, open the envelopes, score, resolve and settle the round. Each hostile file is
`invalid` with its code (as its owner reads it from the API), the honest model is scored and
paid, no process logged a traceback, and the worker's memory stayed bounded although one file
decodes to over 1 GiB."""

import io
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.hostile import HOSTILE_FILES
from tests.production.stack import (
    create_stack,
    create_users_with_keys,
    descendants,
    post_tournament,
)
from tests.production.test_full_round import upload_predictions

# Not marked slow: CI runs it on every change (the issue of hostile input asks for it there).
pytestmark = [pytest.mark.production]

SLUG = "hostile-served"
ROWS = 60
WORKER_PEAK_LIMIT_MIB = 900  # the bomb alone decodes to over 1 GiB


def _peak_mib(pids: list[int]) -> float:
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARENA_STACK_CHAIN", "off")  # the files, not the chain, are on trial here
        stack = create_stack(
            tmp_path_factory.mktemp("hostile-stack"),
            tick_seconds=0.5,
            extra_env={"ARENA_DECODE_MEMORY_BYTES": str(512 * 1024 * 1024)},
        )
    try:
        stack.start_daphne()
        stack.start_worker()
        stack.start_beat()
        stack.wait_http()
        stack.wait_worker()
        yield stack
    finally:
        stack.stop()


def _wait(what: str, check, stack, timeout: float = 90, on_tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        if on_tick:
            on_tick()
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise TimeoutError(
        f"waited {timeout} s for {what}\n--- worker ---\n{stack.log('worker')[-4000:]}"
    )


def test_hostile_files_through_the_served_round(stack):
    names = ["sponsor", "honest"] + [f"hostile{i}" for i in range(len(HOSTILE_FILES))]
    keys = create_users_with_keys(
        stack,
        {"sponsor": ["sponsor", "read"]} | {n: ["submit", "stake", "read"] for n in names[1:]},
    )
    client = {
        n: httpx.Client(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {k}"}, timeout=60
        )
        for n, k in keys.items()
    }
    sponsor = client["sponsor"]
    post_tournament(
        sponsor,
        slug=SLUG,
        name="Hostile Served",
        opens_in=8,
        window=25,
        score_days=1,
        threshold_tokens="1",
    )
    round_url = f"/api/tournaments/{SLUG}/rounds/1"
    _wait("round 1 to be scheduled", lambda: sponsor.get(round_url).status_code == 200, stack)
    ids = [f"id{i:03d}" for i in range(ROWS)]
    rng = np.random.default_rng(3)
    live = pd.DataFrame({"id": ids, "era": "era1", "feature_a": rng.random(ROWS)})
    response = sponsor.post(
        f"{round_url}/live-data", files={"file": ("live.csv", live.to_csv(index=False).encode())}
    )
    assert response.status_code in (201, 202), response.text
    models = {}
    for name in names[1:]:
        response = client[name].post(
            "/api/models", json={"tournament": SLUG, "name": f"{name}-model"}
        )
        assert response.status_code == 201, response.text
        models[name] = response.json()["id"]
    response = client["honest"].post(f"/api/models/{models['honest']}/stake", json={"amount": "20"})
    assert response.status_code == 200, response.text
    truth = rng.random(ROWS)
    plaintexts = {f"hostile{i}": case.build(ids) for i, case in enumerate(HOSTILE_FILES)}
    honest = pd.DataFrame({"id": ids, "prediction": np.clip(truth, 0.01, 0.99)})
    plaintexts["honest"] = honest.to_csv(index=False).encode()

    info = _wait(
        "round 1 to open",
        lambda: (r := sponsor.get(round_url).json())["state"] == "open" and r,
        stack,
    )
    for name, data in plaintexts.items():
        response = upload_predictions(
            client[name], round_info=info, model_id=models[name], csv=data
        )
        assert response.status_code == 201, (name, response.text)

    worker_peak = 0.0

    def sample() -> None:
        nonlocal worker_peak
        worker_peak = max(worker_peak, _peak_mib(descendants([stack.procs["worker"].pid])))

    _wait(
        "round 1 to close",
        lambda: sponsor.get(round_url).json()["state"] != "open",
        stack,
        on_tick=sample,
    )
    bins = np.floor(pd.Series(truth).rank(pct=True) * 4.999) / 4
    buf = io.BytesIO()
    pd.DataFrame({"id": ids, "target": bins}).to_csv(buf, index=False)
    response = sponsor.post(f"{round_url}/targets/1", files={"file": ("t.csv", buf.getvalue())})
    assert response.status_code in (201, 202), response.text
    _wait(
        "round 1 to settle",
        lambda: sponsor.get(round_url).json()["state"] == "settled",
        stack,
        timeout=180,
        on_tick=sample,
    )

    for i, case in enumerate(HOSTILE_FILES):
        name = f"hostile{i}"
        [row] = client[name].get(f"/api/models/{models[name]}/submissions").json()["results"]
        assert row["state"] == "invalid", (case.name, row)
        assert row["problems"][0]["code"] == case.code, (case.name, row["error"])
        assert 0 < len(row["error"]) < 2_000, case.name
    [row] = client["honest"].get(f"/api/models/{models['honest']}/submissions").json()["results"]
    assert row["state"] == "valid"
    scores = client["honest"].get(f"/api/models/{models['honest']}/scores").json()["results"]
    assert len(scores) == 1 and scores[0]["corr"] > 0.5
    for name in ("daphne", "worker", "beat"):
        assert "Traceback" not in stack.log(name), stack.log(name)[-4000:]
    print(f"worker processes' peak resident memory: {worker_peak:.0f} MiB")  # shown with -s
    assert 0 < worker_peak < WORKER_PEAK_LIMIT_MIB, worker_peak
    for c in client.values():
        c.close()
