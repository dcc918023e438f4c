"""Whatever bytes a modeler sends, the reader answers with valid predictions or its own error,
with a message: never another exception."""

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from arena_client.sealing import SealError, generate_round_keypair, open_sealed, seal
from arena_client.validation import (
    PredictionFileError,
    read_predictions,
    row_limit_for,
    validate_predictions,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LIVE = [f"n{i}" for i in range(1, 9)]
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def judged(data: bytes, filename: str) -> str:
    """'valid', or the first problem's code; fails the test on any other exception."""
    try:
        frame = read_predictions(data, filename, max_rows=row_limit_for(len(LIVE)))
        validated = validate_predictions(frame, LIVE)
    except PredictionFileError as error:
        assert error.message
        assert error.problems and all(p["code"] and p["message"] for p in error.problems)
        # What the platform stores must be storable: PostgreSQL refuses NUL in text and jsonb.
        stored = json.dumps([error.message, error.problems])
        assert "\\u0000" not in stored and "\x00" not in stored
        stored.encode("utf-8")  # no lone surrogates
        return error.problems[0]["code"]
    assert validated.ids == LIVE
    assert np.isfinite(validated.values).all()
    return "valid"


def csv_cell():
    return st.one_of(
        st.sampled_from(LIVE),
        st.text(max_size=12),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["", "nan", '"', '""', "\r", "1e999", "-0", "0x1", "∞", "\ufeff"]),
    )


@st.composite
def csv_like(draw) -> bytes:
    header = draw(st.sampled_from(["id,prediction", "prediction,id", "id", "id,prediction,x", ""]))
    rows = draw(st.lists(st.lists(csv_cell(), min_size=0, max_size=4), max_size=12))
    separator = draw(st.sampled_from([",", ";", "\t", '","']))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = header + newline + newline.join(separator.join(row) for row in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@PROPERTY
@given(st.binary(max_size=2048))
def test_any_bytes_named_csv(data):
    judged(data, "p.csv")


@PROPERTY
@given(csv_like())
def test_any_csv_like_text(data):
    judged(data, "p.csv")


@PROPERTY
@given(st.binary(max_size=2048))
def test_any_bytes_behind_parquet_magic(data):
    judged(b"PAR1" + data, "p.parquet")


def _columns():
    values = st.one_of(
        st.just(pa.array(LIVE)),
        st.just(pa.array(np.linspace(0.1, 0.9, len(LIVE)))),
        st.just(pa.array(list(range(len(LIVE))))),
        st.just(pa.array([[0.5]] * len(LIVE))),
        st.just(pa.array([{"a": 1}] * len(LIVE))),
        st.just(pa.array([None] * len(LIVE))),
        st.just(pa.array([True] * len(LIVE))),
        st.just(pa.array([b"\x00"] * len(LIVE))),
        st.just(pa.array(LIVE).dictionary_encode()),
        st.lists(st.text(max_size=6), min_size=len(LIVE), max_size=len(LIVE)).map(pa.array),
    )
    names = st.sampled_from(["id", "prediction", "Prediction", "__index_level_0__", "x", ""])
    return st.lists(st.tuples(names, values), min_size=0, max_size=4)


@st.composite
def parquet_files(draw) -> bytes:
    """Real Parquet files of any columns and types, then maybe damaged or with lying
    metadata."""
    columns = draw(_columns())
    table = pa.Table.from_arrays([c for _, c in columns], names=[n for n, _ in columns])
    metadata = draw(
        st.sampled_from(
            [
                None,
                b"{not json",
                b'{"index_columns": [{"kind": "range", "name": "id", "start": 1, "step": 0}]}',
                b'{"index_columns": [{"kind": "range", "name": "id", "start": "n", "step": 1}]}',
                b'{"index_columns": [{"kind": "range", "name": "id", "start": 0, "step": 1}]}',
                b'{"index_columns": ["id"], "columns": 7}',
                b"[]",
            ]
        )
    )
    if metadata is not None:
        table = table.replace_schema_metadata({b"pandas": metadata})
    out = io.BytesIO()
    pq.write_table(table, out)
    data = out.getvalue()
    damage = draw(st.sampled_from(["none", "flip", "cut"]))
    if damage == "flip" and len(data) > 8:
        at = draw(st.integers(4, len(data) - 5))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    elif damage == "cut":
        data = data[: draw(st.integers(0, len(data)))] + b"PAR1"
    return data


@PROPERTY
@given(parquet_files())
def test_any_parquet_file(data):
    judged(data, "p.parquet")


def test_the_properties_can_tell_valid_from_invalid():
    # The judge above accepts a real file, so the properties are not passing by refusing all.
    good = pd.DataFrame({"id": LIVE, "prediction": np.linspace(0.1, 0.9, len(LIVE))})
    out = io.BytesIO()
    good.to_parquet(out)
    assert judged(out.getvalue(), "p.parquet") == "valid"
    assert judged(good.to_csv(index=False).encode(), "p.csv") == "valid"


KEYS = generate_round_keypair()


@PROPERTY
@given(st.binary(max_size=512), st.binary(max_size=64))
def test_any_envelope_opens_or_raises_a_seal_error(envelope, info):
    private_key, _ = KEYS
    try:
        open_sealed(envelope, private_key, info)
    except SealError as error:
        assert str(error)


@PROPERTY
@given(st.binary(max_size=256), st.integers(0, 400), st.integers(1, 255))
def test_a_damaged_envelope_never_opens(plaintext, at, flip):
    private_key, public_key = KEYS
    envelope = bytearray(seal(plaintext, public_key, b"info"))
    envelope[at % len(envelope)] ^= flip
    try:
        opened = open_sealed(bytes(envelope), private_key, b"info")
    except SealError:
        return
    raise AssertionError(f"a damaged envelope opened to {opened!r}")
