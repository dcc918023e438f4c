"""Reading user files in the sandbox (tournaments.sandbox), with limits from settings.

Predictions are decoded with tight limits (a valid file is small); sponsors' data sets get a
larger memory budget, since a training set may legitimately be hundreds of megabytes.
"""

from django.conf import settings

from core.errors import InvalidInput, TooLarge
from tournaments.sandbox import DecodeContext, DecodeLimits, Outcome, decode_pool


def prediction_limits() -> DecodeLimits:
    return DecodeLimits(
        memory_bytes=settings.ARENA_DECODE_MEMORY_BYTES,
        cpu_seconds=settings.ARENA_DECODE_CPU_SECONDS,
        wall_seconds=settings.ARENA_DECODE_WALL_SECONDS,
        workers=settings.ARENA_DECODE_WORKERS,
    )


def dataset_limits() -> DecodeLimits:
    return DecodeLimits(
        memory_bytes=settings.ARENA_DECODE_DATASET_MEMORY_BYTES,
        cpu_seconds=settings.ARENA_DECODE_DATASET_CPU_SECONDS,
        wall_seconds=settings.ARENA_DECODE_DATASET_CPU_SECONDS * 3,
        workers=1,
    )


def failure(outcome: Outcome, limits: DecodeLimits) -> tuple[str, str]:
    """(code, message) for a file the sandbox could not finish reading."""
    if outcome.status == "memory":
        return (
            "too_large",
            f"reading the file needed more than {limits.memory_bytes // 2**20:,} MiB of memory",
        )
    if outcome.status in ("cpu", "time"):
        return "too_slow", f"reading the file took too long ({outcome.detail})"
    if outcome.status == "error":
        return "unreadable_file", f"the file could not be read ({outcome.detail})"
    return "decoder_crashed", f"the file crashed the reader ({outcome.detail})"


def sponsor_file_checked(*, job: str, context: dict, data: bytes) -> dict:
    """Run `job` ("dataset" or "targets") on a sponsor's upload in the sandbox; return the
    job's result, or raise InvalidInput (TooLarge for memory) naming what is wrong."""
    limits = dataset_limits()
    outcome = decode_pool(limits).decode(job, DecodeContext.of(context), data)
    if outcome.ok and outcome.result["valid"]:
        return outcome.result
    if outcome.ok:
        refusal = TooLarge if outcome.result["code"] == TooLarge.code else InvalidInput
        raise refusal(
            outcome.result["message"], details=outcome.result["details"], code=outcome.result["code"]
        )
    code, message = failure(outcome, limits)
    if code == "too_large":
        raise TooLarge(message)
    raise InvalidInput(message, code=code)
