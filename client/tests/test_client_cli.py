import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from arena_client.cid import cid_for_bytes
from arena_client.cli import main
from arena_client.exit_codes import ExitCode
from arena_client.sealing import generate_round_keypair, open_sealed, submission_info

LIVE = ["n1", "n2", "n3"]
GOOD = b"id,prediction\nn1,0.1\nn2,0.9\nn3,0.5\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "live.txt").write_text("\n".join(LIVE) + "\n")
    (tmp_path / "live.csv").write_text("id,era,feature_1\n" + "".join(f"{i},1,0.5\n" for i in LIVE))
    (tmp_path / "good.csv").write_bytes(GOOD)
    (tmp_path / "bad.csv").write_bytes(b"id,prediction\nn1,0.1\nn1,abc\n")
    return tmp_path


@pytest.mark.parametrize("live", ["live.txt", "live.csv"])
def test_validate_accepts_a_good_file(files, capsys, live):
    code = main(["validate", str(files / "good.csv"), "--live-ids", str(files / live)])
    assert code == ExitCode.OK == 0
    assert capsys.readouterr().out == f"{files / 'good.csv'}: valid, 3 predictions\n"


def test_validate_lists_problems_and_exits_3(files, capsys):
    code = main(["validate", str(files / "bad.csv"), "--live-ids", str(files / "live.txt")])
    assert code == ExitCode.INVALID_INPUT == 3
    assert capsys.readouterr().err == (
        f"arena: {files / 'bad.csv'}: 3 problems:\n"
        "- 1 id appears more than once (2 rows in all): 'n1' (rows 1, 2)\n"
        "- 2 of 3 live ids are missing: 'n2', 'n3'\n"
        "- 1 row with a prediction that is not a number: row 2 (id 'n1'): 'abc'\n"
    )


def test_validate_json_output_carries_the_problems(files, capsys):
    code = main(
        ["validate", str(files / "bad.csv"), "--live-ids", str(files / "live.txt"), "--json"]
    )
    assert code == 3
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and payload["error"] == "invalid_file"
    assert [p["code"] for p in payload["problems"]] == [
        "duplicate_ids",
        "missing_ids",
        "not_numeric",
    ]


def test_validate_row_limit_flag(files, capsys):
    args = ["validate", str(files / "good.csv"), "--live-ids", str(files / "live.txt")]
    assert main([*args, "--max-rows", "2"]) == 3
    assert capsys.readouterr().err.endswith("file has 3 rows; the limit is 2\n")


def test_missing_input_file_exits_3(files, capsys):
    code = main(["validate", str(files / "nope.csv"), "--live-ids", str(files / "live.txt")])
    assert code == 3
    assert (
        capsys.readouterr().err
        == f"arena: cannot read {files / 'nope.csv'}: No such file or directory\n"
    )


def test_live_ids_without_an_id_column_exit_3(files, capsys):
    (files / "noid.csv").write_text("era\n1\n")
    code = main(["validate", str(files / "good.csv"), "--live-ids", str(files / "noid.csv")])
    assert code == 3
    assert capsys.readouterr().err.startswith(
        f"arena: cannot read live ids from {files / 'noid.csv'}: "
    )


def test_seal_then_unseal_round_trips(files, capsys):
    private_key, public_key = generate_round_keypair()
    (files / "round.key").write_text(private_key.hex() + "\n")
    target = ["--tournament", "crypto-daily", "--round", "12", "--model-id", "7"]
    sealed = files / "good.csv.sealed"
    code = main(
        [
            "seal",
            str(files / "good.csv"),
            "--public-key",
            public_key.hex(),
            *target,
            "-o",
            str(sealed),
            "--json",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    envelope = sealed.read_bytes()
    assert payload == {
        "ok": True,
        "message": f"sealed {files / 'good.csv'} -> {sealed} ({cid_for_bytes(envelope)})",
        "cid": cid_for_bytes(envelope),
        "bytes": len(GOOD) + 59,
    }
    assert open_sealed(envelope, private_key, submission_info("crypto-daily", 12, 7)) == GOOD

    opened = files / "opened.csv"
    code = main(
        [
            "unseal",
            str(sealed),
            "--private-key-file",
            str(files / "round.key"),
            *target,
            "-o",
            str(opened),
        ]
    )
    assert code == 0
    assert opened.read_bytes() == GOOD


def test_unseal_into_another_round_exits_4(files, capsys):
    private_key, public_key = generate_round_keypair()
    (files / "round.key").write_text(private_key.hex())
    sealed = files / "sealed"
    common = ["--tournament", "crypto-daily", "--model-id", "7", "-o"]
    assert (
        main(
            [
                "seal",
                str(files / "good.csv"),
                "--public-key",
                public_key.hex(),
                "--round",
                "12",
                *common,
                str(sealed),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code = main(
        [
            "unseal",
            str(sealed),
            "--private-key-file",
            str(files / "round.key"),
            "--round",
            "13",
            *common,
            str(files / "x"),
        ]
    )
    assert code == ExitCode.SEAL_FAILED == 4
    assert "envelope failed authentication" in capsys.readouterr().err
    assert not (files / "x").exists()


def test_seal_with_a_bad_key_exits_4(files, capsys):
    code = main(
        [
            "seal",
            str(files / "good.csv"),
            "--public-key",
            "abcd",
            "--tournament",
            "t",
            "--round",
            "1",
            "--model-id",
            "1",
            "-o",
            str(files / "s"),
        ]
    )
    assert code == 4
    assert (
        capsys.readouterr().err
        == "arena: a key must be 64 hex digits (32 bytes), got 4 characters\n"
    )


def test_cid_prints_the_ipfs_name(files, capsys):
    (files / "empty").write_bytes(b"")
    assert main(["cid", str(files / "empty")]) == 0
    assert (
        capsys.readouterr().out == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku\n"
    )


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """A client home with no login, and a URL where nothing listens."""
    import socket

    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARENA_API_KEY", raising=False)
    monkeypatch.delenv("ARENA_URL", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed again: connections are refused


@pytest.mark.parametrize(
    "argv",
    [
        ["tournaments"],
        ["data", "download", "crypto-daily"],
    ],
)
def test_an_unreachable_server_exits_6(nowhere, capsys, argv):
    assert main([*argv, "--url", nowhere]) == ExitCode.SERVER_UNREACHABLE == 6
    assert capsys.readouterr().err.startswith(
        f"arena: cannot reach the platform at {nowhere}: "
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["models", "list"],
        ["models", "create", "m1", "--tournament", "t"],
        ["submit", "--model", "m1", "p.csv"],
        ["status"],
        ["scores", "--model", "m1"],
        ["verify", "--model", "m1", "--round", "3"],
    ],
)
def test_commands_that_need_a_key_say_how_to_get_one(nowhere, capsys, argv, files):
    (files / "p.csv").write_bytes(GOOD)
    argv = [str(files / "p.csv") if a == "p.csv" else a for a in argv]
    assert main([*argv, "--url", nowhere, "--json"]) == ExitCode.AUTH_FAILED == 7
    assert json.loads(capsys.readouterr().out) == {
        "ok": False,
        "error": "no_key",
        "message": f"no API key for {nowhere}: run `arena login --server {nowhere}` or set "
        "ARENA_API_KEY",
    }


def test_login_to_an_unreachable_server_exits_6_and_saves_nothing(nowhere, capsys, monkeypatch):
    import io as _io

    from arena_client.config import config_path

    monkeypatch.setattr("sys.stdin", _io.StringIO("arena_abc_def\n"))
    assert main(["login", "--server", nowhere, "--key-stdin"]) == 6
    assert "cannot reach the platform" in capsys.readouterr().err
    assert not config_path().exists()


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage: arena" in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["seal", "f"])
    assert caught.value.code == 2


def test_console_script_is_installed_and_documents_exit_codes():
    # The console script sits beside the interpreter running the tests (the venv's bin/).
    arena = shutil.which("arena", path=str(Path(sys.executable).parent))
    if arena is None:
        pytest.skip("arena-client is not installed in this environment (pip install -e client)")
    result = subprocess.run([arena, "--help"], capture_output=True, text=True, check=True)
    assert "exit codes:" in result.stdout
    assert "  11  not found: no such tournament, round, model or submission" in result.stdout
    assert "   6  server unreachable" in result.stdout
    assert "   3  input file missing, unreadable or invalid" in result.stdout
