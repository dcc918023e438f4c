import io

import numpy as np
import pandas as pd
import pytest
from arena_client.validation import (
    PredictionFileError,
    read_predictions,
    validate_predictions,
)

LIVE = [f"n{i}" for i in range(1, 11)]


def csv_bytes(rows: list[tuple[str, str]], header: str = "id,prediction") -> bytes:
    return (header + "\n" + "".join(f"{i},{p}\n" for i, p in rows)).encode()


def good_rows() -> list[tuple[str, str]]:
    return [(identifier, str(round(0.05 + 0.09 * k, 2))) for k, identifier in enumerate(LIVE)]


def rejection(data: bytes, filename: str = "p.csv", live=LIVE, **limits) -> PredictionFileError:
    with pytest.raises(PredictionFileError) as caught:
        validate_predictions(read_predictions(data, filename), live, **limits)
    return caught.value


def only_problem(error: PredictionFileError) -> dict:
    assert len(error.problems) == 1, error.message
    assert error.message == error.problems[0]["message"]
    return error.problems[0]


def test_valid_csv_is_returned_in_live_order():
    rows = list(reversed(good_rows()))
    validated = validate_predictions(read_predictions(csv_bytes(rows), "p.csv"), LIVE)
    assert validated.ids == LIVE
    assert validated.values.dtype == np.float64
    np.testing.assert_array_equal(validated.values, [float(p) for _, p in good_rows()])
    assert len(validated) == 10


def test_valid_parquet_with_integer_ids_and_id_index():
    live = [str(i) for i in range(5)]
    frame = pd.DataFrame({"id": range(5), "prediction": [0.1, 0.2, 0.3, 0.4, 0.5]})
    buffer = io.BytesIO()
    frame.set_index("id").to_parquet(buffer)
    validated = validate_predictions(read_predictions(buffer.getvalue(), "p.parquet"), live)
    assert validated.ids == live
    np.testing.assert_array_equal(validated.values, [0.1, 0.2, 0.3, 0.4, 0.5])


def test_byte_order_mark_and_padded_numbers_are_accepted():
    data = b"\xef\xbb\xbf" + csv_bytes([(i, f" {p} ") for i, p in good_rows()])
    assert len(validate_predictions(read_predictions(data, "P.CSV"), LIVE)) == 10


def test_missing_ids_reports_count_and_first_five():
    problem = only_problem(rejection(csv_bytes(good_rows()[:3])))
    assert problem["code"] == "missing_ids"
    assert problem["count"] == 7
    assert problem["examples"] == ["n4", "n5", "n6", "n7", "n8"]
    assert (
        problem["message"] == "7 of 10 live ids are missing, first 5: 'n4', 'n5', 'n6', 'n7', 'n8'"
    )


def test_one_missing_id_is_named_in_the_singular():
    problem = only_problem(rejection(csv_bytes(good_rows()[1:])))
    assert problem["message"] == "1 of 10 live ids is missing: 'n1'"


def test_duplicate_ids_report_their_rows():
    rows = good_rows() + [("n3", "0.5"), ("n3", "0.6"), ("n1", "0.7")]
    problem = only_problem(rejection(csv_bytes(rows)))
    assert problem["code"] == "duplicate_ids"
    assert problem["count"] == 2
    assert problem["examples"] == ["n1", "n3"]
    assert problem["message"] == (
        "2 ids appear more than once (5 rows in all): 'n1' (rows 1, 13), 'n3' (rows 3, 11, 12)"
    )


def test_unknown_ids_report_rows():
    rows = good_rows() + [(f"x{i}", "0.5") for i in range(7)]
    problem = only_problem(rejection(csv_bytes(rows)))
    assert problem["code"] == "unknown_ids"
    assert problem["count"] == 7
    assert problem["message"] == (
        "7 rows with an id that is not in this round's live set, first 5: "
        "'x0' (row 11), 'x1' (row 12), 'x2' (row 13), 'x3' (row 14), 'x4' (row 15)"
    )


def test_empty_ids_report_rows():
    rows = good_rows() + [("", "0.5")]
    problem = only_problem(rejection(csv_bytes(rows)))
    assert (problem["code"], problem["count"]) == ("empty_ids", 1)
    assert problem["message"] == "1 row with an empty id: row 11"
    assert problem["examples"] == [{"row": 11, "id": ""}]


def test_non_numeric_values_report_row_id_and_text():
    rows = good_rows()
    rows[1] = ("n2", "abc")
    rows[4] = ("n5", "0,5")
    problem = only_problem(
        rejection(csv_bytes(rows, header='"id","prediction"').replace(b"0,5", b'"0,5"'))
    )
    assert (problem["code"], problem["count"]) == ("not_numeric", 2)
    assert problem["message"] == (
        "2 rows with a prediction that is not a number: row 2 (id 'n2'): 'abc', row 5 (id 'n5'): '0,5'"
    )
    assert problem["examples"][0] == {"row": 2, "id": "n2", "value": "'abc'"}


def test_missing_and_nan_values_are_reported_together():
    rows = good_rows()
    rows[0] = ("n1", "")
    rows[2] = ("n3", "NaN")
    rows[3] = ("n4", "NA")
    problem = only_problem(rejection(csv_bytes(rows)))
    assert (problem["code"], problem["count"]) == ("missing_values", 3)
    assert problem["message"] == (
        "3 rows with a missing (empty or NaN) prediction: row 1 (id 'n1'): '', "
        "row 3 (id 'n3'): 'NaN', row 4 (id 'n4'): 'NA'"
    )


def test_infinite_values_are_reported():
    rows = good_rows()
    rows[6] = ("n7", "-inf")
    problem = only_problem(rejection(csv_bytes(rows)))
    assert problem["code"] == "not_finite"
    assert problem["message"] == "1 row with an infinite prediction: row 7 (id 'n7'): '-inf'"


def test_out_of_range_values_are_reported_with_parquet_floats():
    frame = pd.DataFrame({"id": LIVE, "prediction": [0.5] * 8 + [1.0000001, -0.25]})
    frame.loc[0, "prediction"] = 0.0
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    problem = only_problem(rejection(buffer.getvalue(), "p.parquet"))
    assert (problem["code"], problem["count"]) == ("out_of_range", 2)
    assert problem["message"] == (
        "2 rows with a prediction outside [0, 1]: row 9 (id 'n9'): 1.0000001, row 10 (id 'n10'): -0.25"
    )


def test_boundaries_zero_and_one_are_allowed():
    rows = good_rows()
    rows[0], rows[1] = ("n1", "0"), ("n2", "1")
    assert len(validate_predictions(read_predictions(csv_bytes(rows), "p.csv"), LIVE)) == 10


def test_boolean_column_is_not_numbers():
    frame = pd.DataFrame({"id": LIVE[:2], "prediction": [True, False]})
    with pytest.raises(PredictionFileError) as caught:
        validate_predictions(frame, LIVE[:2])
    assert caught.value.problems[0]["code"] == "not_numeric"
    assert caught.value.problems[0]["count"] == 2


def test_constant_predictions_are_refused():
    problem = only_problem(rejection(csv_bytes([(i, "0.5") for i in LIVE])))
    assert (problem["code"], problem["count"]) == ("constant", 10)
    assert problem["message"] == (
        "all 10 predictions are the same value (0.5); "
        "a constant submission cannot be ranked, so it cannot be scored"
    )


def test_all_problems_are_listed_at_once():
    rows = good_rows()[:8] + [("n8", "2"), ("x1", "abc")]
    error = rejection(csv_bytes(rows))
    assert [p["code"] for p in error.problems] == [
        "duplicate_ids",
        "unknown_ids",
        "missing_ids",
        "not_numeric",
        "out_of_range",
    ]
    assert error.message == (
        "5 problems:\n"
        "- 1 id appears more than once (2 rows in all): 'n8' (rows 8, 9)\n"
        "- 1 row with an id that is not in this round's live set: 'x1' (row 10)\n"
        "- 2 of 10 live ids are missing: 'n9', 'n10'\n"
        "- 1 row with a prediction that is not a number: row 10 (id 'x1'): 'abc'\n"
        "- 1 row with a prediction outside [0, 1]: row 9 (id 'n8'): '2'"
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "ID,Prediction",
            "columns must be exactly 'id', 'prediction'; found ['ID', 'Prediction']: missing column(s) "
            "'id', 'prediction' ('ID' looks like 'id'; 'Prediction' looks like 'prediction': names are "
            "case-sensitive); unexpected column(s) 'ID', 'Prediction'",
        ),
        (
            "id,prediction,era",
            "columns must be exactly 'id', 'prediction'; found ['id', 'prediction', 'era']: "
            "unexpected column(s) 'era'",
        ),
        (
            "id",
            "columns must be exactly 'id', 'prediction'; found ['id']: missing column(s) 'prediction'",
        ),
    ],
)
def test_columns_are_checked_with_hints(header, message):
    data = (header + "\n" + "n1" + ",0.5" * (header.count(",")) + "\n").encode()
    problem = only_problem(rejection(data))
    assert problem["code"] == "bad_columns"
    assert problem["message"] == message


def test_row_limit():
    problem = only_problem(rejection(csv_bytes(good_rows()), max_rows=9))
    assert problem == {
        "code": "too_many_rows",
        "message": "file has 10 rows; the limit is 9",
        "count": 10,
        "examples": [],
    }


@pytest.mark.parametrize(
    ("data", "filename", "code", "message"),
    [
        (b"", "p.csv", "empty_file", "file is empty"),
        (
            b"id,prediction\n",
            "p.txt",
            "unsupported_format",
            "'p.txt': expected a .csv or .parquet file",
        ),
        (b"PAR1....", "p.csv", "wrong_format", "'p.csv' is named .csv but contains Parquet data"),
        (
            b"id,prediction\n",
            "p.parquet",
            "wrong_format",
            "'p.parquet' is named .parquet but is not a Parquet file",
        ),
        (
            b"id,prediction\nn1,\xff\n",
            "p.csv",
            "bad_encoding",
            "CSV is not UTF-8 text: byte 17 (line 2) is invalid; save the file as UTF-8",
        ),
        (
            b"id,prediction\nn1,0.5,extra\n",
            "p.csv",
            "unreadable_file",
            "CSV could not be parsed: Error tokenizing data. C error: Expected 2 fields in line 2, saw 3",
        ),
        (b"\n", "p.csv", "unreadable_file", "CSV has no header row"),
    ],
    ids=[
        "empty",
        "extension",
        "parquet-as-csv",
        "csv-as-parquet",
        "not-utf8",
        "ragged",
        "no-header",
    ],
)
def test_unreadable_files_are_named(data, filename, code, message):
    with pytest.raises(PredictionFileError) as caught:
        read_predictions(data, filename)
    assert caught.value.problems == [
        {
            "code": code,
            "message": message,
            "count": caught.value.problems[0]["count"],
            "examples": [],
        }
    ]
    assert caught.value.message == message


def test_truncated_parquet_is_unreadable():
    buffer = io.BytesIO()
    pd.DataFrame({"id": LIVE, "prediction": 0.5}).to_parquet(buffer)
    with pytest.raises(PredictionFileError, match="^Parquet file could not be read: "):
        read_predictions(buffer.getvalue()[:40], "p.parquet")


def test_file_size_limit():
    with pytest.raises(PredictionFileError) as caught:
        read_predictions(b"x" * 101, "p.csv", max_bytes=100)
    assert caught.value.message == "file is 101 bytes; the limit is 100 bytes"
    assert caught.value.problems[0]["code"] == "file_too_large"


def test_duplicate_live_ids_are_a_caller_bug():
    with pytest.raises(ValueError, match="^live_ids contains duplicates$"):
        validate_predictions(pd.DataFrame({"id": ["a"], "prediction": [0.5]}), ["a", "a"])


def test_repeated_columns_are_named():
    problem = only_problem(rejection(b"id,prediction,prediction\nn1,0.5,0.6\n"))
    assert problem["message"] == (
        "columns must be exactly 'id', 'prediction'; found ['id', 'prediction', 'prediction']: "
        "repeated column(s) 'prediction'"
    )


def test_header_only_file_misses_every_id():
    problem = only_problem(rejection(b"id,prediction\n"))
    assert problem["message"] == (
        "10 of 10 live ids are missing, first 5: 'n1', 'n2', 'n3', 'n4', 'n5'"
    )
