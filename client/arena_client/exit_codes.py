"""Exit codes of the ``arena`` command, stable so that scripts can branch on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # unexpected failure (a bug: please report it)
    USAGE = 2  # bad arguments (argparse's own code)
    INVALID_INPUT = 3  # an input file is missing, unreadable, or breaks the prediction rules
    SEAL_FAILED = 4  # bad key, or an envelope that cannot be opened with the given key and info
    VERIFICATION_FAILED = 5  # receipt signature mismatch, or inclusion proof not under the root
    SERVER_UNREACHABLE = 6  # connection refused, DNS failure, timeout
    AUTH_FAILED = 7  # API key missing, wrong or revoked
    ROUND_CLOSED = 8  # the round no longer accepts submissions
    SERVER_REJECTED = 9  # any other refusal by the server (message shown)
    NOT_AVAILABLE = 10  # reserved: a command this client version does not offer
    NOT_FOUND = 11  # no such tournament, round, model, submission, or no open round's data


DESCRIPTIONS = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "unexpected error (a bug in arena-client)",
    ExitCode.USAGE: "bad command-line arguments",
    ExitCode.INVALID_INPUT: "input file missing, unreadable or invalid (row-level problems listed)",
    ExitCode.SEAL_FAILED: "bad key, or envelope cannot be opened (tampered, replayed, wrong key)",
    ExitCode.VERIFICATION_FAILED: "receipt signature or inclusion proof does not verify",
    ExitCode.SERVER_UNREACHABLE: "server unreachable",
    ExitCode.AUTH_FAILED: "API key missing, wrong or revoked",
    ExitCode.ROUND_CLOSED: "round closed: submissions no longer accepted",
    ExitCode.SERVER_REJECTED: "server refused the request",
    ExitCode.NOT_AVAILABLE: "command not available in this version (reserved)",
    ExitCode.NOT_FOUND: "not found: no such tournament, round, model or submission",
}


def exit_code_table() -> str:
    """The table shown by ``arena --help`` and copied in the README."""
    return "\n".join(f"  {int(code):>2}  {DESCRIPTIONS[code]}" for code in ExitCode)
