"""Hostile predictions files: each class of file a modeler could seal to break the platform.

Every builder takes the round's live ids and returns plaintext bytes (what a modeler would
seal); `HOSTILE_FILES` names each class with the error code the platform must answer with.
The files are built with pyarrow's and pandas' public writers, then altered byte by byte where
a class needs a file no writer would produce.
"""

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from arena_client.validation import row_limit_for

# One id of this many bytes, repeated on every row: the bomb decodes to rows × this.
BOMB_ID_BYTES = 1024 * 1024


def _parquet(table: pa.Table, **options) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return out.getvalue()


def _predictions(ids: list[str]) -> np.ndarray:
    return np.linspace(0.01, 0.99, len(ids))


def index_and_column_conflict(ids: list[str]) -> bytes:
    """pandas' index is called `id` and holds the live ids; a column `id` holds others.
    (This is the file that froze a round: the old reader raised ValueError on it.)"""
    frame = pd.DataFrame({"prediction": _predictions(ids)}, index=pd.Index(ids, name="id"))
    frame["id"] = [f"x{i}" for i in range(len(ids))]
    out = io.BytesIO()
    frame.to_parquet(out)
    return out.getvalue()


def lying_pandas_metadata(ids: list[str]) -> bytes:
    """The pandas metadata is not JSON."""
    table = pa.table({"id": ids, "prediction": _predictions(ids)})
    return _parquet(table.replace_schema_metadata({b"pandas": b"{not json"}))


def lying_range_index(ids: list[str]) -> bytes:
    """No id column; the metadata claims a range index of ids starting at 10**30."""
    meta = {"index_columns": [{"kind": "range", "name": "id", "start": 10**30, "step": 1}]}
    table = pa.table({"prediction": _predictions(ids)})
    return _parquet(table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()}))


def truncated_footer(ids: list[str]) -> bytes:
    """A Parquet file cut short, with the magic put back at the end."""
    whole = _parquet(pa.table({"id": ids, "prediction": _predictions(ids)}))
    return whole[: len(whole) // 2] + b"PAR1"


def footer_length_lies(ids: list[str]) -> bytes:
    """The footer-length field claims 2 GiB."""
    whole = _parquet(pa.table({"id": ids, "prediction": _predictions(ids)}))
    return whole[:-8] + (2**31).to_bytes(4, "little") + b"PAR1"


def nested_types(ids: list[str]) -> bytes:
    """Each prediction is a list of numbers."""
    return _parquet(pa.table({"id": ids, "prediction": [[float(v)] for v in _predictions(ids)]}))


def wrong_types(ids: list[str]) -> bytes:
    """Predictions are timestamps (which pandas would turn into nanosecond integers)."""
    return _parquet(pa.table({"id": ids, "prediction": [datetime(2026, 1, 1)] * len(ids)}))


def compression_bomb(ids: list[str]) -> bytes:
    """A few KiB on disk, with a footer that is honest about its pages, yet decoding it
    materializes a 1 MiB string on each of the most rows a round accepts (over 1 GiB for 50
    live ids): dictionary encoding stores the string once."""
    rows = row_limit_for(len(ids))
    huge = pa.array(["b" * BOMB_ID_BYTES])
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), huge)
    table = pa.table({"id": column, "prediction": np.full(rows, 0.5)})
    return _parquet(table, store_schema=False, compression="zstd")


def far_too_many_rows_csv(ids: list[str]) -> bytes:
    return b"id,prediction\n" + b"x,0.5\n" * (len(ids) * 1000)


def far_too_many_rows_parquet(ids: list[str]) -> bytes:
    rows = len(ids) * 1000
    return _parquet(pa.table({"id": ["x"] * rows, "prediction": np.full(rows, 0.5)}))


def nul_in_parquet_id(ids: list[str]) -> bytes:
    """A NUL character inside an id: quoted back in the problems, PostgreSQL refused to
    store it and the round froze."""
    return _parquet(pa.table({"id": ["a\x00b", *ids[1:]], "prediction": _predictions(ids)}))


def lone_carriage_returns(ids: list[str]) -> bytes:
    """Rows ended by \\r alone: the parser splits on them, a count of \\n does not."""
    return b"id,prediction\n" + (b"x,0\r" * 1000 + b"\n") * 1090


def nul_bytes(ids: list[str]) -> bytes:
    return b"id,prediction\n" + f"{ids[0]}\x00,0.5\n".encode()


def huge_field(ids: list[str]) -> bytes:
    return b"id,prediction\n" + b"a" * (8 * 1024 * 1024) + b",0.5\n"


def utf16_text(ids: list[str]) -> bytes:
    return ("id,prediction\n" + "".join(f"{i},0.5\n" for i in ids)).encode("utf-16")


def latin1_text(ids: list[str]) -> bytes:
    return ("id,prediction\n" + f"{ids[0]}é,0.5\n").encode("latin-1")


def duplicate_columns(ids: list[str]) -> bytes:
    return b"id,id,prediction\n" + "".join(f"{i},{i},0.5\n" for i in ids).encode()


def extra_columns(ids: list[str]) -> bytes:
    rows = "".join(f"{i},{v},era1\n" for i, v in zip(ids, _predictions(ids), strict=True))
    return ("id,prediction,era\n" + rows).encode()


def header_only(ids: list[str]) -> bytes:
    """(A sealed empty file is refused at upload: its envelope shows it seals nothing.)"""
    return b"id,prediction\n"


def text_claiming_parquet(ids: list[str]) -> bytes:
    """Starts with Parquet's magic, then is a CSV."""
    return b"PAR1" + b"id,prediction\n" + "".join(f"{i},0.5\n" for i in ids).encode()


def wide_header(ids: list[str]) -> bytes:
    """A header of 2,000 columns within the line limit: every row would be that wide."""
    return b",".join([b"c"] * 2000) + b"\n" + b",".join([b"0"] * 2000) + b"\n"


def json_document(ids: list[str]) -> bytes:
    """Valid JSON, and a valid one-column CSV, but not a predictions file."""
    return json.dumps({"id": ids, "prediction": list(_predictions(ids))}).encode()


@dataclass(frozen=True)
class HostileFile:
    name: str
    build: Callable[[list[str]], bytes]
    code: str  # the first problem's code the platform must report


HOSTILE_FILES = [
    HostileFile("index and column conflict", index_and_column_conflict, "unknown_ids"),
    HostileFile("lying pandas metadata", lying_pandas_metadata, "unreadable_file"),
    HostileFile("lying range index", lying_range_index, "bad_columns"),
    HostileFile("truncated footer", truncated_footer, "unreadable_file"),
    HostileFile("footer length lies", footer_length_lies, "unreadable_file"),
    HostileFile("nested types", nested_types, "bad_types"),
    HostileFile("wrong types", wrong_types, "bad_types"),
    HostileFile("compression bomb", compression_bomb, "too_large"),
    HostileFile("far too many rows (CSV)", far_too_many_rows_csv, "too_many_rows"),
    HostileFile("far too many rows (Parquet)", far_too_many_rows_parquet, "too_many_rows"),
    HostileFile("NUL bytes", nul_bytes, "nul_byte"),
    HostileFile("NUL in a Parquet id", nul_in_parquet_id, "unknown_ids"),
    HostileFile("lone carriage returns", lone_carriage_returns, "bad_line_endings"),
    HostileFile("huge field", huge_field, "line_too_long"),
    HostileFile("UTF-16 text", utf16_text, "bad_encoding"),
    HostileFile("Latin-1 text", latin1_text, "bad_encoding"),
    HostileFile("duplicate columns", duplicate_columns, "bad_columns"),
    HostileFile("extra columns", extra_columns, "bad_columns"),
    HostileFile("header only", header_only, "missing_ids"),
    HostileFile("text claiming to be Parquet", text_claiming_parquet, "unreadable_file"),
    HostileFile("2,000-column header", wide_header, "bad_columns"),
    HostileFile("JSON document", json_document, "bad_columns"),
]
