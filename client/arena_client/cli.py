"""The ``arena`` command.

Offline commands work today: ``validate``, ``seal``, ``unseal``, ``cid``. The commands that talk
to the platform (``login``, ``tournaments``, ``data download``, ``models``, ``submit``,
``status``, ``scores``, ``verify``) have their final argument structure but are not wired to the
REST API yet: they say so and exit with ``ExitCode.NOT_AVAILABLE`` rather than pretend.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .cid import cid_for_bytes
from .exit_codes import ExitCode, exit_code_table
from .sealing import SealError, key_from_hex, open_sealed, seal, submission_info

DEFAULT_URL = "http://127.0.0.1:8000"


class CommandFailed(Exception):
    """Raised by a handler to end the command with a message and an exit code."""

    def __init__(self, code: ExitCode, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.error = error
        self.message = message
        self.details = details


Handler = Callable[[argparse.Namespace], dict[str, Any]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        result = handler(args)
    except CommandFailed as failure:
        _report_failure(args, failure)
        return failure.code
    _report_success(args, result)
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    network = argparse.ArgumentParser(add_help=False, parents=[common])
    network.add_argument(
        "--url",
        default=os.environ.get("ARENA_URL", DEFAULT_URL),
        help="platform base URL (default: $ARENA_URL or %(default)s)",
    )

    parser = argparse.ArgumentParser(
        prog="arena",
        description="Work with an Arena tournament platform from your machine.",
        epilog="exit codes:\n" + exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"arena-client {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    validate = commands.add_parser(
        "validate", parents=[common], help="check a predictions file with the server's rules"
    )
    validate.add_argument("file", type=Path, help="predictions .csv or .parquet (id,prediction)")
    validate.add_argument(
        "--live-ids",
        type=Path,
        required=True,
        help="the round's live ids: a text file with one id per line, or the live .csv/.parquet "
        "(its 'id' column is used)",
    )
    validate.add_argument(
        "--max-rows", type=int, default=None, help="row limit (default: server's)"
    )
    validate.set_defaults(handler=_validate)

    for name, helptext, handler in (
        ("seal", "encrypt a file to a round's public key (HPKE)", _seal),
        (
            "unseal",
            "decrypt an envelope with a round's private key (after it is published)",
            _unseal,
        ),
    ):
        sub = commands.add_parser(name, parents=[common], help=helptext)
        sub.add_argument("file", type=Path)
        if name == "seal":
            sub.add_argument("--public-key", required=True, help="round public key, 64 hex digits")
        else:
            # A file, not an argument: command lines are visible to other local users.
            sub.add_argument(
                "--private-key-file", type=Path, required=True, help="file holding 64 hex digits"
            )
        sub.add_argument("--tournament", required=True, help="tournament slug")
        sub.add_argument("--round", type=int, required=True, dest="round_number")
        sub.add_argument("--model-id", type=int, required=True)
        sub.add_argument("-o", "--output", type=Path, required=True)
        sub.set_defaults(handler=handler)

    cid = commands.add_parser("cid", parents=[common], help="print a file's CIDv1 (raw, sha2-256)")
    cid.add_argument("file", type=Path)
    cid.set_defaults(handler=_cid)

    _add_network_commands(commands, network)
    return parser


def _add_network_commands(
    commands: argparse._SubParsersAction, network: argparse.ArgumentParser
) -> None:
    """Argument structure of the commands that need the platform's REST API."""
    login = commands.add_parser("login", parents=[network], help="store an API key (mode 0600)")
    login.add_argument(
        "--key-stdin", action="store_true", help="read the key from stdin, not a prompt"
    )
    login.set_defaults(handler=_not_available("login"))

    tournaments = commands.add_parser("tournaments", parents=[network], help="list tournaments")
    tournaments.set_defaults(handler=_not_available("tournaments"))

    data = commands.add_parser("data", help="tournament data sets").add_subparsers(metavar="ACTION")
    download = data.add_parser(
        "download", parents=[network], help="download (resumable, hash-checked)"
    )
    download.add_argument("tournament")
    download.add_argument("--round", type=int, dest="round_number", help="default: the open round")
    download.add_argument("--dest", type=Path, default=Path("."))
    download.set_defaults(handler=_not_available("data download"))

    models = commands.add_parser("models", help="your models").add_subparsers(metavar="ACTION")
    models_list = models.add_parser("list", parents=[network])
    models_list.add_argument("--tournament")
    models_list.set_defaults(handler=_not_available("models list"))
    models_create = models.add_parser("create", parents=[network])
    models_create.add_argument("name")
    models_create.add_argument("--tournament", required=True)
    models_create.set_defaults(handler=_not_available("models create"))

    submit = commands.add_parser(
        "submit", parents=[network], help="validate, seal, upload, and check the receipt"
    )
    submit.add_argument("file", type=Path)
    submit.add_argument("--model", required=True)
    submit.add_argument("--tournament")
    submit.set_defaults(handler=_not_available("submit"))

    status = commands.add_parser("status", parents=[network], help="your submissions this round")
    status.add_argument("--model")
    status.set_defaults(handler=_not_available("status"))

    scores = commands.add_parser("scores", parents=[network], help="a model's scores")
    scores.add_argument("--model", required=True)
    scores.set_defaults(handler=_not_available("scores"))

    verify = commands.add_parser(
        "verify",
        parents=[network],
        help="check a submission's inclusion proof against the on-chain root",
    )
    verify.add_argument("--model", required=True)
    verify.add_argument("--round", type=int, required=True, dest="round_number")
    verify.add_argument("--tournament")
    verify.set_defaults(handler=_not_available("verify"))


def _not_available(command: str) -> Handler:
    def handler(args: argparse.Namespace) -> dict[str, Any]:
        # TODO(issue 5): wire to the platform REST API once it exists.
        raise CommandFailed(
            ExitCode.NOT_AVAILABLE,
            "not_available",
            f"'arena {command}' is not available yet in arena-client {__version__}: "
            "it needs the platform's REST API, which this version does not talk to",
        )

    return handler


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    from .validation import (
        DEFAULT_MAX_ROWS,
        PredictionFileError,
        read_predictions,
        validate_predictions,
    )

    live_ids = _read_live_ids(args.live_ids)
    try:
        frame = read_predictions(_read_file(args.file), args.file.name)
        validated = validate_predictions(
            frame,
            live_ids,
            max_rows=args.max_rows if args.max_rows is not None else DEFAULT_MAX_ROWS,
        )
    except PredictionFileError as error:
        raise CommandFailed(
            ExitCode.INVALID_INPUT,
            "invalid_file",
            f"{args.file}: {error.message}",
            problems=error.problems,
        ) from None
    return {
        "message": f"{args.file}: valid, {len(validated):,} predictions",
        "rows": len(validated),
    }


def _seal(args: argparse.Namespace) -> dict[str, Any]:
    try:
        info = submission_info(args.tournament, args.round_number, args.model_id)
        envelope = seal(_read_file(args.file), key_from_hex(args.public_key), info)
    except (SealError, ValueError, TypeError) as error:
        raise CommandFailed(ExitCode.SEAL_FAILED, "seal_failed", str(error)) from None
    args.output.write_bytes(envelope)
    cid = cid_for_bytes(envelope)
    return {
        "message": f"sealed {args.file} -> {args.output} ({cid})",
        "cid": cid,
        "bytes": len(envelope),
    }


def _unseal(args: argparse.Namespace) -> dict[str, Any]:
    try:
        private_key = key_from_hex(_read_file(args.private_key_file).decode("ascii", "replace"))
        info = submission_info(args.tournament, args.round_number, args.model_id)
        plaintext = open_sealed(_read_file(args.file), private_key, info)
    except (SealError, ValueError, TypeError) as error:
        raise CommandFailed(
            ExitCode.SEAL_FAILED, "unseal_failed", f"{args.file}: {error}"
        ) from None
    args.output.write_bytes(plaintext)
    return {"message": f"opened {args.file} -> {args.output}", "bytes": len(plaintext)}


def _cid(args: argparse.Namespace) -> dict[str, Any]:
    cid = cid_for_bytes(_read_file(args.file))
    return {"message": cid, "cid": cid}


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandFailed(
            ExitCode.INVALID_INPUT, "unreadable_file", f"cannot read {path}: {error.strerror}"
        ) from None


def _read_live_ids(path: Path) -> list[str]:
    """Live ids from a text list or from the 'id' column of the live data file."""
    import pandas as pd

    data = _read_file(path)
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(io.BytesIO(data))
            ids = frame.index if "id" in frame.index.names else frame["id"]
            return [str(value) for value in ids]
        if name.endswith(".csv"):
            return pd.read_csv(
                io.BytesIO(data),
                usecols=["id"],
                dtype=str,
                keep_default_na=False,
                encoding="utf-8-sig",
            )["id"].tolist()
        return [line.strip() for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    except (KeyError, ValueError, OSError) as error:
        raise CommandFailed(
            ExitCode.INVALID_INPUT,
            "unreadable_live_ids",
            f"cannot read live ids from {path}: {error}",
        ) from None


def _report_success(args: argparse.Namespace, result: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps({"ok": True, **result}, ensure_ascii=False))
    else:
        print(result["message"])


def _report_failure(args: argparse.Namespace, failure: CommandFailed) -> None:
    if getattr(args, "json", False):
        payload = {
            "ok": False,
            "error": failure.error,
            "message": failure.message,
            **failure.details,
        }
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(f"arena: {failure.message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
