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

Services send them with `announce()`: receivers run in the sender's thread, in order. A
receiver that raises is logged (Django logs each under `django.dispatch`) and does not fail
the change it hears about: a page that could not be told must not roll back a round's step
(the live pages resync on their own). One exception: an error that leaves the change's
transaction unable to commit (a database error, or any error that marked the transaction for
rollback) is raised, so the change fails loudly instead of being rolled back in silence.
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
    """Send `signal` to its receivers. A receiver's error is logged and swallowed, unless the
    change can no longer commit because of it: then the first such error is raised."""
    failures = [
        error
        for _, error in signal.send_robust(sender=sender, **named)
        if isinstance(error, Exception)
    ]
    if not failures:
        return
    # transaction.get_rollback(): an error inside a receiver's ORM call marks the transaction
    # for rollback, and its commit would then silently roll the change back.
    poisoned = transaction.get_connection().in_atomic_block and transaction.get_rollback()
    fatal = [error for error in failures if isinstance(error, DatabaseError)]
    if fatal or poisoned:
        raise (fatal or failures)[0]
