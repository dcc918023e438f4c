"""Sponsors' files are read in the sandbox too: a file that breaks the reader is refused with
its reason, and the version in force stays in force."""

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import InvalidInput, TooLarge
from tests.builders import csv_bytes, make_frame
from tournaments.models import DatasetVersion, RoundTarget
from tournaments.services.datasets import dataset_upload, round_target_upload
from tournaments.services.lifecycle import round_close

pytestmark = pytest.mark.django_db


def data_bomb(rows: int) -> bytes:
    """A data set of a few KiB whose `era` column decodes to a 1 MiB string per row."""
    era = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["e" * 1024 * 1024])
    )
    table = pa.table(
        {
            "id": [f"r{i}" for i in range(rows)],
            "era": era,
            "feature_0": np.zeros(rows),
            "target": np.zeros(rows),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, store_schema=False, compression="zstd")
    return out.getvalue()


def target_with_lying_metadata(ids: list[str]) -> bytes:
    """A target file whose pandas metadata is not JSON."""
    table = pa.table({"id": ids, "target": np.linspace(0, 1, len(ids))})
    out = io.BytesIO()
    pq.write_table(table.replace_schema_metadata({b"pandas": b"{not json"}), out)
    return out.getvalue()


def test_a_training_data_bomb_is_refused_and_the_training_data_stays(tournament, sponsor, settings):
    settings.ARENA_DECODE_DATASET_MEMORY_BYTES = 256 * 1024 * 1024
    before = list(DatasetVersion.objects.values_list("kind", "version", "cid"))
    bomb = data_bomb(1000)
    assert len(bomb) < 64 * 1024
    with pytest.raises(TooLarge) as refused:
        dataset_upload(
            tournament=tournament, by=sponsor, kind="training", data=bomb, filename="t.parquet"
        )
    assert refused.value.message == "t.parquet needs more memory to read than is allowed"
    assert refused.value.status == 413
    assert list(DatasetVersion.objects.values_list("kind", "version", "cid")) == before


def test_a_scheduled_rounds_live_data_survives_a_broken_replacement(
    tournament, sponsor, live_frame
):
    round = tournament.rounds.get(number=1)
    first = dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=round,
        data=csv_bytes(live_frame),
        filename="live.csv",
    )
    with pytest.raises(InvalidInput) as refused:
        dataset_upload(
            tournament=tournament,
            by=sponsor,
            kind="live",
            round=round,
            data=b"id,era,feature_0\nx,\xff\xfe,1\n",
            filename="live.csv",
        )
    assert refused.value.message.startswith("could not read live.csv: 'utf-8' codec can't decode")
    round.refresh_from_db()
    assert round.live_dataset.pk == first.pk


def test_a_hostile_target_file_is_refused_and_the_days_target_stays(open_round, sponsor, live_ids):
    rnd = round_close(round=open_round, now=open_round.closes_at)
    good = make_frame(n=len(live_ids), with_target=True, prefix="live", seed=7)[["id", "target"]]
    round_target_upload(round=rnd, by=sponsor, day=1, data=csv_bytes(good), filename="t.csv")
    kept = RoundTarget.objects.get(round=rnd, day=1).cid
    with pytest.raises(InvalidInput) as refused:
        round_target_upload(
            round=rnd,
            by=sponsor,
            day=1,
            data=target_with_lying_metadata(live_ids),
            filename="t.parquet",
        )
    assert refused.value.message == (
        "could not read t.parquet: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )
    assert RoundTarget.objects.get(round=rnd, day=1).cid == kept
