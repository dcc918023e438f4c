"""The ledger port's contract (tournaments/ledger.py): what both adapters must do alike.

Each test runs on the database ledger and on the chain ledger (the embedded chain); what a
chain holds reaches the database through `sync()`, so every check reads after one.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from core.money import tokens_to_wei
from tournaments.models import ModelSlot, StakeEvent, StakeEventKind, Tournament
from tournaments.services.model_slots import model_create, stake_deposit, stake_release
from tournaments.services.tournaments import tournament_create, tournament_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("money")]  # both ledgers


@pytest.fixture
def tournament():
    sponsor = User.objects.create_user("port-sponsor")
    return tournament_create(
        sponsor=sponsor,
        name="Port",
        first_round_at=timezone.now() + timedelta(days=1),
        reward_pool=tokens_to_wei(40),
    )


def _fresh(model: ModelSlot) -> ModelSlot:
    return ModelSlot.objects.get(pk=model.pk)


def test_a_pool_funded_at_creation_is_the_ledgers_and_the_mirrors(money, tournament):
    money.sync()
    assert money.pool(tournament_id=tournament.pk) == tokens_to_wei(40)
    assert Tournament.objects.get(pk=tournament.pk).reward_pool == tokens_to_wei(40)


def test_a_pool_grows_by_funding_and_never_shrinks(money, tournament):
    money.sync()
    tournament_update(tournament=tournament, by=tournament.sponsor, reward_pool=tokens_to_wei(55))
    tournament_update(
        tournament=tournament, by=tournament.sponsor, reward_pool=tokens_to_wei(55)
    )  # a retry
    money.sync()
    assert money.pool(tournament_id=tournament.pk) == tokens_to_wei(55)
    assert Tournament.objects.get(pk=tournament.pk).reward_pool == tokens_to_wei(55)
    with pytest.raises(InvalidInput, match="it can grow by funding, not shrink"):
        tournament_update(
            tournament=tournament, by=tournament.sponsor, reward_pool=tokens_to_wei(54)
        )
    money.sync()
    assert money.pool(tournament_id=tournament.pk) == tokens_to_wei(55)


def test_stake_and_release_move_the_balance_and_its_history(money, tournament):
    owner = User.objects.create_user("port-owner")
    model = model_create(owner=owner, tournament=tournament, name="port-model")
    stake_deposit(model=model, by=owner, amount=tokens_to_wei(12))
    money.sync()
    assert _fresh(model).stake == tokens_to_wei(12)
    stake_release(model=model, by=owner, amount=tokens_to_wei(5))
    money.sync()
    assert _fresh(model).stake == tokens_to_wei(7)
    history = list(
        StakeEvent.objects.filter(model=model).order_by("pk").values_list("kind", "amount")
    )
    assert history == [
        (StakeEventKind.DEPOSIT, tokens_to_wei(12)),
        (StakeEventKind.RELEASE, -tokens_to_wei(5)),
    ]
    with pytest.raises(Conflict, match="can be released now"):
        stake_release(model=model, by=owner, amount=tokens_to_wei(8))
    money.sync()
    assert _fresh(model).stake == tokens_to_wei(7)


def test_a_second_sync_reads_nothing_new(money, tournament):
    money.sync()
    assert money.sync() == 0


def test_only_a_chain_describes_itself_to_clients(money):
    described = money.describe()
    if money.name == "database":
        assert described is None
    else:
        assert described["backend"] == "embedded"
        assert set(described) == {"backend", "chain_id", "token", "staking", "rpc_url"}
