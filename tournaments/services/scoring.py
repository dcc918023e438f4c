"""Score one day of a round with the scoring engine; persist per-model and round results.

The ranking pass over the counted predictions is the expensive part and the predictions
never change after close, so the prepared era is cached per round and re-used by every
daily re-score (only the target changes).
"""

from collections import OrderedDict
from datetime import datetime

import numpy as np

import scoring
from core.errors import Conflict
from core.money import wei_to_tokens
from tournaments.blobs import blob_store
from tournaments.kinds import kind_hooks
from tournaments.models import Round, RoundTarget, Score, ScoreDay
from tournaments.selectors import live_ids, predictions_matrix, stake_snapshot_map
from tournaments.services.submissions import round_decrypt_submissions
from tournaments.tables import check_targets, read_table

_PREPARED_CACHE: "OrderedDict[tuple, scoring.RankedEra]" = OrderedDict()
_CACHE_SIZE = 8


def _prepared_era(predictions: np.ndarray, stakes: np.ndarray, key: tuple) -> scoring.RankedEra:
    prepared = _PREPARED_CACHE.get(key)
    if prepared is None:
        prepared = scoring.prepare_era(predictions, stakes)
        _PREPARED_CACHE[key] = prepared
        while len(_PREPARED_CACHE) > _CACHE_SIZE:
            _PREPARED_CACHE.popitem(last=False)
    return prepared


def meta_model_weights(*, round: Round, models: list) -> np.ndarray:
    """Each model's weight in the round's meta-model: its stake at close, in tokens.

    With no stake at all (e.g. a brand-new tournament) the meta-model is the plain average,
    so MMC (and a DEX round's tilt) stays defined; otherwise it is stake-weighted as usual.
    """
    snapshot = stake_snapshot_map(round=round)
    stakes = np.array([float(wei_to_tokens(snapshot.get(m.id, 0))) for m in models])
    if stakes.sum() <= 0:
        return np.ones_like(stakes)
    return stakes


def _pnl_contributions(
    round: Round, day: int, predictions: np.ndarray, weights: np.ndarray, n_models: int
) -> list[float | None]:
    """The kind's P&L contribution per model over the day (DEX rounds); None elsewhere."""
    contributions = kind_hooks(round.tournament.kind).day_contributions
    if contributions is None:
        return [None] * n_models
    values = contributions(round, day, predictions, weights)
    if values is None:
        raise Conflict(f"round {round.number} day {day} has no P&L mark yet", code="no_mark")
    return [float(v) for v in values]


def score_round_day(*, round: Round, day: int, now: datetime) -> None:
    """Compute and store day `day`. Call inside the round's row lock."""
    # Normally done at close; this finishes it if the close's opening step was interrupted.
    round_decrypt_submissions(round=round, now=now)
    target_row = RoundTarget.objects.filter(round=round, day=day).first()
    if target_row is None:
        raise Conflict(f"no target for day {day} of round {round.number}", code="no_target")
    models, predictions = predictions_matrix(round=round)
    ids = live_ids(round=round)
    target = check_targets(read_table(blob_store().get(target_row.cid), "target.csv"), ids)
    if not models:
        ScoreDay.objects.create(round=round, day=day, meta_corr=0.0, n_models=0, computed_at=now)
        round.meta_corr = None
        return
    weights = meta_model_weights(round=round, models=models)
    # The commitments root names the counted envelopes themselves: a round id alone can be
    # reused (a test database rolled back, a restored backup) with other predictions.
    key = (round.id, round.commitments_root, tuple(m.id for m in models))
    try:
        prepared = _prepared_era(predictions, weights, key)
        target_values = target.to_numpy()
        result = prepared.score(target_values)
    except ValueError as exc:  # the engine names the degenerate input; the tick retries later
        raise Conflict(f"round {round.number} day {day} cannot be scored: {exc}", code="unscorable") from exc
    meta_corr = float(scoring.numerai_corr(prepared.meta_model, target_values)[0])
    result_corr, result_mmc = result.corr, result.mmc
    pnl = _pnl_contributions(round, day, predictions, weights, len(models))
    Score.objects.bulk_create(
        [
            Score(
                round=round,
                model=m,
                day=day,
                corr=float(c),
                mmc=float(x),
                pnl_contribution=p,
                computed_at=now,
            )
            for m, c, x, p in zip(models, result_corr, result_mmc, pnl, strict=True)
        ]
    )
    ScoreDay.objects.create(round=round, day=day, meta_corr=meta_corr, n_models=len(models), computed_at=now)
    round.meta_corr = meta_corr
