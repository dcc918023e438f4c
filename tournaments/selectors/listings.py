"""What the site and the API list: the tournaments, and a modeler's models."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from tournaments.models import ModelSlot, Tournament, TournamentState


def tournament_list(*, include_archived: bool = False) -> QuerySet[Tournament]:
    qs = Tournament.objects.select_related("sponsor")
    if not include_archived:
        qs = qs.exclude(state=TournamentState.ARCHIVED)
    return qs


def model_list(*, owner: User, tournament: Tournament | None = None) -> QuerySet[ModelSlot]:
    """A modeler's models (optionally in one tournament), by tournament and name."""
    qs = ModelSlot.objects.filter(owner=owner).select_related("tournament", "owner")
    if tournament is not None:
        qs = qs.filter(tournament=tournament)
    return qs.order_by("tournament__slug", "name")


def models_of_owner(*, owner: User) -> list[dict]:
    """A modeler's models with stake, latest submission and latest scores."""
    rows = []
    for model in ModelSlot.objects.filter(owner=owner).select_related("tournament").order_by(
        "tournament__name", "name"
    ):
        latest_sub = (
            model.submissions.select_related("round").order_by("-created_at", "-id").first()
        )
        latest_score = (
            model.scores.select_related("round").order_by("-round__number", "-day").first()
        )
        rows.append({"model": model, "submission": latest_sub, "score": latest_score})
    return rows
