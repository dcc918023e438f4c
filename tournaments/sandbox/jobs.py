"""What the decoding workers run on untrusted bytes (see tournaments.sandbox.child).

No Django here: tournaments.tables and core.errors are plain pandas and Python.
"""

import dataclasses

import numpy as np
from arena_client.validation import (
    PARQUET_MAGIC,
    LiveIds,
    PredictionFileError,
    read_predictions,
    row_limit_for,
    validate_predictions,
)

from core.errors import InvalidInput
from tournaments.tables import check_dataset, check_targets, read_table

# The plaintext of an envelope has no file name the platform could trust: its format is told
# by its first bytes.
CSV_NAME = "predictions.csv"
PARQUET_NAME = "predictions.parquet"


def prepare() -> None:
    """Import everything a job may need before the worker limits its own memory, and keep
    Arrow to one thread so a file's CPU and memory are one thread's."""
    import pyarrow
    import pyarrow.parquet  # noqa: F401 - imported now, not under the memory limit

    pyarrow.set_cpu_count(1)
    pyarrow.set_io_thread_count(1)


def predictions(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Read and validate one predictions file against `context["live_ids"]`.

    Valid: `{"valid": true, "rows": n}` and the predictions as float64 in live-id order.
    Invalid: `{"valid": false, "message": …, "problems": […]}` and no body.
    """
    # The context lives as long as the worker keeps it (one round's files): so does this.
    live = context.get("_prepared_live_ids") or context.setdefault(
        "_prepared_live_ids", LiveIds(context["live_ids"])
    )
    name = PARQUET_NAME if payload.startswith(PARQUET_MAGIC) else CSV_NAME
    try:
        max_rows = row_limit_for(len(live))
        frame = read_predictions(payload, name, max_bytes=context["max_bytes"], max_rows=max_rows)
        validated = validate_predictions(frame, live, max_rows=max_rows)
    except PredictionFileError as error:
        return {"valid": False, "message": error.message, "problems": error.problems}, b""
    values = np.ascontiguousarray(validated.values, dtype="<f8")
    return {"valid": True, "rows": len(validated)}, values.tobytes()


def _refused(error: InvalidInput) -> tuple[dict, bytes]:
    return {
        "valid": False,
        "code": error.code,
        "message": error.message,
        "details": error.details,
    }, b""


def dataset(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Read and check a sponsor's data set (`context`: filename, require_target)."""
    try:
        frame = read_table(payload, context["filename"])
        summary = check_dataset(frame, require_target=context["require_target"])
    except InvalidInput as error:
        return _refused(error)
    return {"valid": True, **dataclasses.asdict(summary)}, b""


def targets(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Read and check a score day's targets against `context["live_ids"]`."""
    try:
        frame = read_table(payload, context["filename"])
        check_targets(frame, context["live_ids"])
    except InvalidInput as error:
        return _refused(error)
    return {"valid": True, "rows": len(frame)}, b""


JOBS = {"predictions": predictions, "dataset": dataset, "targets": targets}
