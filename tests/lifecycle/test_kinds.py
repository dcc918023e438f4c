"""Tournament kinds plug in through tournaments.kinds; tournaments itself knows none.

(pyproject.toml's import contracts check that tournaments imports no kind; these tests check
what the registry gives the generic path.)
"""

import pytest

from tournaments.kinds import KindHooks, kind_hooks, platform_data_kinds, register_kind
from tournaments.models import TournamentKind


def test_a_kind_that_registered_nothing_runs_as_a_classic_tournament():
    classic = kind_hooks(TournamentKind.DATASET)
    assert classic == KindHooks()
    assert classic.round_step is None and classic.day_contributions is None
    assert not classic.platform_data and not classic.schedule_fixed
    assert classic.extra_score_columns == () and classic.round_facts == {}


def test_the_dex_app_registers_its_hooks_at_start_up():
    dex = kind_hooks(TournamentKind.DEX)
    assert dex.platform_data and dex.schedule_fixed
    assert dex.extra_score_columns == ("pnl",)
    assert callable(dex.round_step) and callable(dex.day_contributions)
    assert set(dex.round_facts) == {"trading", "pnl"}
    assert platform_data_kinds() == [TournamentKind.DEX]


def test_a_kind_cannot_be_registered_twice_with_other_hooks():
    with pytest.raises(RuntimeError, match="tournament kind 'dex' is registered twice"):
        register_kind(TournamentKind.DEX, KindHooks())
    register_kind(TournamentKind.DEX, kind_hooks(TournamentKind.DEX))  # the same again is fine
