"""Stakes as a round saw them: the close's snapshot, and what unsettled rounds still hold."""

from tournaments.models import ModelSlot, Round, RoundState, StakeSnapshot

# Rounds whose stake snapshot is still at risk: closed, and not yet settled.
UNSETTLED = [RoundState.CLOSED, RoundState.SCORING, RoundState.RESOLVED]


def stake_snapshot_map(*, round: Round) -> dict[int, int]:
    return dict(StakeSnapshot.objects.filter(round=round).values_list("model_id", "amount"))


def stake_locked(*, model: ModelSlot) -> int:
    """Stake snapshotted by rounds that are closed but not yet settled."""
    amounts = StakeSnapshot.objects.filter(model=model, round__state__in=UNSETTLED).values_list(
        "amount", flat=True
    )
    return max(amounts, default=0)
