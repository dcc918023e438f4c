"""Inclusion proofs checked against the commitments root read from the chain: through the
contract itself, through the API's proof endpoint, through `arena verify`, and with the
client's own JSON-RPC read against a real anvil node."""

import io
import json
from datetime import timedelta

import pytest
from arena_client.chainread import read_commitments
from arena_client.cli import main
from arena_client.merkle import verify_submission_proof
from django.utils import timezone

from accounts.services import api_key_create
from chain.client import use_gateway
from demo.runner import run_headless
from demo.services import DemoSchedule, demo_create
from tournaments.models import Submission
from tournaments.selectors import submission_inclusion_proof

FAST = DemoSchedule(
    round_interval=timedelta(minutes=5),
    submission_window=timedelta(minutes=1),
    resolution_lag=timedelta(seconds=10),
    score_days=1,
    score_day_interval=timedelta(seconds=10),
    challenge_window=timedelta(seconds=10),
)


@pytest.fixture
def settled_round():
    tournament = demo_create(now=timezone.now(), slug="proofs", schedule=FAST, rows_per_era=100)
    run_headless(tournament=tournament, rounds=1)
    return tournament.rounds.get(number=1)


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


@pytest.mark.chain_integration
@pytest.mark.django_db(transaction=True)
def test_every_counted_submission_is_provably_under_the_root_on_chain(settled_round):
    with use_gateway() as gateway:
        onchain = gateway.round_state(settled_round.tournament_id, settled_round.number)
        assert onchain["commitments_root"] == settled_round.commitments_root
        assert onchain["submission_count"] == settled_round.commitments_count == 19
        for submission in Submission.objects.filter(round=settled_round, is_counted=True):
            proof = submission_inclusion_proof(submission=submission)
            nodes = [_hex(node) for node in proof["proof"]]
            verify_submission_proof(submission.cid, nodes, _hex(onchain["commitments_root"]))
            assert gateway.verify_commitment(
                settled_round.tournament_id, settled_round.number, _hex(proof["digest"]), nodes
            )
        # A proof for another round's root does not verify on-chain.
        assert not gateway.verify_commitment(
            settled_round.tournament_id, settled_round.number + 1, _hex(proof["digest"]), nodes
        )


@pytest.mark.chain_integration
@pytest.mark.django_db(transaction=True)
def test_arena_verify_checks_the_proof_against_the_chain(settled_round, live_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    submission = Submission.objects.filter(round=settled_round, is_counted=True).select_related("model").first()
    key = api_key_create(user=submission.model.owner, name="cli", scopes=["read"]).raw_key
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    assert main(["login", "--server", live_server.url, "--key-stdin", "--json"]) == 0
    capsys.readouterr()
    code = main(["verify", "--model", submission.model.name, "--round", "1", "--tournament", "proofs", "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0, body
    assert body["verified"] is True and body["root_source"] == "chain"
    assert body["root"] == settled_round.commitments_root
    assert "staking contract" in body["root_detail"]


@pytest.mark.anvil
def test_the_client_reads_the_root_from_a_real_node_itself():
    from chain.anvil import AnvilNotInstalled, anvil_binary, start_anvil
    from chain.gateway import ChainGateway
    from chain.settlement import build_commitments

    try:
        anvil_binary()
    except AnvilNotInstalled as exc:
        pytest.skip(f"anvil not installed: {exc}")
    with start_anvil() as node:
        gateway = ChainGateway.rpc(node.url, node.private_keys[0], dev_keys=node.private_keys[1:], poll_interval=0.02)
        staking = gateway.deploy()["staking"]
        gateway.register_tournament(tournament_id=7, guardian=gateway.dev_accounts[0], challenge_window=60)
        commitments = build_commitments([bytes([i]) * 32 for i in range(1, 6)])
        gateway.post_commitments_root(
            tournament_id=7, round_id=3, root=commitments.root, submission_count=commitments.count
        )
        read = read_commitments(node.url, staking, 7, 3)
        assert read == {"closed": True, "root": "0x" + commitments.root.hex(), "submission_count": 5}
        assert read_commitments(node.url, staking, 7, 4) == {"closed": False, "root": "0x" + "00" * 32, "submission_count": 0}
