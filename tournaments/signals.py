"""The notification port: how tournaments tells other apps what changed, without knowing them.

A service sends a signal at the point where it makes the change: inside the change's
transaction, or just after it where the change spans several (a round's close). The
signals carry the changed row and nothing else; what to do with it is the receiver's
business. An app that follows the changes connects its receivers once, from its
AppConfig.ready() — today the live feed (live/apps.py, live/receivers.py), which turns them
into a publish of the live pages after the commit. tournaments never imports a receiver
(pyproject.toml, [tool.importlinter]), and a receiver that acts on the committed state must
defer with transaction.on_commit itself: a change that rolls back then announces nothing.

A tournament kind's app sends them too, for its tournaments' rounds (dex: trading, marks).

| signal | sender | named argument | sent when |
| --- | --- | --- | --- |
| round_changed | Round | round | a round moved along its life (opened, closed, resolved with payouts, settled), or a kind's round changed otherwise (a DEX round rebalanced) |
| round_scored | Round | round | a score day of the round was computed |
| round_pnl | Round | round | a DEX round's vault was marked to market (live P&L) |
| stake_changed | ModelSlot | model | a model's stake changed (deposit, release, reward, burn; mirrored from a chain) |
| submission_changed | Submission | submission | an upload was stored, or its state changed (valid, invalid) |

Services send them with `announce()`: receivers run in the sender's thread, in order, and no
receiver can fail or undo the change it hears about. A receiver that raises is logged (Django
logs each under `django.dispatch`); inside a transaction the receivers run in a savepoint of
their own, so a receiver whose database work fails loses that work (and what the receivers
registered with on_commit), never the change: a page that could not be told must not roll
back a round's step or a payout (the live pages resync on their own).
"""

from typing import Any

from django.db import DatabaseError, transaction
from django.dispatch import Signal

round_changed = Signal()
round_scored = Signal()
round_pnl = Signal()
stake_changed = Signal()
submission_changed = Signal()


def announce(signal: Signal, *, sender: type, **named: Any) -> None:
    """Send `signal` to its receivers; their errors are logged and cannot touch the change."""
    if not transaction.get_connection().in_atomic_block:
        # Autocommit: each statement a receiver runs is its own transaction.
        signal.send_robust(sender=sender, **named)
        return
    with transaction.atomic():  # a savepoint: the receivers' own work, and only theirs
        outcomes = signal.send_robust(sender=sender, **named)
        if any(isinstance(error, DatabaseError) for _, error in outcomes):
            # Back to the savepoint (on PostgreSQL also out of an aborted transaction), so the
            # change's transaction can still commit.
            transaction.set_rollback(True)
