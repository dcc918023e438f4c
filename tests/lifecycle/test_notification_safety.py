"""A receiver of tournaments' notification port (tournaments/signals.py) can never make a
change look done while its transaction rolls back: an error that leaves the transaction
unable to commit fails the change loudly; any other error is only logged."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tournaments import signals
from tournaments.models import (
    ModelSlot,
    Payout,
    PayoutState,
    StakeEvent,
    StakeEventKind,
    Tournament,
)
from tournaments.services.model_slots import model_create, stake_change
from tournaments.services.payouts import payouts_apply


def _duplicate_model(sender, *, model, **kwargs):
    # A write that fails (a duplicate name): Django marks the transaction for rollback.
    ModelSlot.objects.create(owner=model.owner, tournament=model.tournament, name=model.name)


@pytest.fixture
def failing_write():
    signals.stake_changed.connect(_duplicate_model)
    yield
    signals.stake_changed.disconnect(_duplicate_model)


def test_a_receiver_database_error_fails_the_stake_change(tournament, modeler, failing_write):
    slot = model_create(owner=modeler, tournament=tournament, name="one")
    with pytest.raises(IntegrityError):
        stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
    assert ModelSlot.objects.get(pk=slot.pk).stake == 0
    assert not StakeEvent.objects.filter(model=slot).exists()


def test_a_receiver_database_error_settles_no_payout(resolved_round, failing_write):
    rnd, model = resolved_round.round, resolved_round.model
    stake_before = ModelSlot.objects.get(pk=model.pk).stake
    pool_before = Tournament.objects.get(pk=rnd.tournament_id).reward_pool
    assert Payout.objects.get(round=rnd, model=model).amount > 0
    with pytest.raises(IntegrityError), transaction.atomic():
        payouts_apply(round=rnd, now=timezone.now())
    # Nothing of the settlement happened, so the retry finds every payout pending.
    assert set(Payout.objects.filter(round=rnd).values_list("state", flat=True)) == {PayoutState.PENDING}
    assert Tournament.objects.get(pk=rnd.tournament_id).reward_pool == pool_before
    assert ModelSlot.objects.get(pk=model.pk).stake == stake_before


def test_an_error_that_marks_the_transaction_for_rollback_is_raised(tournament, modeler):
    slot = model_create(owner=modeler, tournament=tournament, name="one")

    def gives_up(sender, **kwargs):
        transaction.set_rollback(True)
        raise RuntimeError("gave up after marking the transaction")

    signals.stake_changed.connect(gives_up)
    try:
        with pytest.raises(RuntimeError, match="gave up after marking the transaction"):
            with transaction.atomic():
                stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
    finally:
        signals.stake_changed.disconnect(gives_up)
    assert ModelSlot.objects.get(pk=slot.pk).stake == 0
