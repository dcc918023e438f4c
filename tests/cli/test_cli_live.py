"""The `arena` command against a live platform (pytest-django's live_server): from login to a
verified receipt, the data download (resumed, hash-checked), and `arena verify` after close."""

import io
import json
import stat

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.cli import main
from arena_client.exit_codes import ExitCode
from arena_client.receipts import generate_signing_keypair

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from tests.builders import csv_bytes, make_frame, predictions_csv
from tournaments.models import DatasetVersion, Round, Submission
from tournaments.services.lifecycle import round_close


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The client's own state (login, receipts, cache) in a fresh folder."""
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    for name in ("ARENA_URL", "ARENA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def arena(capsys, live_server, home):
    """`arena("models", "list")` → (exit code, the JSON object printed)."""

    def _run(*argv: str, stdin: str | None = None, monkeypatch=None):
        capsys.readouterr()
        code = main([*argv, "--json"])
        out = capsys.readouterr().out
        return code, json.loads(out)

    return _run


@pytest.fixture
def logged_in(arena, live_server, modeler, make_key, monkeypatch, tournament, open_round):
    key = make_key(modeler, "read", "submit")
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    code, body = arena("login", "--server", live_server.url, "--key-stdin")
    assert code == 0, body
    return key


def test_login_checks_the_key_and_saves_it_readable_by_the_owner_only(
    arena, live_server, logged_in, home, modeler
):
    config = home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["server"] == live_server.url and saved["api_key"] == logged_in
    assert saved["username"] == modeler.username
    assert len(saved["receipt_public_key"]) == 64


def test_login_with_a_wrong_key_exits_7_and_saves_nothing(arena, live_server, home, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("arena_nope_nope\n"))
    code, body = arena("login", "--server", live_server.url, "--key-stdin")
    assert code == ExitCode.AUTH_FAILED == 7
    assert body["error"] == "bad_key" and body["status"] == 401
    assert not (home / "config.json").exists()


def test_from_login_to_a_verified_receipt_and_a_verified_inclusion_proof(
    arena, live_server, logged_in, tournament, open_round, live_ids, tmp_path, home
):
    code, body = arena("tournaments")
    assert code == 0 and [t["slug"] for t in body["tournaments"]] == ["weather"]

    code, body = arena("models", "create", "breeze", "--tournament", "weather")
    assert code == 0, body
    model_id = body["model"]["id"]
    code, body = arena("models", "list")
    assert [m["name"] for m in body["models"]] == ["breeze"]

    # Row-level problems are found before anything is sealed or sent.
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,prediction\n" + b"".join(f"{i},0.5\n".encode() for i in live_ids[:-2]))
    code, body = arena("submit", "--model", "breeze", str(bad))
    assert code == ExitCode.INVALID_INPUT == 3
    assert body["error"] == "invalid_file"
    assert body["message"] == f"{bad}: 2 problems:\n- 2 of 50 live ids are missing: 'live048', " \
        "'live049'\n- all 48 predictions are the same value (0.5); a constant submission " \
        "cannot be ranked, so it cannot be scored"
    assert [p["code"] for p in body["problems"]] == ["missing_ids", "constant"]
    assert not Submission.objects.exists()

    good = tmp_path / "predictions.csv"
    good.write_bytes(predictions_csv(live_ids, seed=3))
    code, body = arena("submit", "--model", "breeze", str(good))
    assert code == 0, body
    sub = Submission.objects.get()
    assert (sub.model_id, sub.cid, sub.state, sub.filename) == (
        model_id, body["cid"], "received", "predictions.csv.sealed"
    )
    assert body["receipt_verified"] is True and body["rows"] == 50
    assert body["receipt"]["cid"] == body["cid"] and body["receipt"]["round"] == 1
    saved = json.loads((home / "data" / "receipts" / "weather" / "round-1" /
                        f"breeze-{body['cid']}.json").read_text())
    assert saved["receipt_signature"] == sub.receipt_signature
    # The live data for the local check was downloaded and hash-checked into the cache.
    live = DatasetVersion.objects.get(kind="live")
    assert cid_for_bytes((home / "cache" / "weather" / "live-round1-v1.csv").read_bytes()) == live.cid

    code, body = arena("status", "--model", "breeze")
    assert code == 0
    [row] = body["models"]
    assert row["round"] == 1
    assert [(s["state"], s["status"]) for s in row["submissions"]] == [("received", "latest")]

    # Nothing is committed before close.
    code, body = arena("verify", "--model", "breeze", "--round", "1")
    assert code == ExitCode.SERVER_REJECTED and body["server_code"] == "round_not_closed"

    closed = round_close(round=open_round, now=open_round.closes_at)
    assert Submission.objects.get().state == "valid"
    code, body = arena("verify", "--model", "breeze", "--round", "1")
    assert code == 0, body
    assert body["verified"] is True and body["root"] == closed.commitments_root
    assert body["cid"] == sub.cid and body["root_source"] == "platform_api"
    assert "it matches your saved receipt" in body["message"]
    # This suite runs with the chain switched off, so only the platform's record is there
    # (tests/chain_integration checks the on-chain root).
    assert body["message"].endswith("root source: the platform's record only: the chain could not be read")

    code, body = arena("submit", "--model", "breeze", str(good))
    assert code == ExitCode.ROUND_CLOSED == 8
    assert body["message"] == (
        "no round of weather is open for submissions; round 1 closed at "
        + Round.objects.get(pk=open_round.pk).closes_at.isoformat().replace("+00:00", "Z")
    )
    code, body = arena("scores", "--model", "breeze")
    assert (code, body["scores"], body["message"]) == (0, [], "breeze has no scores yet")


def test_data_download_is_hash_checked_and_resumes(
    arena, live_server, tournament, open_round, tmp_path, monkeypatch
):
    monkeypatch.setenv("ARENA_URL", live_server.url)  # public data: no login needed
    dest = tmp_path / "data"
    code, body = arena("data", "download", "weather", "--dest", str(dest))
    assert code == 0, body
    training = csv_bytes(make_frame())
    files = {f["path"].rsplit("/", 1)[-1]: f for f in body["files"]}
    assert set(files) == {"training-v1.csv", "live-round1-v1.csv"}
    assert (dest / "training-v1.csv").read_bytes() == training
    assert files["training-v1.csv"]["status"] == "downloaded"

    code, body = arena("data", "download", "weather", "--dest", str(dest), "--kind", "training")
    assert [f["status"] for f in body["files"]] == ["present"]

    # An interrupted download left its first 100 bytes: the next run fetches only the rest.
    (dest / "training-v1.csv").unlink()
    (dest / "training-v1.csv.part").write_bytes(training[:100])
    code, body = arena("data", "download", "weather", "--dest", str(dest), "--kind", "training")
    assert code == 0
    assert (body["files"][0]["status"], body["files"][0]["resumed_from"]) == ("resumed", 100)
    assert (dest / "training-v1.csv").read_bytes() == training
    assert not (dest / "training-v1.csv.part").exists()

    # A damaged partial file is caught by the content id and removed.
    (dest / "training-v1.csv").unlink()
    (dest / "training-v1.csv.part").write_bytes(b"x" * 100)
    code, body = arena("data", "download", "weather", "--dest", str(dest), "--kind", "training")
    assert code == ExitCode.VERIFICATION_FAILED == 5
    assert body["error"] == "hash_mismatch"
    assert "the partial file was removed, run the command again" in body["message"]
    assert not (dest / "training-v1.csv.part").exists()

    code, body = arena("data", "download", "weather", "--round", "1", "--dest", str(dest))
    assert code == 0 and body["files"][0]["status"] == "present"
    code, body = arena("data", "download", "nowhere", "--dest", str(dest))
    assert (code, body["message"]) == (ExitCode.NOT_FOUND, "no tournament with slug 'nowhere'")


def test_a_receipt_that_does_not_verify_exits_5(
    arena, live_server, logged_in, model, open_round, live_ids, tmp_path, monkeypatch
):
    from arena_client.receipts import sign_receipt

    # A platform that signs with a key other than the one it publishes.
    other_key, _ = generate_signing_keypair()
    monkeypatch.setattr(
        "tournaments.services.submissions.receipt_sign",
        lambda *, receipt: sign_receipt(other_key, receipt),
    )
    good = tmp_path / "p.csv"
    good.write_bytes(predictions_csv(live_ids))
    code, body = arena("submit", "--model", "gale-force", str(good))
    assert code == ExitCode.VERIFICATION_FAILED == 5
    assert body["error"] == "receipt_signature_mismatch"
    assert body["message"] == (
        "the upload was stored, but its receipt does not verify: receipt signature does not "
        "match: the receipt was altered or not signed by this platform key"
    )


def test_a_changed_platform_key_is_reported(
    arena, live_server, logged_in, model, open_round, live_ids, tmp_path, settings
):
    pinned = json.loads((tmp_path / "home" / "config.json").read_text())["receipt_public_key"]
    settings.ARENA_RECEIPT_SIGNING_KEY = "44" * 32
    good = tmp_path / "p.csv"
    good.write_bytes(predictions_csv(live_ids))
    code, body = arena("submit", "--model", "gale-force", str(good))
    assert code == ExitCode.VERIFICATION_FAILED
    assert f"not {pinned} as when you logged in" in body["message"]


def test_a_revoked_key_exits_7(arena, live_server, logged_in, modeler):
    api_key_revoke(api_key=ApiKey.objects.get(user=modeler), by=modeler)
    code, body = arena("models", "list")
    assert code == ExitCode.AUTH_FAILED == 7
    assert body["error"] == "bad_key"
    assert body["message"].startswith("the platform refused the API key: ")


def test_a_read_only_key_cannot_submit(
    arena, live_server, modeler, make_key, model, open_round, live_ids, tmp_path, monkeypatch
):
    monkeypatch.setenv("ARENA_API_KEY", make_key(modeler, "read"))
    good = tmp_path / "p.csv"
    good.write_bytes(predictions_csv(live_ids))
    code, body = arena("submit", "--model", "gale-force", str(good), "--url", live_server.url)
    assert code == ExitCode.AUTH_FAILED
    assert "this API key lacks the 'submit' scope" in body["message"]
    assert not Submission.objects.exists()
