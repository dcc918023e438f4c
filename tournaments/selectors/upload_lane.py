"""The upload path's reads: SQL rather than QuerySets (core/lean_sql.py explains why).

Which round is open comes from RoundQuerySet.latest_open_at_sql (tournaments/models.py), the
SQL twin of the QuerySet method the rest of the code uses.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection

from accounts.models import ApiKey
from accounts.selectors import API_KEY_PART, USER_PART, key_with_user_from
from core.lean_sql import Part, column, select_list, split_row, table
from tournaments.models import ModelSlot, Round, RoundKey, RoundQuerySet, Submission, Tournament


def _has_key_sql() -> str:
    """Whether round r has its public key."""
    return (
        f"EXISTS (SELECT 1 FROM {table(RoundKey)} rk "
        f"WHERE rk.{column(RoundKey, 'round')} = r.{column(Round, 'id')})"
    )


@cache
def _round_open_for_upload_sql(vendor: str) -> str:
    """round_open_for_upload's statement, built once per database vendor."""
    return (
        f"SELECT r.*, {_has_key_sql()} AS has_key FROM {table(Round)} r "
        f"WHERE r.{column(Round, 'id')} = ({RoundQuerySet.latest_open_at_sql('%s')})"
    )


def round_open_for_upload(*, tournament_id: int, now: datetime) -> Round | None:
    """The tournament's open round at `now` (Round.objects.latest_open_at), with `has_key`
    (whether its public key exists), in one statement."""
    rounds = Round.objects.raw(
        _round_open_for_upload_sql(connection.vendor),
        [tournament_id, *RoundQuerySet.latest_open_at_sql_params(now)],
    )
    return next(iter(rounds), None)


@dataclass(frozen=True)
class UploadContext:
    """Everything an API upload checks, read in one statement: the key and its user, the
    model and its tournament (id and slug), and the round open for uploads (None when
    there is none) with `has_key`, and how many envelopes the model has uploaded to that
    round, and whether the envelope's CID was uploaded to another round. Instances carry only
    these fields (core/lean_sql.py)."""

    api_key: ApiKey
    model: ModelSlot | None
    round: Round | None
    uploads: int = 0  # the model's uploads to that round so far (the per-round quota)
    envelope_reused: bool = False  # these bytes were uploaded to another round before


_UPLOAD_PARTS = (
    API_KEY_PART,
    USER_PART,
    Part(ModelSlot, "m", ("id", "owner_id", "tournament_id")),
    Part(Tournament, "t", ("id", "slug")),
    Part(Round, "r", ("id", "tournament_id", "number", "state", "opens_at", "closes_at")),
)


@cache
def _upload_context_sql(vendor: str) -> str:
    """upload_context's statement, built once per database vendor: its text never changes."""
    latest_open = RoundQuerySet.latest_open_at_sql(f"m.{column(ModelSlot, 'tournament')}")
    return (
        f"SELECT {select_list(*_UPLOAD_PARTS)}, {_has_key_sql()}, "
        f"(SELECT COUNT(*) FROM {table(Submission)} s "
        f"WHERE s.{column(Submission, 'round')} = r.{column(Round, 'id')} "
        f"AND s.{column(Submission, 'model')} = m.{column(ModelSlot, 'id')}), "
        f"EXISTS (SELECT 1 FROM {table(Submission)} e "
        f"WHERE e.{column(Submission, 'cid')} = %s "
        f"AND e.{column(Submission, 'round')} <> r.{column(Round, 'id')}) "
        f"{key_with_user_from()} "
        f"LEFT JOIN {table(ModelSlot)} m ON m.{column(ModelSlot, 'id')} = %s "
        f"LEFT JOIN {table(Tournament)} t "
        f"ON t.{column(Tournament, 'id')} = m.{column(ModelSlot, 'tournament')} "
        f"LEFT JOIN {table(Round)} r ON r.{column(Round, 'id')} = ({latest_open}) "
        f"WHERE k.{column(ApiKey, 'key_hash')} = %s"
    )


def upload_context(*, key_hash: str, model_id: int, now: datetime, cid: str) -> UploadContext | None:
    """The upload's context (UploadContext) for an envelope named `cid`, or None when no key
    has this hash."""
    # In the order of the statement's placeholders: the CID, the model, the open round's, the key.
    params = [cid, model_id, *RoundQuerySet.latest_open_at_sql_params(now), key_hash]
    with connection.cursor() as cursor:
        cursor.execute(_upload_context_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    api_key, user, model, tournament, round = split_row(row[:-3], *_UPLOAD_PARTS)
    api_key.user = user
    if model is not None:
        model.tournament = tournament
    if round is not None:
        round.tournament = tournament
        round.has_key = bool(row[-3])
    return UploadContext(
        api_key=api_key, model=model, round=round, uploads=int(row[-2] or 0), envelope_reused=bool(row[-1])
    )
