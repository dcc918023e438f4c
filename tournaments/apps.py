from django.apps import AppConfig


class TournamentsConfig(AppConfig):
    name = "tournaments"
    verbose_name = "Tournaments"

    def ready(self) -> None:
        # The database ledger for runs without a chain (tournaments/ledger.py); the chain
        # app registers its own for the embedded and JSON-RPC profiles.
        from tournaments.ledger import register_ledger
        from tournaments.services.ledger_db import DatabaseLedger

        register_ledger("off", DatabaseLedger)
