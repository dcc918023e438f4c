from django.apps import AppConfig


class ChainConfig(AppConfig):
    name = "chain"
    verbose_name = "Chain"

    def ready(self) -> None:
        # The chain ledger behind tournaments' ledger port, for both chain profiles.
        from chain.ledger import ChainLedger
        from tournaments.ledger import register_ledger

        register_ledger("embedded", ChainLedger)
        register_ledger("rpc", ChainLedger)
