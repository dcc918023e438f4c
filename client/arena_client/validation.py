"""Prediction-file rules, shared by the client (before upload) and the server (after decryption).

A predictions file is CSV or Parquet with exactly two columns, ``id`` and ``prediction``:

* every id of the round's live set appears exactly once, and no other id appears;
* every prediction is a number, finite, and within [0, 1];
* the predictions are not all the same value (a constant cannot be ranked, so it cannot score);
* the file and its row count stay under the size limits.

All problems found are reported together, each with its count and the first few offending ids
or rows, so one fix-and-retry cycle is enough. Rows are numbered from 1 for the first data row
(the header is not counted; in a CSV without quoted line breaks, row N is on line N + 1).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_ROWS",
    "PredictionFileError",
    "ValidatedPredictions",
    "read_predictions",
    "validate_predictions",
]

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000_000
FIRST_FEW = 5
REQUIRED_COLUMNS = ("id", "prediction")
PARQUET_MAGIC = b"PAR1"
# Text a spreadsheet or pandas writes for "no value"; reported as missing, not as garbage.
_MISSING_SPELLINGS = frozenset({"", "nan", "-nan", "+nan", "na", "n/a", "null", "none", "<na>"})


class PredictionFileError(ValueError):
    """The file breaks the rules. ``problems`` is a list of dicts with keys
    ``code``, ``message``, ``count`` and ``examples`` (ids, or {row, id, value} dicts)."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems


@dataclass(frozen=True)
class ValidatedPredictions:
    """Predictions that passed every rule: one row per live id, in live-id order."""

    frame: pd.DataFrame

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()

    @property
    def values(self) -> np.ndarray:
        return self.frame["prediction"].to_numpy(dtype=np.float64)

    def __len__(self) -> int:
        return len(self.frame)


def read_predictions(
    data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> pd.DataFrame:
    """Parse a predictions file by its extension (.csv, .parquet or .pq).

    CSV cells are kept as text so that :func:`validate_predictions` can say exactly which
    cell is not a number; Parquet columns keep their stored types.
    """
    if len(data) > max_bytes:
        _reject(
            "file_too_large",
            f"file is {len(data):,} bytes; the limit is {max_bytes:,} bytes",
            len(data),
        )
    if not data:
        _reject("empty_file", "file is empty", 0)
    kind = _format_of(filename)
    if kind == "csv":
        if data.startswith(PARQUET_MAGIC):
            _reject("wrong_format", f"{filename!r} is named .csv but contains Parquet data", 1)
        return _read_csv(data)
    if not data.startswith(PARQUET_MAGIC):
        _reject("wrong_format", f"{filename!r} is named .parquet but is not a Parquet file", 1)
    return _read_parquet(data)


def validate_predictions(
    df: pd.DataFrame, live_ids: Sequence[str], *, max_rows: int = DEFAULT_MAX_ROWS
) -> ValidatedPredictions:
    """Check ``df`` against the round's ``live_ids``; raise :class:`PredictionFileError`."""
    live = pd.Index([str(live_id) for live_id in live_ids], dtype=object)
    if not live.is_unique:
        # The live set comes from the platform, never from the modeler: this is a bug upstream.
        raise ValueError("live_ids contains duplicates")
    if len(df) > max_rows:
        _reject("too_many_rows", f"file has {len(df):,} rows; the limit is {max_rows:,}", len(df))
    _check_columns(df)

    ids = _ids_as_text(df["id"])
    # Position of each row's id in the live list, -1 for an unknown id: one hash lookup per row.
    positions = live.get_indexer(ids)
    problems = _id_problems(ids, positions, live)
    values, value_problems = _parse_values(df["prediction"], ids)
    problems += value_problems
    if not value_problems:
        problems += _constant_problem(values)
    if problems:
        raise PredictionFileError(_summary(problems), problems)

    # No problems means every live id appears exactly once: positions is a permutation.
    ordered = np.empty(len(live), dtype=np.float64)
    ordered[positions] = values
    return ValidatedPredictions(
        pd.DataFrame({"id": pd.Series(live.to_numpy(), dtype=object), "prediction": ordered})
    )


def _format_of(filename: str) -> str:
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    _reject("unsupported_format", f"{filename!r}: expected a .csv or .parquet file", 1)


def _read_csv(data: bytes) -> pd.DataFrame:
    try:
        # header=None: the header is read as a row so that a file whose data rows all have one
        # field too many is an error; pandas would otherwise shift every column left by one.
        table = pd.read_csv(
            io.BytesIO(data),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",  # tolerate the byte-order mark spreadsheets write
        )
    except UnicodeDecodeError as error:
        _reject("unreadable_file", f"CSV is not UTF-8 text (byte {error.start} is invalid)", 1)
    except pd.errors.EmptyDataError:
        _reject("unreadable_file", "CSV has no header row", 1)
    except pd.errors.ParserError as error:
        _reject("unreadable_file", f"CSV could not be parsed: {str(error).strip()}", 1)
    frame = table.iloc[1:].reset_index(drop=True)
    frame.columns = table.iloc[0].tolist()
    return frame


def _read_parquet(data: bytes) -> pd.DataFrame:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(io.BytesIO(data)).to_pandas()
    except (pyarrow.ArrowException, OSError) as error:
        _reject("unreadable_file", f"Parquet file could not be read: {error}", 1)
    if "id" in frame.index.names:
        # df.set_index("id").to_parquet() stores the ids as the index; that is still the ids.
        frame = frame.reset_index()
    return frame


def _check_columns(df: pd.DataFrame) -> None:
    columns = [str(column) for column in df.columns]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        _reject(
            "bad_columns",
            f"columns must be exactly 'id', 'prediction'; found {columns}: "
            "repeated column(s) " + ", ".join(repr(name) for name in repeated),
            len(repeated),
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    extra = [name for name in columns if name not in REQUIRED_COLUMNS]
    if not missing and not extra:
        return
    parts = []
    if missing:
        part = "missing column(s) " + ", ".join(repr(name) for name in missing)
        hints = [
            f"{found!r} looks like {wanted!r}"
            for wanted in missing
            for found in extra
            if found.strip().lower() == wanted
        ]
        if hints:
            part += " (" + "; ".join(hints) + ": names are case-sensitive)"
        parts.append(part)
    if extra:
        parts.append("unexpected column(s) " + ", ".join(repr(name) for name in extra))
    message = f"columns must be exactly 'id', 'prediction'; found {columns}: " + "; ".join(parts)
    _reject("bad_columns", message, len(missing) + len(extra))


def _ids_as_text(raw: pd.Series) -> pd.Series:
    # Plain Python strings in an object array: pandas' Arrow-backed strings make the
    # hash lookups below an order of magnitude slower.
    cells = raw.astype(object).where(raw.notna(), "").to_numpy(dtype=object)
    return pd.Series(
        np.array([c if isinstance(c, str) else str(c) for c in cells], dtype=object), dtype=object
    )


def _id_problems(ids: pd.Series, positions: np.ndarray, live: pd.Index) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    present = ids != ""
    empty_rows = np.flatnonzero(~present.to_numpy())
    if len(empty_rows):
        problems.append(
            _problem(
                "empty_ids",
                f"{_rows(len(empty_rows))} with an empty id{_first(len(empty_rows))}: "
                + ", ".join(f"row {int(i) + 1}" for i in empty_rows[:FIRST_FEW]),
                len(empty_rows),
                [{"row": int(i) + 1, "id": ""} for i in empty_rows[:FIRST_FEW]],
            )
        )

    repeated = ids[present & ids.duplicated(keep=False)]
    if len(repeated):
        distinct = repeated.unique()
        shown = [
            (identifier, [int(i) + 1 for i in repeated.index[repeated == identifier]])
            for identifier in distinct[:FIRST_FEW]
        ]
        listing = ", ".join(f"{identifier!r} (rows {_join(rows)})" for identifier, rows in shown)
        problems.append(
            _problem(
                "duplicate_ids",
                f"{_count(len(distinct), 'id appears', 'ids appear')} more than once "
                f"({len(repeated):,} rows in all)"
                f"{_first(len(distinct))}: {listing}",
                len(distinct),
                [identifier for identifier, _ in shown],
            )
        )

    unknown_rows = np.flatnonzero(present.to_numpy() & (positions < 0))
    if len(unknown_rows):
        shown_rows = unknown_rows[:FIRST_FEW]
        listing = ", ".join(f"{ids.iat[i]!r} (row {i + 1})" for i in shown_rows)
        problems.append(
            _problem(
                "unknown_ids",
                f"{_rows(len(unknown_rows))} with an id that is not in this round's live set"
                f"{_first(len(unknown_rows))}: {listing}",
                len(unknown_rows),
                [ids.iat[i] for i in shown_rows],
            )
        )

    found = np.zeros(len(live), dtype=bool)
    found[positions[positions >= 0]] = True
    missing = np.flatnonzero(~found)
    if len(missing):
        shown_ids = [live[i] for i in missing[:FIRST_FEW]]
        problems.append(
            _problem(
                "missing_ids",
                f"{len(missing):,} of {len(live):,} live ids "
                f"{'is' if len(missing) == 1 else 'are'} missing"
                f"{_first(len(missing))}: " + ", ".join(repr(i) for i in shown_ids),
                len(missing),
                shown_ids,
            )
        )
    return problems


def _parse_values(raw: pd.Series, ids: pd.Series) -> tuple[np.ndarray, list[dict[str, Any]]]:
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(raw):
        # True/False would quietly become 1.0/0.0; a boolean column is a wrong column.
        raw = raw.astype(str)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    unparsed = np.isnan(values)
    spelled_missing = np.zeros(len(values), dtype=bool)
    if unparsed.any():
        text = raw[unparsed].astype(object).map(lambda value: str(value).strip().lower())
        spelled_missing[unparsed] = text.isin(_MISSING_SPELLINGS).to_numpy()
    not_numbers = unparsed & ~spelled_missing
    infinite = np.isinf(values)
    out_of_range = np.isfinite(values) & ((values < 0.0) | (values > 1.0))

    problems = []
    for code, mask, what in (
        ("not_numeric", not_numbers, "a prediction that is not a number"),
        ("missing_values", spelled_missing, "a missing (empty or NaN) prediction"),
        ("not_finite", infinite, "an infinite prediction"),
        ("out_of_range", out_of_range, "a prediction outside [0, 1]"),
    ):
        rows = np.flatnonzero(mask)
        if len(rows):
            shown = rows[:FIRST_FEW]
            examples = [
                {"row": int(i) + 1, "id": ids.iat[i], "value": _shown_value(raw.iat[i])}
                for i in shown
            ]
            listing = ", ".join(f"row {e['row']} (id {e['id']!r}): {e['value']}" for e in examples)
            problems.append(
                _problem(
                    code,
                    f"{_rows(len(rows))} with {what}{_first(len(rows))}: {listing}",
                    len(rows),
                    examples,
                )
            )
    return values, problems


def _constant_problem(values: np.ndarray) -> list[dict[str, Any]]:
    if len(values) < 2 or values.min() != values.max():
        return []
    return [
        _problem(
            "constant",
            f"all {len(values):,} predictions are the same value ({float(values[0])!r}); "
            "a constant submission cannot be ranked, so it cannot be scored",
            len(values),
            [float(values[0])],
        )
    ]


def _shown_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None or value is pd.NA:
        return "null"
    return repr(float(value)) if isinstance(value, float | np.floating) else repr(value)


def _problem(code: str, message: str, count: int, examples: list[Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "count": count, "examples": examples}


def _summary(problems: list[dict[str, Any]]) -> str:
    if len(problems) == 1:
        return problems[0]["message"]
    return f"{len(problems)} problems:\n" + "\n".join(f"- {p['message']}" for p in problems)


def _reject(code: str, message: str, count: int) -> NoReturn:
    problem = _problem(code, message, count, [])
    raise PredictionFileError(message, [problem])


def _rows(count: int) -> str:
    return _count(count, "row", "rows")


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count:,} {singular if count == 1 else plural}"


def _first(count: int) -> str:
    return f", first {FIRST_FEW}" if count > FIRST_FEW else ""


def _join(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:FIRST_FEW])
    return shown + (", ..." if len(numbers) > FIRST_FEW else "")
