"""Model slots and their stakes (held by the ledger, tournaments/ledger.py)."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import Conflict, InvalidInput, NotAllowed
from core.money import wei_to_tokens
from tournaments import signals
from tournaments.ledger import ledger
from tournaments.models import ModelSlot, StakeEvent, Tournament, TournamentState
from tournaments.selectors import stake_locked


def model_create(*, owner: User, tournament: Tournament, name: str) -> ModelSlot:
    clean = slugify(name)
    if not clean or clean != name.strip().lower():
        raise InvalidInput(
            f"model name {name!r} must be lowercase letters, digits, '-' or '_' (e.g. {clean or 'my-model'!r})"
        )
    if tournament.state == TournamentState.ARCHIVED:
        raise Conflict("this tournament is archived")
    try:
        with transaction.atomic():
            return ModelSlot.objects.create(owner=owner, tournament=tournament, name=clean)
    except IntegrityError:
        raise Conflict(f"a model named '{clean}' already exists in {tournament.slug}") from None


def _own(model: ModelSlot, by: User) -> None:
    if model.owner_id != by.id:
        raise NotAllowed("you can only act on your own models")


@transaction.atomic
def stake_change(
    *, model: ModelSlot, amount: int, kind: str, round=None, tx_hash: str = ""
) -> ModelSlot:
    """Apply a signed change to a model's stake and append it to the ledger (row-locked)."""
    model = ModelSlot.objects.select_for_update().get(pk=model.pk)
    if model.stake + amount < 0:
        raise InvalidInput(
            f"stake would become negative: stake {model.stake} wei, change {amount} wei"
        )
    model.stake += amount
    model.save(update_fields=["stake"])
    StakeEvent.objects.create(model=model, kind=kind, amount=amount, round=round, tx_hash=tx_hash)
    signals.announce(signals.stake_changed, sender=ModelSlot, model=model)  # the live pages, after commit
    return model


def stake_deposit(*, model: ModelSlot, by: User, amount: int) -> ModelSlot:
    """Stake on a model, through the ledger. With a chain the stake is a token transfer to
    the staking contract (from the owner's custodial wallet on a dev chain) and the indexer
    mirrors it here."""
    _own(model, by)
    if amount <= 0:
        raise InvalidInput("a stake deposit must be positive")
    ledger().stake(model=model, amount=amount)
    return ModelSlot.objects.get(pk=model.pk)


def stake_release(*, model: ModelSlot, by: User, amount: int) -> ModelSlot:
    """Release stake not at risk: stake snapshotted by an unsettled round stays locked (and
    on a chain the contract also holds it for every round open there)."""
    _own(model, by)
    if amount <= 0:
        raise InvalidInput("a release must be positive")
    money = ledger()
    with money.session(), transaction.atomic():
        current = ModelSlot.objects.select_for_update().get(pk=model.pk)
        # Read under the model's row lock, which round_close also takes for its snapshot: a
        # release racing a close either lands before the snapshot or sees the stake locked.
        locked = stake_locked(model=current)
        free = current.stake - locked
        if amount > free:
            symbol = current.tournament.token_symbol
            raise Conflict(
                f"only {wei_to_tokens(max(free, 0)).normalize():f} {symbol} ({max(free, 0)} wei) "
                f"can be released now; {wei_to_tokens(locked).normalize():f} {symbol} ({locked} wei) "
                "backs unsettled rounds",
                details={"free_wei": str(max(free, 0)), "locked_wei": str(locked)},
            )
        money.release(model=current, amount=amount)
    return ModelSlot.objects.get(pk=model.pk)
