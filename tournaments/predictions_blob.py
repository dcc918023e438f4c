"""The stored form of a submission's opened predictions: one float64 per live id, in live-id order.

When a counted envelope is opened and its file passes the rules, the platform keeps what the
scorer needs and nothing else: the values, little-endian float64, aligned to the round's live
ids (whose order the round's live data fixes), behind a short header naming the format. Writing
it is a copy and reading it is a view of the bytes, where the earlier `id,prediction` CSV took
about 4 ms to write and 13 ms to read back for 5,000 rows — at 5,000 models, most of a round's
time (docs/performance.md). Anyone holding the envelope and the round's published key gets the
same values with `arena_client.validation` and can compare them bit for bit.

Blobs written before this format are that CSV; `read_predictions_blob` still reads those.
"""

import numpy as np
from arena_client.cid import cid_for_bytes
from arena_client.validation import read_predictions, validate_predictions

HEADER = b"arena predictions float64le v1\n"


class DamagedPredictionsBlob(Exception):
    """A stored predictions blob is not what was written: a storage fault, never the
    modeler's, so scoring stops loudly instead of scoring something else."""


def predictions_blob(values: np.ndarray) -> bytes:
    """The bytes to store for `values` (one per live id, in live-id order)."""
    return HEADER + np.ascontiguousarray(values, dtype="<f8").tobytes()


def read_predictions_blob(data: bytes, *, cid: str, ids: list[str]) -> np.ndarray:
    """The predictions stored under `cid`, one per live id in `ids`' order (read-only)."""
    if cid_for_bytes(data) != cid:
        raise DamagedPredictionsBlob(f"blob {cid} does not hash to its name")
    if not data.startswith(HEADER):
        # The earlier canonical form: the same reader and rules as at opening.
        return validate_predictions(read_predictions(data, "predictions.csv"), ids).values
    body = memoryview(data)[len(HEADER) :]
    if len(body) != 8 * len(ids):
        raise DamagedPredictionsBlob(f"blob {cid} holds {len(body)} bytes for {len(ids)} live ids")
    values = np.frombuffer(body, dtype="<f8")
    if len(values) and not (
        np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0
    ):
        raise DamagedPredictionsBlob(f"blob {cid} holds values outside [0, 1]")
    return values
