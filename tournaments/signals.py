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
receiver can undo the change it hears about. A receiver that raises is logged (Django logs
each under `django.dispatch`). Inside a transaction the receivers run in a savepoint of their
own: if one's database work fails (reported, swallowed, or hidden in an aborted PostgreSQL
transaction) the savepoint is rolled back, so the receivers lose their work and what they
registered with on_commit, never the change: a page that could not be told must not roll back
a round's step or a payout (the live pages resync on their own). Only a receiver that leaves
the transaction unable to go on at all (it closed the connection) fails the change, loudly.
"""

import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.dispatch import Signal

log = logging.getLogger("arena.signals")

round_changed = Signal()
round_scored = Signal()
round_pnl = Signal()
stake_changed = Signal()
submission_changed = Signal()


def announce(signal: Signal, *, sender: type, **named: Any) -> None:
    """Send `signal` to its receivers; their errors are logged and cannot undo the change."""
    if not transaction.get_connection().in_atomic_block:
        # Autocommit: each statement a receiver runs is its own transaction.
        signal.send_robust(sender=sender, **named)
        return
    try:
        with transaction.atomic():  # a savepoint: the receivers' own work, and only theirs
            outcomes = signal.send_robust(sender=sender, **named)
            reported = any(isinstance(error, DatabaseError) for _, error in outcomes)
            if reported or transaction.get_rollback():
                if not reported:
                    log.warning("a receiver of %s hid a failed write: its work is rolled back", sender.__name__)
                transaction.set_rollback(True)  # back to the savepoint, not the change
    except DatabaseError:
        # RELEASE SAVEPOINT failed: a receiver hid an error that aborted PostgreSQL's
        # transaction. Leaving the block rolled back to the savepoint, which clears it.
        log.warning("a receiver of %s hid a database error: its work is rolled back", sender.__name__, exc_info=True)
    if transaction.get_rollback():
        raise TransactionManagementError(
            f"a receiver of a {sender.__name__} change left its transaction unable to commit"
        )
