"""The stored form of opened predictions (tournaments/predictions_blob.py): values round-trip
bit for bit, and a blob that is not what was written stops scoring with the reason."""

import numpy as np
import pytest
from arena_client.cid import cid_for_bytes

from tests.builders import csv_bytes, predictions_frame
from tournaments.predictions_blob import (
    HEADER,
    DamagedPredictionsBlob,
    predictions_blob,
    read_predictions_blob,
)

IDS = [f"live{i:03d}" for i in range(5)]


def stored(data: bytes) -> dict:
    return {"data": data, "cid": cid_for_bytes(data), "ids": IDS}


def test_values_round_trip_bit_for_bit():
    values = np.array([0.0, 1.0, 0.1, 1 / 3, np.nextafter(0.5, 1)])
    data = predictions_blob(values)
    assert data == HEADER + values.astype("<f8").tobytes()
    assert len(data) == len(HEADER) + 40
    back = read_predictions_blob(**stored(data))
    assert back.tobytes() == values.tobytes()


def test_a_blob_that_does_not_hash_to_its_name_is_refused():
    data = predictions_blob(np.full(5, 0.5))
    other = cid_for_bytes(predictions_blob(np.full(5, 0.25)))
    with pytest.raises(DamagedPredictionsBlob, match=f"blob {other} does not hash to its name"):
        read_predictions_blob(data, cid=other, ids=IDS)


def test_a_blob_for_another_live_set_is_refused():
    data = predictions_blob(np.full(4, 0.5))
    with pytest.raises(DamagedPredictionsBlob, match="holds 32 bytes for 5 live ids"):
        read_predictions_blob(**stored(data))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.5, 1.5])
def test_values_outside_the_rules_are_refused(bad):
    data = predictions_blob(np.array([0.5, 0.5, bad, 0.5, 0.5]))
    with pytest.raises(DamagedPredictionsBlob, match=r"values outside \[0, 1\]"):
        read_predictions_blob(**stored(data))


def test_the_earlier_csv_form_is_still_read():
    frame = predictions_frame(IDS)
    back = read_predictions_blob(**stored(csv_bytes(frame)))
    np.testing.assert_array_equal(back, frame["prediction"].to_numpy())
