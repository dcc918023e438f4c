"""The keeper's journal in the database (chain/dex/journal.py's Journal protocol).

Call outside any transaction: every save must be durable before the keeper sends the trade
it describes, which is what lets a crashed rebalance resume without trading twice.
"""

from typing import Any

from dex.models import JournalDocument


class DatabaseJournal:
    def load(self, key: str) -> dict[str, Any] | None:
        row = JournalDocument.objects.filter(key=key).only("document").first()
        return None if row is None else row.document

    def save(self, key: str, document: dict[str, Any]) -> None:
        JournalDocument.objects.update_or_create(key=key, defaults={"document": document})
