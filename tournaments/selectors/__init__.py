"""Reads: every query the views, APIs and services share, one module per subject.

This package's face: callers import from `tournaments.selectors`, which re-exports each
module's public names, so a read can move between modules without a caller noticing.
Modules inside the package import each other directly, never through here, so that
importing one never drags in all the others.

    rounds        which rounds: the open one (RoundQuerySet's), the next, awaiting data
    datasets      data files, their frames and bytes, a round's live ids
    submissions   a model's uploads, the counted ones and their predictions matrix
    commitments   a round's keys, commitments root and inclusion proofs
    stakes        stake snapshots and the stake unsettled rounds hold
    scores        latest score days, round summary, leaderboard, a model's history
    listings      the tournaments and a modeler's models
    pages         one composite read per page: tournament, round, model
    sponsor       the sponsor's uploads and dashboard
    live          the live feed's JSON-ready rows
    upload_lane   the upload path's hand-written SQL
"""

from tournaments.selectors.commitments import (
    commitments_tree,
    round_encryption,
    submission_inclusion_proof,
)
from tournaments.selectors.datasets import (
    dataset_content,
    dataset_for_download,
    dataset_frame,
    dataset_latest,
    datasets_current,
    live_ids,
)
from tournaments.selectors.listings import model_list, models_of_owner, tournament_list
from tournaments.selectors.live import (
    live_feed,
    live_leaderboard_rows,
    live_private_status,
    live_round_facts,
    live_round_rows,
    live_rounds_tracked,
    live_updates_since,
)
from tournaments.selectors.pages import (
    model_page,
    model_private,
    model_rounds,
    round_page,
    tournament_page,
)
from tournaments.selectors.rounds import (
    round_current_open,
    round_latest,
    round_scheduled_next,
    round_targets,
    rounds_awaiting_live_data,
    rounds_awaiting_targets,
    rounds_recent,
    rounds_with_counts,
)
from tournaments.selectors.scores import (
    leaderboard,
    model_score_history,
    round_scores_latest,
    round_summary,
    scores_of_model,
)
from tournaments.selectors.sponsor import (
    DASHBOARD_UPLOADS,
    sponsor_dashboard,
    sponsor_upload,
    sponsor_uploads,
)
from tournaments.selectors.stakes import UNSETTLED, stake_locked, stake_snapshot_map
from tournaments.selectors.submissions import (
    predictions_matrix,
    submission_latest,
    submissions_counted,
    submissions_of_model,
)
from tournaments.selectors.upload_lane import UploadContext, round_open_for_upload, upload_context

__all__ = [
    "DASHBOARD_UPLOADS",
    "UNSETTLED",
    "UploadContext",
    "commitments_tree",
    "dataset_content",
    "dataset_for_download",
    "dataset_frame",
    "dataset_latest",
    "datasets_current",
    "leaderboard",
    "live_feed",
    "live_ids",
    "live_leaderboard_rows",
    "live_private_status",
    "live_round_facts",
    "live_round_rows",
    "live_rounds_tracked",
    "live_updates_since",
    "model_list",
    "model_page",
    "model_private",
    "model_rounds",
    "model_score_history",
    "models_of_owner",
    "predictions_matrix",
    "round_current_open",
    "round_encryption",
    "round_latest",
    "round_open_for_upload",
    "round_page",
    "round_scheduled_next",
    "round_scores_latest",
    "round_summary",
    "round_targets",
    "rounds_awaiting_live_data",
    "rounds_awaiting_targets",
    "rounds_recent",
    "rounds_with_counts",
    "scores_of_model",
    "sponsor_dashboard",
    "sponsor_upload",
    "sponsor_uploads",
    "stake_locked",
    "stake_snapshot_map",
    "submission_inclusion_proof",
    "submission_latest",
    "submissions_counted",
    "submissions_of_model",
    "tournament_list",
    "tournament_page",
    "upload_context",
]
