"""What the demo needs to regenerate its world after a restart."""

from django.db import models


class DemoTournament(models.Model):
    tournament = models.OneToOneField("tournaments.Tournament", on_delete=models.CASCADE, related_name="demo")
    seed = models.IntegerField()
    n_features = models.PositiveIntegerField()
    rows_per_era = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"demo world of {self.tournament.slug} (seed {self.seed})"


class DemoDexMarket(models.Model):
    """The demo DEX tournament's market replay: where it stands and how to resume it.

    Step s of the price path is due at `started_at + (s − warmup_steps)·era` on the
    platform's clock; the dev chain's clock is moved along so eras of chain time match.
    """

    tournament = models.OneToOneField(
        "tournaments.Tournament", on_delete=models.CASCADE, related_name="demo_dex"
    )
    seed = models.IntegerField()
    started_at = models.DateTimeField()
    chain_started_at = models.BigIntegerField()  # chain timestamp at step `warmup_steps`
    warmup_steps = models.PositiveIntegerField()
    steps_done = models.PositiveIntegerField()
    path_steps = models.PositiveIntegerField()
    price_csv = models.CharField(max_length=500, blank=True)  # empty: the generated path
    arbitrageur = models.CharField(max_length=42)
    noise_traders = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"market replay of {self.tournament.slug} (seed {self.seed})"
