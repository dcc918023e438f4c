from django.apps import AppConfig


class DexConfig(AppConfig):
    name = "dex"
    verbose_name = "DEX tournaments"

    def ready(self) -> None:
        # The DEX kind plugs into the generic round life (tournaments/kinds.py). Imported
        # here, not at the top: models and services may only load once the apps are ready.
        from dex.selectors import round_pnl_facts, round_trading
        from dex.services.marks import dex_day_contributions
        from dex.services.rounds import dex_round_step
        from dex.tasks import rebalance_round_enqueue
        from tournaments.kinds import KindHooks, register_kind
        from tournaments.models import TournamentKind

        register_kind(
            TournamentKind.DEX,
            KindHooks(
                platform_data=True,  # live data and targets from the pools, never uploads
                schedule_fixed=True,  # its vault trades one round at a time
                extra_score_columns=("pnl",),
                round_step=_round_step(dex_round_step, rebalance_round_enqueue),
                day_contributions=_day_contributions(dex_day_contributions),
                round_facts={
                    "trading": lambda round: round_trading(round=round),
                    "pnl": lambda round: round_pnl_facts(round=round),
                },
            ),
        )


def _round_step(step, enqueue_rebalance):
    # The scheduling is wired here, not imported by the services: dex.tasks imports them.
    return lambda round, now: step(round=round, now=now, enqueue_rebalance=enqueue_rebalance)


def _day_contributions(contributions):
    return lambda round, day, predictions, weights: contributions(
        round=round, day=day, predictions=predictions, weights=weights
    )
