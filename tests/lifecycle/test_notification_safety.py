"""A receiver of tournaments' notification port (tournaments/signals.py) can neither fail nor
undo the change it hears about: inside a transaction the receivers run in a savepoint of their
own, so a receiver whose database work fails loses only that work."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
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


def test_a_receiver_database_error_loses_only_its_own_work(tournament, modeler, failing_write):
    slot = model_create(owner=modeler, tournament=tournament, name="one")
    with transaction.atomic():
        stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
        stake_change(model=slot, amount=2, kind=StakeEventKind.DEPOSIT)  # the transaction goes on
    assert ModelSlot.objects.get(pk=slot.pk).stake == 7
    assert list(StakeEvent.objects.filter(model=slot).order_by("pk").values_list("amount", flat=True)) == [5, 2]
    assert ModelSlot.objects.filter(tournament=tournament, name="one").count() == 1


def test_a_receiver_database_error_never_loses_a_reward(resolved_round, failing_write):
    rnd, model = resolved_round.round, resolved_round.model
    stake_before = ModelSlot.objects.get(pk=model.pk).stake
    pool_before = Tournament.objects.get(pk=rnd.tournament_id).reward_pool
    reward = Payout.objects.get(round=rnd, model=model).amount
    assert reward > 0
    with transaction.atomic():
        payouts_apply(round=rnd, now=timezone.now())
    assert set(Payout.objects.filter(round=rnd).values_list("state", flat=True)) == {PayoutState.SETTLED}
    assert ModelSlot.objects.get(pk=model.pk).stake == stake_before + reward
    assert Tournament.objects.get(pk=rnd.tournament_id).reward_pool == pool_before - reward
    assert StakeEvent.objects.get(model=model, round=rnd).amount == reward


def test_a_receiver_cannot_doom_the_change(tournament, modeler):
    slot = model_create(owner=modeler, tournament=tournament, name="one")

    def gives_up(sender, **kwargs):
        transaction.set_rollback(True)
        raise RuntimeError("gave up after marking the transaction")

    signals.stake_changed.connect(gives_up)
    try:
        with transaction.atomic():
            stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
    finally:
        signals.stake_changed.disconnect(gives_up)
    assert ModelSlot.objects.get(pk=slot.pk).stake == 5


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_receivers_run_without_a_savepoint(tournament, modeler):
    # Outside a transaction (the upload lane announces in autocommit) each statement a
    # receiver runs commits on its own: its first write stays though its second fails, and
    # nothing is raised to the announcing service.
    slot = model_create(owner=modeler, tournament=tournament, name="one")

    def writes_then_fails(sender, *, model, **kwargs):
        model_create(owner=model.owner, tournament=model.tournament, name="kept")
        ModelSlot.objects.create(owner=model.owner, tournament=model.tournament, name=model.name)

    signals.stake_changed.connect(writes_then_fails)
    try:
        assert not connection.in_atomic_block
        signals.announce(signals.stake_changed, sender=ModelSlot, model=slot)
    finally:
        signals.stake_changed.disconnect(writes_then_fails)
    assert sorted(ModelSlot.objects.filter(tournament=tournament).values_list("name", flat=True)) == [
        "kept",
        "one",
    ]


def _swallows_a_failed_select(sender, **kwargs):
    try:
        list(ModelSlot.objects.filter(name__regex="("))  # an invalid pattern: the query fails
    except DatabaseError:
        pass


def _swallows_a_failed_raw_statement(sender, **kwargs):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # PostgreSQL: division by zero
    except DatabaseError:
        pass


class _AppError(Exception):
    pass


def _turns_a_database_error_into_its_own(sender, **kwargs):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    except DatabaseError as error:
        raise _AppError("lookup failed") from error


@pytest.mark.parametrize(
    "receiver",
    [_swallows_a_failed_select, _swallows_a_failed_raw_statement, _turns_a_database_error_into_its_own],
)
def test_a_receiver_that_hides_a_failed_query_cannot_fail_the_change(tournament, modeler, receiver):
    # On PostgreSQL a failed statement aborts the transaction even when the receiver hides
    # the error from Django: the savepoint's rollback clears it.
    slot = model_create(owner=modeler, tournament=tournament, name="one")
    signals.stake_changed.connect(receiver)
    try:
        with transaction.atomic():
            stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
            stake_change(model=slot, amount=1, kind=StakeEventKind.DEPOSIT)
    finally:
        signals.stake_changed.disconnect(receiver)
    assert ModelSlot.objects.get(pk=slot.pk).stake == 6


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite's in-memory test database ignores close()"
)
@pytest.mark.django_db(transaction=True)  # the stake is read back on a new connection
def test_a_receiver_that_closes_the_connection_fails_the_change_loudly(tournament, modeler):
    slot = model_create(owner=modeler, tournament=tournament, name="one")

    def closes(sender, **kwargs):
        connection.close()

    signals.stake_changed.connect(closes)
    try:
        with pytest.raises(TransactionManagementError, match="left its transaction unable to commit"):
            with transaction.atomic():
                stake_change(model=slot, amount=5, kind=StakeEventKind.DEPOSIT)
    finally:
        signals.stake_changed.disconnect(closes)
    assert ModelSlot.objects.get(pk=slot.pk).stake == 0
