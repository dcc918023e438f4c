"""Crash injection: the Celery worker is SIGKILLed at every settlement step and restarted, and
every balance still ends exactly as the payouts say — nothing paid or burned twice.

The production profile on PostgreSQL, Redis and a real anvil node: beat ticks, the worker
runs the round. The worker (only it) runs with ARENA_CRASH_AFTER (chain/crash_points.py): its
whole process group is SIGKILLed right after each of these transactions is mined and before
the platform has recorded it — opening the round on-chain, posting the commitments root,
proposing the settlement, finalizing it, and the first two of three apply batches (one leaf
per batch). The test restarts the worker each time, as a supervisor would. Then it checks,
on the chain itself: one RoundOpened, one CommitmentsRootPosted, one SettlementProposed, one
SettlementFinalized, exactly one LeafApplied per model, each model's stake equal to its
deposit plus its payout, the pool and the token supply moved by exactly the rewards and
burns."""

import io
import json
import time

import httpx
import pandas as pd
import pytest

from tests.builders import csv_bytes, make_frame, predictions_csv
from tests.production.stack import (
    anvil_available,
    create_stack,
    create_users_with_keys,
    post_tournament,
)
from tests.production.test_full_round import upload_predictions

# Not marked slow: CI runs it on every change (the issue of hostile input asks for it there).
pytestmark = [pytest.mark.production]

SLUG = "crash-weather"
MODELERS = {"ann": 7, "ben": 3, "cat": 11}
STAKE_TOKENS = 20
CRASH_POINTS = [
    "open round:1",
    "post commitments root:1",
    "propose settlement:1",
    "finalize settlement:1",
    "apply:1",
    "apply:2",
]


class Supervisor:
    """Restarts the worker whenever it has died, as systemd or Kubernetes would."""

    def __init__(self, stack, extra_env: dict[str, str]):
        self.stack, self.extra_env = stack, extra_env
        self.restarts = 0
        self.name = "worker"
        stack.start_worker(name=self.name, extra_env=extra_env)

    def check(self) -> None:
        proc = self.stack.procs[self.name]
        if proc.poll() is None:
            return
        assert proc.returncode == -9, (
            f"the worker exited with {proc.returncode}:\n{self.stack.log(self.name)[-3000:]}"
        )
        self.stack.procs.pop(self.name)
        self.restarts += 1
        self.name = f"worker-{self.restarts}"
        self.stack.start_worker(name=self.name, extra_env=self.extra_env)

    def wait(self, what: str, check, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            for name, proc in self.stack.procs.items():
                assert proc.poll() is None or name.startswith("worker"), self.stack.log(name)[
                    -3000:
                ]
            value = check()
            if value:
                return value
            time.sleep(0.25)
        raise TimeoutError(f"waited {timeout} s for {what}\n{self.stack.log(self.name)[-4000:]}")


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    if not anvil_available():
        pytest.skip("anvil is not installed (npm ci)")
    workdir = tmp_path_factory.mktemp("crash-stack")
    # A killed worker's tournament lease expires on its own (it cannot release it); a short
    # lease keeps the six waits for that expiry from dominating the test's time.
    stack = create_stack(
        workdir,
        tick_seconds=0.5,
        extra_env={"CHAIN_APPLY_BATCH": "1", "ARENA_TOURNAMENT_LEASE_SECONDS": "3"},
    )
    try:
        stack.start_daphne()
        supervisor = Supervisor(
            stack,
            {
                "ARENA_CRASH_AFTER": ",".join(CRASH_POINTS),
                "ARENA_CRASH_MARKS": str(workdir / "crash-marks"),
            },
        )
        stack.start_beat()
        stack.wait_http()
        yield stack, supervisor, workdir / "crash-marks"
    finally:
        stack.stop()


def _accepted(response: httpx.Response) -> None:
    assert response.status_code in (201, 202), response.text


def test_every_balance_ends_exactly_as_the_payouts_say(crashed):
    stack, supervisor, marks = crashed
    keys = create_users_with_keys(
        stack,
        {"sponsor": ["sponsor", "read"]} | {name: ["submit", "stake", "read"] for name in MODELERS},
    )
    client = {
        name: httpx.Client(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        for name, key in keys.items()
    }
    sponsor = client["sponsor"]
    post_tournament(sponsor, slug=SLUG, name="Crash Weather", opens_in=10, window=8, score_days=2)
    round_url = f"/api/tournaments/{SLUG}/rounds/1"
    supervisor.wait("round 1 to be scheduled", lambda: sponsor.get(round_url).status_code == 200)
    live = make_frame(with_target=False, seed=5, prefix="live")
    _accepted(sponsor.post(f"{round_url}/live-data", files={"file": ("live.csv", csv_bytes(live))}))
    models = {}
    for name in MODELERS:
        response = client[name].post(
            "/api/models", json={"tournament": SLUG, "name": f"{name}-model"}
        )
        assert response.status_code == 201, response.text
        models[name] = response.json()["id"]
        response = client[name].post(
            f"/api/models/{models[name]}/stake", json={"amount": str(STAKE_TOKENS)}
        )
        assert response.status_code == 200, response.text

    info = supervisor.wait(
        "round 1 to open", lambda: (r := sponsor.get(round_url).json())["state"] == "open" and r
    )
    ids = live["id"].tolist()
    for name, seed in MODELERS.items():
        response = upload_predictions(
            client[name],
            round_info=info,
            model_id=models[name],
            csv=predictions_csv(ids, seed=seed),
        )
        assert response.status_code == 201, response.text
    supervisor.wait("round 1 to close", lambda: sponsor.get(round_url).json()["state"] != "open")
    truth = make_frame(seed=5, prefix="live")
    for day, column in ((1, "target"), (2, "feature_1")):
        buf = io.BytesIO()
        pd.DataFrame({"id": ids, "target": truth[column].round(2)}).to_csv(buf, index=False)
        _accepted(
            sponsor.post(f"{round_url}/targets/{day}", files={"file": ("t.csv", buf.getvalue())})
        )
    supervisor.wait(
        "round 1 to settle",
        lambda: sponsor.get(round_url).json()["state"] == "settled",
        timeout=240,
    )

    # Every crash point was reached, and the worker was killed and restarted at each.
    fired = sorted(p.name for p in marks.glob("fired-*"))
    assert fired == sorted(
        f"fired-{prefix.replace(' ', '_')}-{n}"
        for prefix, n in (p.rsplit(":", 1) for p in CRASH_POINTS)
    )
    assert supervisor.restarts == len(CRASH_POINTS)

    payouts = json.loads(
        stack.python(
            "import json; from tournaments.models import Payout; "
            "print(json.dumps({p.model_id: [str(p.amount), str(p.stake_at_risk), p.state] "
            f"for p in Payout.objects.filter(round__tournament__slug='{SLUG}', round__number=1)}}))"
        )
        .strip()
        .splitlines()[-1]
    )
    assert set(payouts) == {str(m) for m in models.values()}
    assert {state for _, _, state in payouts.values()} == {"settled"}

    from chain.gateway import ChainGateway

    gateway = ChainGateway.rpc(
        stack.anvil.url,
        stack.env["CHAIN_OPERATOR_KEY"],
        token_address=stack.env["CHAIN_TOKEN_ADDRESS"],
        staking_address=stack.env["CHAIN_STAKING_ADDRESS"],
    )
    tournament_id = int(
        stack.python(
            f"from tournaments.models import Tournament; print(Tournament.objects.get(slug='{SLUG}').pk)"
        )
        .strip()
        .splitlines()[-1]
    )
    events = gateway.events(0, contracts=("staking",))
    mine = [e for e in events if e["args"].get("tournament_id") == tournament_id]
    counts = {
        name: sum(e["name"] == name for e in mine)
        for name in (
            "RoundOpened",
            "CommitmentsRootPosted",
            "SettlementProposed",
            "SettlementFinalized",
            "LeafApplied",
            "SettlementCompleted",
            "BurnShortfall",
        )
    }
    assert counts == {
        "RoundOpened": 1,
        "CommitmentsRootPosted": 1,
        "SettlementProposed": 1,
        "SettlementFinalized": 1,
        "LeafApplied": len(MODELERS),
        "SettlementCompleted": 1,
        "BurnShortfall": 0,
    }
    applied = {
        e["args"]["model_id"]: e["args"]["delta"] for e in mine if e["name"] == "LeafApplied"
    }
    deposit = STAKE_TOKENS * 10**18
    for model_id in models.values():
        amount, at_risk, _ = payouts[str(model_id)]
        assert int(at_risk) == deposit
        assert applied[model_id] == int(amount)
        assert gateway.stake_of(model_id) == deposit + int(amount)
    state = gateway.round_state(tournament_id, 1)
    rewards = sum(int(a) for a, _, _ in payouts.values() if int(a) > 0)
    burns = -sum(int(a) for a, _, _ in payouts.values() if int(a) < 0)
    assert (state["status_name"], state["rewarded"], state["burned"]) == (
        "completed",
        rewards,
        burns,
    )
    assert gateway.pool_of(tournament_id) == 1000 * 10**18 - rewards
    for c in client.values():
        c.close()
