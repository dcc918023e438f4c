"""What the demo needs to regenerate its world after a restart."""

from django.db import models


class DemoTournament(models.Model):
    tournament = models.OneToOneField("tournaments.Tournament", on_delete=models.CASCADE, related_name="demo")
    seed = models.IntegerField()
    n_features = models.PositiveIntegerField()
    rows_per_era = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"demo world of {self.tournament.slug} (seed {self.seed})"
