"""One full round through the production profile's real processes.

PostgreSQL (a fresh database), Redis (a database of its own), `daphne config.asgi:application`,
`celery -A config worker` and `celery -A config beat` ticking every 0.5 s. Everything the
people do goes through the HTTP API; the round's transitions are driven by beat alone; a real
websocket client (the `websockets` package) follows the leaderboard from before the round opens
until it is settled.
"""

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest
from websockets.sync.client import connect

from tests.builders import csv_bytes, make_frame, predictions_csv
from tests.production.stack import create_stack, create_users_with_keys

pytestmark = pytest.mark.production

SLUG = "prod-weather"
MODELERS = {"ann": 7, "ben": 3, "cat": 11}  # name → prediction seed
LIFECYCLE = ["scheduled", "open", "closed", "scoring", "resolved", "settled"]


def upload_predictions(api: httpx.Client, *, round_info: dict, model_id: int, csv: bytes) -> httpx.Response:
    """Upload one model's predictions the way the round asks for them: sealed to the round's
    public key when it publishes one (HPKE envelope bound to tournament, round and model),
    as the plain CSV otherwise."""
    public_key = round_info.get("public_key")
    if public_key:
        from arena_client.sealing import seal, submission_info

        info = submission_info(round_info["tournament"], round_info["number"], model_id)
        data, name = seal(csv, bytes.fromhex(public_key), info), "predictions.csv.sealed"
    else:
        data, name = csv, "predictions.csv"
    return api.post(f"/api/models/{model_id}/submissions", files={"file": (name, data)})


class SocketRecorder(threading.Thread):
    """A leaderboard websocket client in a thread: resumes from `since` and records every
    message with its arrival time until stopped."""

    def __init__(self, url: str, origin: str, since: int = 0):
        super().__init__(daemon=True)
        self.url, self.origin, self.since = url, origin, since
        self.messages: list[dict] = []
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(self.url, origin=self.origin, open_timeout=10) as ws:
                ws.send(json.dumps({"type": "resume", "since": self.since}))
                while not self.stopping.is_set():
                    try:
                        raw = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    message = json.loads(raw)
                    self.messages.append(message)
                    if message["type"] == "synced":
                        self.ready.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.ready.set()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)

    def round_states(self, number: int) -> list[str]:
        states = []
        for m in self.messages:
            for facts in m.get("rounds") or []:
                if facts["number"] == number and (not states or states[-1] != facts["state"]):
                    states.append(facts["state"])
        return states


def _wait(what: str, check, stack, timeout: float = 60, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(
        f"waited {timeout} s for {what}\n--- worker ---\n{stack.log('worker')[-3000:]}"
        f"\n--- beat ---\n{stack.log('beat')[-1500:]}"
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = create_stack(tmp_path_factory.mktemp("stack"), tick_seconds=0.5)
    try:
        stack.start_daphne()
        stack.start_worker()
        stack.start_beat()
        stack.wait_http()
        stack.wait_worker()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def played(stack):
    """Sponsor creates the tournament, uploads live data and targets; three modelers register,
    stake and upload; beat opens, closes, scores (two days), resolves and settles round 1."""
    keys = create_users_with_keys(
        stack,
        {"sponsor": ["sponsor", "read"]} | {name: ["submit", "stake", "read"] for name in MODELERS},
    )
    client = {
        name: httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        for name, key in keys.items()
    }
    sponsor = client["sponsor"]
    opens_at = datetime.now(UTC) + timedelta(seconds=8)
    response = sponsor.post(
        "/api/tournaments",
        json={
            "name": "Production Weather",
            "slug": SLUG,
            "reward_pool_tokens": "1000",
            "schedule": {
                "first_round_at": opens_at.isoformat(),
                "round_interval": 3600,
                "submission_window": 6,
                "resolution_lag": 1,
                "score_days": 2,
                "score_day_interval": 1,
            },
            "rules": {"payout_threshold_tokens": "100", "payout_cap": 0.05},
        },
    )
    assert response.status_code == 201, response.text

    # Beat's first tick schedules round 1; then its live data goes up before it opens.
    round_url = f"/api/tournaments/{SLUG}/rounds/1"
    _wait("round 1 to be scheduled", lambda: sponsor.get(round_url).status_code == 200, stack)
    live = make_frame(with_target=False, seed=5, prefix="live")
    response = sponsor.post(f"{round_url}/live-data", files={"file": ("live.csv", csv_bytes(live))})
    assert response.status_code == 202, response.text  # accepted; checked by the worker

    models = {}
    for name in MODELERS:
        response = client[name].post("/api/models", json={"tournament": SLUG, "name": f"{name}-model"})
        assert response.status_code == 201, response.text
        models[name] = response.json()["id"]
        response = client[name].post(f"/api/models/{models[name]}/stake", json={"amount": "20"})
        assert response.status_code == 200, response.text

    recorder = SocketRecorder(
        f"{stack.ws_url}/ws/tournaments/{SLUG}/leaderboard/", origin=stack.base_url
    )
    recorder.start()
    assert recorder.ready.wait(15) and recorder.error is None, recorder.error

    info = _wait(
        "round 1 to open",
        lambda: (r := sponsor.get(round_url).json())["state"] == "open" and r,
        stack,
    )
    ids = live["id"].tolist()
    receipts = {}
    for name, seed in MODELERS.items():
        response = upload_predictions(
            client[name], round_info=info, model_id=models[name], csv=predictions_csv(ids, seed=seed)
        )
        assert response.status_code == 201, response.text
        receipts[name] = response.json()

    _wait("round 1 to close", lambda: sponsor.get(round_url).json()["state"] != "open", stack)
    rng_frame = make_frame(seed=5, prefix="live")  # same ids and features, with a target
    for day in (1, 2):
        target = pd.DataFrame({"id": ids, "target": rng_frame["target"].round(2) if day == 1 else rng_frame["feature_1"].round(2)})
        buf = io.BytesIO()
        target.to_csv(buf, index=False)
        response = sponsor.post(f"{round_url}/targets/{day}", files={"file": ("t.csv", buf.getvalue())})
        assert response.status_code == 202, response.text

    final = _wait(
        "round 1 to settle", lambda: (r := sponsor.get(round_url).json())["state"] == "settled" and r, stack
    )
    _wait("the settlement to reach the socket", lambda: "settled" in recorder.round_states(1), stack, timeout=15)
    time.sleep(1.0)  # let any trailing stake updates of the settlement arrive
    yield {"recorder": recorder, "client": client, "models": models, "final": final, "receipts": receipts}
    recorder.stop()
    for c in client.values():
        c.close()


def test_the_round_is_driven_to_settled_by_beat_and_the_worker(played, stack):
    final = played["final"]
    assert [t["to_state"] for t in final["transitions"]] == LIFECYCLE[1:]
    assert final["scored_days"] == 2
    assert final["counts"]["valid_submissions"] == 3
    assert len(final["payouts"]) == 3
    assert "scheduler_tick" in stack.log("beat")


def test_socket_updates_arrive_in_strict_version_order_up_to_settled(played):
    recorder = played["recorder"]
    assert recorder.error is None
    messages = recorder.messages
    assert messages[0]["type"] == "snapshot" and messages[1]["type"] == "synced"
    updates = [m for m in messages if m["type"] == "update"]
    versions = [m["version"] for m in updates]
    assert versions == list(range(messages[0]["version"] + 1, messages[0]["version"] + 1 + len(versions)))
    states = recorder.round_states(1)
    # Some states may be passed between two publishes; the order never goes backwards.
    assert states == sorted(states, key=LIFECYCLE.index)
    assert states[0] == "open" and states[-1] == "settled"
    assert any("scored" in m["reason"] for m in updates)


def test_the_socket_leaderboard_ends_equal_to_the_api(played, stack):
    rows: dict[int, dict] = {}
    for m in played["recorder"].messages:
        if m["type"] == "snapshot":
            rows = {r["model_id"]: r for r in m["rows"]}
        elif m["type"] == "update":
            for r in m["rows"]:
                rows[r["model_id"]] = r
            for model_id in m["removed"]:
                rows.pop(model_id, None)
    api = httpx.get(f"{stack.base_url}/api/tournaments/{SLUG}/leaderboard", timeout=10).json()["results"]
    assert sorted(rows.values(), key=lambda r: r["rank"]) == [
        {k: row[k] for k in ("model_id", "model", "owner", "stake", "score", "rounds", "rank")}
        for row in api
    ]
    assert {r["model_id"] for r in rows.values()} == set(played["models"].values())


def test_a_stake_change_through_the_api_is_pushed_with_the_next_version(played, stack):
    recorder = played["recorder"]
    before = len(recorder.messages)
    last = recorder.messages[-1]["version"]
    ann = played["models"]["ann"]
    response = played["client"]["ann"].post(f"/api/models/{ann}/stake", json={"amount": "5"})
    assert response.status_code == 200
    stake = response.json()["stake"]
    update = _wait(
        "the stake update on the socket",
        lambda: next((m for m in recorder.messages[before:] if m["type"] == "update"), None),
        stack,
        timeout=15,
    )
    assert update["version"] == last + 1 and update["reason"] == "stake"
    assert [(r["model_id"], r["stake"]) for r in update["rows"]] == [(ann, stake)]


def test_a_reconnecting_client_gets_exactly_the_updates_it_missed(played, stack):
    first = played["recorder"]
    updates = [m for m in first.messages if m["type"] == "update"]
    middle = updates[len(updates) // 2 - 1]["version"]
    late = SocketRecorder(f"{stack.ws_url}/ws/tournaments/{SLUG}/leaderboard/", origin=stack.base_url, since=middle)
    late.start()
    try:
        assert late.ready.wait(15) and late.error is None, late.error
        replayed = [m for m in late.messages if m["type"] == "update"]
        assert replayed == [m for m in updates if m["version"] > middle]
        assert late.messages[-1] == {"type": "synced", "version": updates[-1]["version"]}
    finally:
        late.stop()


def test_the_processes_logged_no_errors(played, stack):
    for name in ("daphne", "worker", "beat"):
        log = stack.log(name)
        assert "Traceback" not in log, f"{name}:\n{log[-4000:]}"
