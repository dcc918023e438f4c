"""Domain errors raised by services; the API and the site turn them into clear answers.

Each carries a stable `code`, a human message, and optional `details` (e.g. offending rows).
"""

from typing import Any


class ArenaError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class InvalidInput(ArenaError):
    status = 400
    code = "invalid"


class TooLarge(InvalidInput):
    """An upload over the size limit (HTTP 413); still an InvalidInput for callers."""

    status = 413
    code = "too_large"


class NotAllowed(ArenaError):
    status = 403
    code = "forbidden"


class Conflict(ArenaError):
    status = 409
    code = "conflict"


class NotFound(ArenaError):
    status = 404
    code = "not_found"


class TooManyRequests(ArenaError):
    """A per-user quota is used up (HTTP 429); the message says which and until when."""

    status = 429
    code = "too_many_requests"
