"""Data files: the current ones, their parsed frames and bytes, a round's live ids."""

from functools import lru_cache

import pandas as pd
from django.contrib.auth.models import AnonymousUser, User

from core.errors import NotFound
from tournaments.blobs import blob_store
from tournaments.models import DatasetKind, DatasetVersion, Round, RoundState, Tournament
from tournaments.tables import read_table


def dataset_latest(*, tournament: Tournament, kind: str) -> DatasetVersion | None:
    return tournament.datasets.filter(kind=kind).order_by("-version").first()


def datasets_current(*, tournament: Tournament) -> list[DatasetVersion]:
    """Latest training and validation data, plus the live data of the open round."""
    found = [
        d
        for kind in (DatasetKind.TRAINING, DatasetKind.VALIDATION)
        if (d := dataset_latest(tournament=tournament, kind=kind))
    ]
    # By state alone, with no time: a round is moved to open only once its opens_at has come.
    live = (
        tournament.datasets.filter(kind=DatasetKind.LIVE, round__state=RoundState.OPEN)
        .order_by("-version")
        .first()
    )
    if live:
        found.append(live)
    return found


@lru_cache(maxsize=64)
def _table_by_cid(cid: str, filename: str) -> pd.DataFrame:
    return read_table(blob_store().get(cid), filename)


def dataset_frame(dataset: DatasetVersion) -> pd.DataFrame:
    """The parsed data file (cached per content id: blobs are immutable)."""
    return _table_by_cid(dataset.cid, dataset.filename)


def live_ids(*, round: Round) -> list[str]:
    live = DatasetVersion.objects.filter(round=round).first()
    if live is None:
        return []
    return dataset_frame(live)["id"].astype(str).tolist()


def dataset_for_download(
    *, tournament: Tournament, dataset_id: int, by: User | AnonymousUser
) -> DatasetVersion:
    """A downloadable data file. A scheduled round's live data stays with its sponsor until it opens."""
    dataset = (
        DatasetVersion.objects.select_related("round").filter(tournament=tournament, pk=dataset_id).first()
    )
    if dataset is None:
        raise NotFound(f"no data set {dataset_id} in {tournament.slug}")
    hidden = dataset.round is not None and dataset.round.state == RoundState.SCHEDULED
    if hidden and tournament.sponsor_id != getattr(by, "id", None):
        raise NotFound(f"round {dataset.round.number}'s live data is published when the round opens")
    return dataset


def dataset_content(*, dataset: DatasetVersion) -> bytes:
    """The stored bytes of a data file (its CID was checked when it was stored)."""
    return blob_store().get(dataset.cid)
