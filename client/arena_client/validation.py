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
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_ROWS",
    "LiveIds",
    "PredictionFileError",
    "ValidatedPredictions",
    "read_predictions",
    "row_limit_for",
    "storable",
    "validate_predictions",
]

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000_000
FIRST_FEW = 5
REQUIRED_COLUMNS = ("id", "prediction")
PARQUET_MAGIC = b"PAR1"
# Bounds that keep decoding cheap whatever the file says: a predictions row is an id and a
# number, so a line of 4 KiB is already absurd; a footer over 1 MiB is not a two-column file.
MAX_LINE_BYTES = 4096
MAX_COLUMNS = 64
MAX_PARQUET_FOOTER_BYTES = 1024 * 1024
# Ids, values and column names quoted in a message are cut to this many characters.
MAX_QUOTED_CHARS = 64
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
    data: bytes,
    filename: str,
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> pd.DataFrame:
    """Parse a predictions file by its extension (.csv, .parquet or .pq).

    Everything that bounds the work is checked before anything is decoded: the file's size,
    a CSV's encoding, NUL bytes, line count and longest line, a Parquet footer's columns,
    types, row count and uncompressed size. `max_rows` bounds the data rows; a caller that
    knows the live set passes a bound derived from it (:func:`row_limit_for`).

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
        _check_csv_text(data, max_rows)
        return _read_csv(data)
    if not data.startswith(PARQUET_MAGIC):
        _reject("wrong_format", f"{filename!r} is named .parquet but is not a Parquet file", 1)
    return _read_parquet(data, max_rows)


def row_limit_for(live_count: int) -> int:
    """The most data rows worth decoding for a live set of `live_count` ids.

    A valid file has exactly one row per live id; the slack lets a file with a few duplicate
    or unknown ids be read, so the modeler is told which ones, while a file with far more
    rows is refused from its size alone.
    """
    return 2 * live_count + 1_000


class LiveIds:
    """A round's live ids, prepared once to check many files against (the platform checks
    thousands per round): their index and its hash table are built on the first file and
    reused for the rest."""

    def __init__(self, live_ids: Sequence[str]):
        self.index = pd.Index([str(live_id) for live_id in live_ids], dtype=object)
        if not self.index.is_unique:
            # The live set comes from the platform, never from the modeler: a bug upstream.
            raise ValueError("live_ids contains duplicates")

    def __len__(self) -> int:
        return len(self.index)


def validate_predictions(
    df: pd.DataFrame, live_ids: Sequence[str] | LiveIds, *, max_rows: int = DEFAULT_MAX_ROWS
) -> ValidatedPredictions:
    """Check ``df`` against the round's ``live_ids`` (a list, or :class:`LiveIds` to check
    many files against one set); raise :class:`PredictionFileError`."""
    live = (live_ids if isinstance(live_ids, LiveIds) else LiveIds(live_ids)).index
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


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _check_csv_text(data: bytes, max_rows: int) -> None:
    """Refuse, before the CSV parser sees it, text whose size or shape would make parsing
    costly or whose bytes no predictions file contains."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        _reject(
            "bad_encoding",
            f"CSV is not UTF-8 text: byte {error.start} (line {_line_of(data, error.start)}) "
            "is invalid; save the file as UTF-8",
            1,
        )
    lone_cr = re.search(rb"\r(?!\n)", data)
    if lone_cr:
        _reject(
            "bad_line_endings",
            f"CSV has a carriage return without a line feed at byte {lone_cr.start()} (line "
            f"{_line_of(data, lone_cr.start())}): end lines with \\n or \\r\\n",
            1,
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        _reject(
            "nul_byte",
            f"CSV contains a NUL byte at byte {nul} (line {_line_of(data, nul)}): "
            "a predictions file is plain text",
            data.count(b"\x00"),
        )
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    data_rows = len(newlines) - 1 + (not data.endswith(b"\n"))  # the header is not a row
    if data_rows > max_rows:
        _reject(
            "too_many_rows",
            f"file has {data_rows:,} rows; the limit is {max_rows:,}",
            data_rows,
        )
    ends = np.append(newlines, len(data))
    lengths = np.diff(ends, prepend=-1) - 1
    longest = int(lengths.argmax())
    if lengths[longest] > MAX_LINE_BYTES:
        _reject(
            "line_too_long",
            f"line {longest + 1} is {int(lengths[longest]):,} bytes long; "
            f"the limit is {MAX_LINE_BYTES:,} bytes per line",
            int((lengths > MAX_LINE_BYTES).sum()),
        )
    header = data[: ends[0]]
    fields = header.count(b",") + 1
    if fields > MAX_COLUMNS:
        _reject(
            "bad_columns",
            f"the header has {fields:,} fields; a predictions file has exactly 2 "
            "('id', 'prediction')",
            fields,
        )


def _read_csv(data: bytes) -> pd.DataFrame:
    try:
        # header=None: the header is read as a row so that a file whose data rows all have one
        # field too many is an error; pandas would otherwise shift every column left by one.
        # The C parser then refuses any row with more fields than the header.
        table = pd.read_csv(
            io.BytesIO(data),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",  # tolerate the byte-order mark spreadsheets write
            engine="c",
        )
    except pd.errors.EmptyDataError:
        _reject("unreadable_file", "CSV has no header row", 1)
    except pd.errors.ParserError as error:
        _reject("unreadable_file", f"CSV could not be parsed: {str(error).strip()}", 1)
    frame = table.iloc[1:].reset_index(drop=True)
    frame.columns = table.iloc[0].tolist()
    return frame


def _read_parquet(data: bytes, max_rows: int) -> pd.DataFrame:
    import pyarrow
    import pyarrow.parquet as pq

    footer_bytes = int.from_bytes(data[-8:-4], "little") if len(data) >= 12 else -1
    if not data.endswith(PARQUET_MAGIC) or not 0 < footer_bytes <= min(
        len(data) - 12, MAX_PARQUET_FOOTER_BYTES
    ):
        _reject(
            "unreadable_file",
            "Parquet file could not be read: its footer is missing, truncated or larger than "
            f"{MAX_PARQUET_FOOTER_BYTES:,} bytes",
            1,
        )
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        schema = parquet.schema_arrow
        metadata = parquet.metadata
    except (pyarrow.ArrowException, OSError, ValueError) as error:
        _reject("unreadable_file", f"Parquet file could not be read: {error}", 1)
    if not 0 <= metadata.num_rows <= max_rows:  # before anything is sized by it
        _reject(
            "too_many_rows",
            f"file has {metadata.num_rows:,} rows; the limit is {max_rows:,}",
            metadata.num_rows,
        )
    range_ids = _range_index_ids(schema, metadata.num_rows)
    _check_parquet_footer(schema, metadata, max_rows, range_ids is not None)
    try:
        # The pandas metadata a writer stores (index columns, dtypes) is the sender's claim:
        # it is ignored, and only the two named physical columns are decoded.
        columns = ["prediction"] if range_ids is not None else list(REQUIRED_COLUMNS)
        frame = parquet.read(columns=columns, use_threads=False).to_pandas(ignore_metadata=True)
        if range_ids is not None:
            frame.insert(0, "id", range_ids)
        return frame
    except MemoryError as error:
        # Before ArrowException: pyarrow's ArrowMemoryError is both.
        _reject("too_large", f"the file needs more memory to decode than is allowed: {error}", 1)
    except (pyarrow.ArrowException, OSError, ValueError) as error:
        _reject("unreadable_file", f"Parquet file could not be read: {error}", 1)


def _range_index_ids(schema: Any, rows: int) -> np.ndarray | None:
    """The ids of a file written by `df.set_index("id").to_parquet()` with consecutive
    integer ids: pandas stores such an index only as (start, step) in its metadata, with no
    column. Anything else in that metadata is ignored; a malformed one counts as absent."""
    if "id" in schema.names:
        return None
    try:
        indexes = json.loads(schema.metadata[b"pandas"])["index_columns"]
        found = [i for i in indexes if isinstance(i, dict) and i.get("name") == "id"]
        start, step = found[0]["start"], found[0]["step"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if not (type(start) is int and type(step) is int and step != 0 and 0 <= rows):
        return None
    if max(abs(start), abs(start + step * rows)) >= 2**62:
        return None
    return np.arange(start, start + step * rows, step, dtype=np.int64)[:rows]


def _check_parquet_footer(schema: Any, metadata: Any, max_rows: int, range_ids: bool) -> None:
    """Columns, types, row count and decoded size, all from the footer."""
    import pyarrow as pa

    names = list(schema.names) + (["id"] if range_ids else [])
    if len(names) > MAX_COLUMNS:
        _reject(
            "bad_columns",
            f"the file has {len(names):,} columns; a predictions file has exactly 2 "
            "('id', 'prediction')",
            len(names),
        )
    # A pandas index without a name is stored as an extra column; it carries no data of ours.
    _check_columns(pd.DataFrame(columns=[n for n in names if n != "__index_level_0__"]))
    wrong = []
    for name in REQUIRED_COLUMNS:
        if name == "id" and range_ids:
            continue
        field_type = schema.field(name).type
        if pa.types.is_dictionary(field_type):
            field_type = field_type.value_type
        allowed = (
            pa.types.is_integer(field_type)
            or pa.types.is_string(field_type)
            or pa.types.is_large_string(field_type)
            or (
                name == "prediction"
                and (pa.types.is_floating(field_type) or pa.types.is_null(field_type))
            )
        )
        if not allowed:
            expected = "text or integers" if name == "id" else "numbers"
            wrong.append(f"column {name!r} has type {field_type}; expected {expected}")
    if wrong:
        _reject("bad_types", "; ".join(wrong), len(wrong))
    rows = metadata.num_rows
    if rows < 0 or rows > max_rows:
        _reject("too_many_rows", f"file has {rows:,} rows; the limit is {max_rows:,}", rows)
    decoded = sum(
        max(metadata.row_group(i).total_byte_size, 0) for i in range(metadata.num_row_groups)
    )
    limit = max_rows * MAX_LINE_BYTES
    if decoded > limit:
        _reject(
            "too_large",
            f"the file's columns decode to {decoded:,} bytes; the limit for this round is "
            f"{limit:,} bytes",
            1,
        )


def _check_columns(df: pd.DataFrame) -> None:
    columns = [_clip(str(column)) for column in df.columns]
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
        listing = ", ".join(
            f"{_clip(identifier)!r} (rows {_join(rows)})" for identifier, rows in shown
        )
        problems.append(
            _problem(
                "duplicate_ids",
                f"{_count(len(distinct), 'id appears', 'ids appear')} more than once "
                f"({len(repeated):,} rows in all)"
                f"{_first(len(distinct))}: {listing}",
                len(distinct),
                [_clip(identifier) for identifier, _ in shown],
            )
        )

    unknown_rows = np.flatnonzero(present.to_numpy() & (positions < 0))
    if len(unknown_rows):
        shown_rows = unknown_rows[:FIRST_FEW]
        listing = ", ".join(f"{_clip(ids.iat[i])!r} (row {i + 1})" for i in shown_rows)
        problems.append(
            _problem(
                "unknown_ids",
                f"{_rows(len(unknown_rows))} with an id that is not in this round's live set"
                f"{_first(len(unknown_rows))}: {listing}",
                len(unknown_rows),
                [_clip(ids.iat[i]) for i in shown_rows],
            )
        )

    found = np.zeros(len(live), dtype=bool)
    found[positions[positions >= 0]] = True
    missing = np.flatnonzero(~found)
    if len(missing):
        shown_ids = [_clip(live[i]) for i in missing[:FIRST_FEW]]
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
                {"row": int(i) + 1, "id": _clip(ids.iat[i]), "value": _shown_value(raw.iat[i])}
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


def storable(text: str) -> str:
    """`text` with NUL characters and lone surrogates escaped: what any database and JSON
    encoder accept (PostgreSQL refuses both in text and jsonb)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")


def _clip(text: str) -> str:
    """`text` as short as a message should quote it (a cell can be kilobytes long), and
    storable."""
    if len(text) > MAX_QUOTED_CHARS:
        text = f"{text[:MAX_QUOTED_CHARS]}…({len(text):,} characters)"
    return storable(text)


def _shown_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(_clip(value))
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
