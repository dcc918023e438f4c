"""The ``arena`` command.

Offline: ``validate``, ``seal``, ``unseal``, ``cid``. Against the platform's REST API (httpx,
see arena_client.api): ``login``, ``tournaments``, ``data download``, ``models list|create``,
``submit``, ``status``, ``scores``, ``verify``. Every failure ends with a message and one of
the documented exit codes (arena_client.exit_codes); ``--json`` prints one JSON object.

Each command imports what only it needs (httpx through .api, pandas, tqdm, the validators) when
it runs, so ``arena --help`` and the offline commands load none of them: those imports sit
inside the command functions on purpose, not to dodge a cycle.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import __version__
from .cid import cid_for_bytes
from .exit_codes import ExitCode, exit_code_table
from .sealing import SealError, key_from_hex, open_sealed, seal, submission_info

if TYPE_CHECKING:
    from .api import ArenaApi
    from .config import Login

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
        "--server",
        dest="url",
        default=None,
        help=f"platform base URL (default: $ARENA_URL, else the server you logged in to, else "
        f"{DEFAULT_URL})",
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


class _Subcommands(Protocol):
    """What `ArgumentParser.add_subparsers()` returns, as far as this module uses it (its
    class is private to argparse)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def _add_network_commands(commands: _Subcommands, network: argparse.ArgumentParser) -> None:
    """The commands that talk to the platform's REST API."""
    login = commands.add_parser(
        "login", parents=[network], help="check an API key and store it (mode 0600)"
    )
    login.add_argument(
        "--key-stdin", action="store_true", help="read the key from stdin, not a prompt"
    )
    login.set_defaults(handler=_login)

    tournaments = commands.add_parser("tournaments", parents=[network], help="list tournaments")
    tournaments.set_defaults(handler=_tournaments)

    data = commands.add_parser("data", help="tournament data sets").add_subparsers(metavar="ACTION")
    download = data.add_parser(
        "download", parents=[network], help="download (resumable, hash-checked)"
    )
    download.add_argument("tournament")
    download.add_argument(
        "--round", type=int, dest="round_number", help="only this round's live data"
    )
    download.add_argument(
        "--kind", choices=["training", "validation", "live"], help="only this kind of data"
    )
    download.add_argument("--dest", type=Path, default=Path("."))
    download.set_defaults(handler=_data_download)

    models = commands.add_parser("models", help="your models").add_subparsers(metavar="ACTION")
    models_list = models.add_parser("list", parents=[network])
    models_list.add_argument("--tournament")
    models_list.set_defaults(handler=_models_list)
    models_create = models.add_parser("create", parents=[network])
    models_create.add_argument("name")
    models_create.add_argument("--tournament", required=True)
    models_create.set_defaults(handler=_models_create)

    submit = commands.add_parser(
        "submit", parents=[network], help="validate, seal, upload, and check the receipt"
    )
    submit.add_argument("file", type=Path)
    submit.add_argument("--model", required=True)
    submit.add_argument("--tournament", help="needed only if the model name is in several")
    submit.set_defaults(handler=_submit)

    status = commands.add_parser("status", parents=[network], help="your latest submissions")
    status.add_argument("--model")
    status.add_argument("--tournament")
    status.set_defaults(handler=_status)

    scores = commands.add_parser("scores", parents=[network], help="a model's scores")
    scores.add_argument("--model", required=True)
    scores.add_argument("--tournament")
    scores.set_defaults(handler=_scores)

    verify = commands.add_parser(
        "verify",
        parents=[network],
        help="check a submission's inclusion proof against the round's commitments root",
    )
    verify.add_argument("--model", required=True)
    verify.add_argument("--round", type=int, required=True, dest="round_number")
    verify.add_argument("--tournament")
    verify.add_argument(
        "--rpc-url",
        help="JSON-RPC node to read the commitments root from yourself (default: the platform's "
        "own read of the chain, reported by the API)",
    )
    verify.set_defaults(handler=_verify)


# --- Sessions, errors, progress ----------------------------------------------------------------


class _Session:
    """The server and key a network command uses.

    Server: --url/--server, else $ARENA_URL, else the one `arena login` saved, else the
    default. Key: $ARENA_API_KEY, else the saved one, but only for the server it was saved
    for, so a key is never sent to another server.
    """

    def __init__(self, args: argparse.Namespace, *, need_key: bool) -> None:
        from .config import load_login

        try:
            self.login: Login | None = load_login()
        except ValueError as error:
            raise CommandFailed(ExitCode.INVALID_INPUT, "bad_config", str(error)) from None
        saved = self.login.server if self.login else None
        self.url = (args.url or os.environ.get("ARENA_URL") or saved or DEFAULT_URL).rstrip("/")
        self.same_server = self.login is not None and self.login.server.rstrip("/") == self.url
        self.api_key = os.environ.get("ARENA_API_KEY") or (
            self.login.api_key if self.login and self.same_server else None
        )
        if need_key and not self.api_key:
            raise CommandFailed(
                ExitCode.AUTH_FAILED,
                "no_key",
                f"no API key for {self.url}: run `arena login --server {self.url}` or set "
                "ARENA_API_KEY",
            )

    def api(self) -> ArenaApi:
        from .api import ArenaApi

        return ArenaApi(self.url, self.api_key)


def _failure_from(error: Exception) -> CommandFailed:
    """The exit code and message for an error from arena_client.api."""
    from .api import ApiError, DownloadMismatch, ServerUnreachable

    if isinstance(error, ServerUnreachable):
        return CommandFailed(ExitCode.SERVER_UNREACHABLE, "server_unreachable", str(error))
    if isinstance(error, DownloadMismatch):
        return CommandFailed(ExitCode.VERIFICATION_FAILED, "hash_mismatch", str(error))
    assert isinstance(error, ApiError)
    details: dict[str, Any] = {"status": error.status, "server_code": error.code}
    if isinstance(error.details, dict) and error.details.get("problems"):
        details["problems"] = error.details["problems"]
    if error.status == 401 or (
        error.status == 403 and error.message.startswith("this API key lacks")
    ):
        return CommandFailed(
            ExitCode.AUTH_FAILED,
            "bad_key",
            f"the platform refused the API key: {error.message} (a key may be wrong, revoked or "
            "missing a scope; make one on the site's API keys page and run `arena login`)",
            **details,
        )
    if error.status == 404:
        return CommandFailed(ExitCode.NOT_FOUND, "not_found", error.message, **details)
    if error.status == 409 and error.code == "round_closed":
        return CommandFailed(ExitCode.ROUND_CLOSED, "round_closed", error.message, **details)
    return CommandFailed(
        ExitCode.SERVER_REJECTED,
        error.code,
        f"the platform refused: {error.message}",
        **details,
    )


def _network(handler: Handler) -> Handler:
    """Turn API errors into documented exit codes."""
    from functools import wraps

    @wraps(handler)
    def wrapped(args: argparse.Namespace) -> dict[str, Any]:
        from .api import ApiError, DownloadMismatch, ServerUnreachable

        try:
            return handler(args)
        except (ApiError, DownloadMismatch, ServerUnreachable) as error:
            raise _failure_from(error) from None

    return wrapped


class _Bars:
    """tqdm progress bars on stderr; off with --json or when stderr is not a terminal."""

    def __init__(self, args: argparse.Namespace, desc: str) -> None:
        self.enabled = not args.json and sys.stderr.isatty()
        self.desc = desc
        self.bars: list[Any] = []

    def __call__(self, total: int, initial: int = 0) -> Callable[[int], Any] | None:
        if not self.enabled:
            return None
        from tqdm import tqdm

        bar = tqdm(
            total=total or None,
            initial=initial,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=self.desc,
            file=sys.stderr,
            leave=False,
        )
        self.bars.append(bar)
        return bar.update

    def close(self) -> None:
        for bar in self.bars:
            bar.close()


def _find_model(api: ArenaApi, name: str, tournament: str | None) -> dict:
    mine = api.models(tournament)
    matches = [m for m in mine if m["name"] == name]
    if not matches:
        where = f" in {tournament}" if tournament else ""
        have = ", ".join(sorted(f"{m['name']} ({m['tournament']})" for m in mine)) or "none"
        raise CommandFailed(
            ExitCode.NOT_FOUND,
            "unknown_model",
            f"you have no model named {name!r}{where}; your models: {have}",
        )
    if len(matches) > 1:
        raise CommandFailed(
            ExitCode.USAGE,
            "ambiguous_model",
            f"you have a model named {name!r} in "
            + ", ".join(sorted(m["tournament"] for m in matches))
            + ": add --tournament",
        )
    return matches[0]


# --- Commands ------------------------------------------------------------------------------


def _login(args: argparse.Namespace) -> dict[str, Any]:
    import getpass

    from .api import ApiError, ArenaApi, ServerUnreachable
    from .config import Login, load_login, save_login

    try:
        saved = load_login()
    except ValueError:
        saved = None  # a damaged config file is replaced by this login
    url = (args.url or os.environ.get("ARENA_URL") or (saved.server if saved else None) or DEFAULT_URL)
    url = url.rstrip("/")
    key = sys.stdin.readline().strip() if args.key_stdin else getpass.getpass(f"API key for {url}: ")
    if not key:
        raise CommandFailed(ExitCode.AUTH_FAILED, "no_key", "no API key given")
    try:
        with ArenaApi(url, key) as api:
            me = api.me()
            platform = api.platform()
    except (ApiError, ServerUnreachable) as error:
        raise _failure_from(error) from None
    path = save_login(
        Login(
            server=url,
            api_key=key,
            username=me["username"],
            receipt_public_key=platform["receipt_public_key"],
        )
    )
    scopes = ", ".join(me["scopes"])
    return {
        "message": f"logged in to {url} as {me['username']} (scopes: {scopes}); the key is "
        f"saved in {path} (readable by you only)",
        "server": url,
        "username": me["username"],
        "scopes": me["scopes"],
        "config": str(path),
        "receipt_public_key": platform["receipt_public_key"],
    }


@_network
def _tournaments(args: argparse.Namespace) -> dict[str, Any]:
    session = _Session(args, need_key=False)
    with session.api() as api:
        rows = api.tournaments()
    lines = [f"{t['slug']:<24} {t['state']:<9} {t['name']}" for t in rows]
    return {
        "message": "\n".join(lines) if lines else "no tournaments",
        "tournaments": [
            {k: t[k] for k in ("slug", "name", "state", "token_symbol", "sponsor")} for t in rows
        ],
    }


@_network
def _data_download(args: argparse.Namespace) -> dict[str, Any]:
    session = _Session(args, need_key=False)
    with session.api() as api:
        if args.round_number is not None:
            live = api.round(args.tournament, args.round_number)["live_dataset"]
            if live is None:
                raise CommandFailed(
                    ExitCode.NOT_FOUND,
                    "no_live_data",
                    f"round {args.round_number} of {args.tournament} has no published live data",
                )
            datasets = [live]
        else:
            datasets = api.datasets(args.tournament)
        if args.kind:
            datasets = [d for d in datasets if d["kind"] == args.kind]
        if not datasets:
            raise CommandFailed(
                ExitCode.NOT_FOUND, "no_data", f"{args.tournament} has no such data set to download"
            )
        bars = _Bars(args, "download")
        try:
            done = [api.download(d, args.dest, progress=bars) for d in datasets]
        finally:
            bars.close()
    lines = []
    for item in done:
        how = {
            "downloaded": "downloaded",
            "resumed": f"resumed at byte {item.resumed_from:,}",
            "present": "already present",
        }[item.status]
        lines.append(f"{item.path} ({item.size:,} bytes, {how}; content id {item.cid} checked)")
    return {
        "message": "\n".join(lines),
        "files": [
            {
                "path": str(d.path),
                "cid": d.cid,
                "bytes": d.size,
                "status": d.status,
                "resumed_from": d.resumed_from,
            }
            for d in done
        ],
    }


@_network
def _models_list(args: argparse.Namespace) -> dict[str, Any]:
    session = _Session(args, need_key=True)
    with session.api() as api:
        rows = api.models(args.tournament)
    lines = [f"{m['name']:<24} {m['tournament']:<20} stake {m['stake_tokens']}" for m in rows]
    return {
        "message": "\n".join(lines) if lines else "you have no models yet",
        "models": [
            {k: m[k] for k in ("id", "name", "tournament", "stake", "stake_tokens")} for m in rows
        ],
    }


@_network
def _models_create(args: argparse.Namespace) -> dict[str, Any]:
    session = _Session(args, need_key=True)
    with session.api() as api:
        model = api.model_create(args.name, args.tournament)
    return {
        "message": f"model {model['name']} registered in {model['tournament']} (id {model['id']})",
        "model": {k: model[k] for k in ("id", "name", "tournament")},
    }


def _open_round(api: ArenaApi, slug: str) -> dict:
    rounds = api.rounds(slug)
    open_rounds = [r for r in rounds if r["state"] == "open"]
    if not open_rounds:
        latest = next((r for r in rounds if r["state"] != "scheduled"), None)
        upcoming = [r for r in rounds if r["state"] == "scheduled"]
        parts = [f"no round of {slug} is open for submissions"]
        if latest:
            parts.append(f"round {latest['number']} closed at {latest['closes_at']}")
        if upcoming:
            parts.append(f"round {upcoming[-1]['number']} opens at {upcoming[-1]['opens_at']}")
        raise CommandFailed(ExitCode.ROUND_CLOSED, "round_closed", "; ".join(parts))
    return api.round(slug, open_rounds[0]["number"])


def _check_receipt(
    session: _Session, body: dict, expected: dict, platform_key_hex: str
) -> None:
    """The receipt must name what was sent and carry the platform key's signature."""
    from .receipts import Receipt, ReceiptError, verify_receipt

    def mismatch(message: str) -> CommandFailed:
        return CommandFailed(
            ExitCode.VERIFICATION_FAILED,
            "receipt_signature_mismatch",
            f"the upload was stored, but its receipt does not verify: {message}",
            receipt=body.get("receipt"),
            receipt_signature=body.get("receipt_signature"),
        )

    try:
        receipt = Receipt.from_dict(body.get("receipt"))
    except ReceiptError as error:
        raise mismatch(str(error)) from None
    got = receipt.to_dict()
    wrong = [f"{k} is {got[k]!r}, expected {v!r}" for k, v in expected.items() if got[k] != v]
    if wrong:
        raise mismatch("; ".join(wrong))
    pinned = session.login.receipt_public_key if session.login and session.same_server else ""
    if pinned and pinned != platform_key_hex:
        raise mismatch(
            f"the platform's receipt key is now {platform_key_hex}, not {pinned} as when you "
            "logged in; if its operator announced a new key, run `arena login` again"
        )
    try:
        signature = bytes.fromhex(body.get("receipt_signature") or "")
        verify_receipt(bytes.fromhex(platform_key_hex), receipt, signature)
    except (ReceiptError, ValueError) as error:
        raise mismatch(str(error)) from None


def _save_receipt(body: dict, model_name: str, platform_key_hex: str) -> Path:
    from .config import data_dir

    receipt = body["receipt"]
    folder = data_dir() / "receipts" / receipt["tournament"] / f"round-{receipt['round']}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model_name}-{receipt['cid']}.json"
    path.write_text(
        json.dumps(
            {
                "receipt": receipt,
                "receipt_signature": body["receipt_signature"],
                "receipt_public_key": platform_key_hex,
            },
            indent=2,
        )
        + "\n"
    )
    return path


@_network
def _submit(args: argparse.Namespace) -> dict[str, Any]:
    from .config import cache_dir
    from .validation import PredictionFileError, read_predictions, validate_predictions

    plaintext = _read_file(args.file)
    session = _Session(args, need_key=True)
    with session.api() as api:
        model = _find_model(api, args.model, args.tournament)
        slug = model["tournament"]
        round_detail = _open_round(api, slug)
        number = round_detail["number"]
        if not round_detail.get("public_key") or not round_detail.get("live_dataset"):
            raise CommandFailed(
                ExitCode.NOT_FOUND,
                "no_round_key",
                f"round {number} of {slug} has no public key or live data yet",
            )
        # The live ids come from the round's live data, downloaded (or re-used) and
        # hash-checked against its content id before the file is judged by them.
        bars = _Bars(args, "live data")
        try:
            live = api.download(round_detail["live_dataset"], cache_dir() / slug, progress=bars)
        finally:
            bars.close()
        live_ids = _read_live_ids(live.path)
        try:
            validated = validate_predictions(read_predictions(plaintext, args.file.name), live_ids)
        except PredictionFileError as error:
            raise CommandFailed(
                ExitCode.INVALID_INPUT,
                "invalid_file",
                f"{args.file}: {error.message}",
                problems=error.problems,
            ) from None
        try:
            envelope = seal(
                plaintext,
                key_from_hex(round_detail["public_key"]),
                submission_info(slug, number, model["id"]),
            )
        except SealError as error:
            raise CommandFailed(ExitCode.SEAL_FAILED, "seal_failed", str(error)) from None
        cid = cid_for_bytes(envelope)
        bars = _Bars(args, "upload")
        try:
            body = api.submit(
                model["id"], envelope, args.file.name + ".sealed", progress=bars(len(envelope))
            )
        finally:
            bars.close()
        platform_key = api.platform()["receipt_public_key"]
    expected = {"tournament": slug, "round": number, "model": model["id"], "cid": cid}
    _check_receipt(session, body, expected, platform_key)
    saved = _save_receipt(body, model["name"], platform_key)
    return {
        "message": f"submitted {args.file} for {model['name']} in {slug} round {number}: "
        f"{len(validated):,} predictions checked, sealed and uploaded as {cid}; the receipt "
        f"signature verifies with the platform key {platform_key[:16]}… (saved to {saved}). "
        "The platform opens it after the round closes.",
        "tournament": slug,
        "round": number,
        "model": model["name"],
        "model_id": model["id"],
        "submission_id": body["id"],
        "cid": cid,
        "rows": len(validated),
        "receipt": body["receipt"],
        "receipt_signature": body["receipt_signature"],
        "receipt_verified": True,
        "receipt_file": str(saved),
    }


@_network
def _status(args: argparse.Namespace) -> dict[str, Any]:
    session = _Session(args, need_key=True)
    with session.api() as api:
        models = (
            [_find_model(api, args.model, args.tournament)]
            if args.model
            else api.models(args.tournament)
        )
        rows = []
        for model in models:
            subs = api.submissions(model["id"])
            latest_round = subs[0]["round"] if subs else None
            rows.append(
                {
                    "model": model["name"],
                    "tournament": model["tournament"],
                    "round": latest_round,
                    "submissions": [
                        {
                            k: s[k]
                            for k in (
                                "id", "cid", "state", "status", "round_state", "rows",
                                "created_at", "error",
                            )
                        }
                        for s in subs
                        if s["round"] == latest_round
                    ],
                }
            )
    lines = []
    for row in rows:
        if not row["submissions"]:
            lines.append(f"{row['model']} ({row['tournament']}): no submissions yet")
            continue
        lines.append(f"{row['model']} ({row['tournament']}), round {row['round']}:")
        for s in row["submissions"]:
            lines.append(
                f"  {s['created_at']}  {s['state']:<8} {s['status']:<11} {s['cid']}"
                + (f"\n    {s['error']}" if s["error"] else "")
            )
    return {"message": "\n".join(lines) or "you have no models yet", "models": rows}


@_network
def _scores(args: argparse.Namespace) -> dict[str, Any]:
    session = _Session(args, need_key=True)
    with session.api() as api:
        model = _find_model(api, args.model, args.tournament)
        rows = api.scores(model["id"])
    lines = [
        f"round {r['round']:>4} day {r['day']:>2}  CORR {r['corr']:+.4f}  MMC {r['mmc']:+.4f}"
        for r in rows
    ]
    return {
        "message": "\n".join(lines) if lines else f"{model['name']} has no scores yet",
        "model": model["name"],
        "scores": [{k: r[k] for k in ("round", "day", "corr", "mmc")} for r in rows],
    }


def _chain_root(args: argparse.Namespace, proof: dict[str, Any]) -> tuple[str | None, str]:
    """The root to trust and where it came from: the node given with --rpc-url (read here),
    else the platform's fresh read of the staking contract, else only the platform's record."""
    from .chainread import ChainReadError, read_commitments

    chain = proof.get("chain") or {}
    if args.rpc_url:
        if not chain.get("staking"):
            raise CommandFailed(
                ExitCode.SERVER_REJECTED, "no_chain", "the platform reports no staking contract to read"
            )
        try:
            onchain = read_commitments(
                args.rpc_url, chain["staking"], proof["tournament_id"], proof["round"]
            )
        except ChainReadError as error:
            raise CommandFailed(ExitCode.SERVER_UNREACHABLE, "chain_unreachable", str(error)) from None
        return onchain["root"], f"read from the staking contract {chain['staking']} at {args.rpc_url}"
    if proof.get("onchain_root"):
        return proof["onchain_root"], (
            f"the staking contract {chain.get('staking')} (chain {chain.get('chain_id')}), as read "
            "by the platform; pass --rpc-url to read it yourself"
        )
    return None, "the platform's record only: the chain could not be read"


def _saved_receipt_for(tournament: str, number: int, model: str, cid: str) -> Path | None:
    from .config import data_dir

    path = data_dir() / "receipts" / tournament / f"round-{number}" / f"{model}-{cid}.json"
    return path if path.exists() else None


@_network
def _verify(args: argparse.Namespace) -> dict[str, Any]:
    from .merkle import MerkleProofError, verify_submission_proof

    session = _Session(args, need_key=True)
    with session.api() as api:
        model = _find_model(api, args.model, args.tournament)
        slug, number = model["tournament"], args.round_number
        in_round = [s for s in api.submissions(model["id"]) if s["round"] == number]
        if not in_round:
            raise CommandFailed(
                ExitCode.NOT_FOUND,
                "no_submission",
                f"{model['name']} has no submission in round {number} of {slug}",
            )
        # The counted one if the round has closed; else the latest, and the platform says why
        # it has no proof yet.
        chosen = next((s for s in in_round if s["is_counted"]), in_round[0])
        proof = api.proof(model["id"], chosen["id"])
        round_root = api.round(slug, number)["commitments_root"]

    def failed(message: str) -> CommandFailed:
        return CommandFailed(
            ExitCode.VERIFICATION_FAILED, "proof_mismatch", message, cid=proof["cid"]
        )

    chain_root, root_source = _chain_root(args, proof)
    if chain_root is not None and chain_root != proof["root"]:
        raise failed(
            f"the platform's root {proof['root']} is not the root on-chain {chain_root} "
            f"({root_source})"
        )
    try:
        verify_submission_proof(
            proof["cid"], [_hash(node) for node in proof["proof"]], _hash(chain_root or proof["root"])
        )
    except (MerkleProofError, ValueError) as error:
        raise failed(f"the inclusion proof does not verify: {error}") from None
    if round_root != proof["root"]:
        raise failed(
            f"the proof's root {proof['root']} is not round {number}'s commitments root "
            f"{round_root}"
        )
    receipt = _saved_receipt_for(slug, number, model["name"], proof["cid"])
    receipt_note = (
        f"it matches your saved receipt {receipt}"
        if receipt
        else "no receipt for it was saved on this machine"
    )
    return {
        "message": f"verified: {model['name']}'s counted submission {proof['cid']} in {slug} "
        f"round {number} is under the commitments root {proof['root']} "
        f"({proof['count']} envelopes, proof of {len(proof['proof'])} hashes); {receipt_note}.\n"
        f"root source: {root_source}",
        "verified": True,
        "tournament": slug,
        "round": number,
        "model": model["name"],
        "cid": proof["cid"],
        "leaf": proof["leaf"],
        "proof": proof["proof"],
        "root": proof["root"],
        "count": proof["count"],
        "root_source": "chain" if chain_root else "platform_api",
        "root_detail": root_source,
        "receipt_file": str(receipt) if receipt else None,
    }


def _hash(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


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
