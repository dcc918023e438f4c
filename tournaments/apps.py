from django.apps import AppConfig


class TournamentsConfig(AppConfig):
    name = "tournaments"
    verbose_name = "Tournaments"

    def ready(self) -> None:
        # Imported here, once the apps are loaded: these modules use tournaments' models.
        from tournaments import tasks
        from tournaments.ledger import register_ledger
        from tournaments.services.ledger_db import DatabaseLedger
        from tournaments.services.uploads import register_check_sender

        # The database ledger for runs without a chain (tournaments/ledger.py); the chain
        # app registers its own for the embedded and JSON-RPC profiles.
        register_ledger("off", DatabaseLedger)
        # A sponsor upload's check runs in a Celery task, which services never import.
        register_check_sender(tasks.send_upload_check)
