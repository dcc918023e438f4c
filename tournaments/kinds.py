"""What a tournament kind may add to the generic round life, and the registry of kinds.

tournaments/ runs every round the same way: open, close, score each day, resolve, settle.
A kind (the DEX kind in dex/) plugs in here, from its AppConfig.ready(), instead of
tournaments/ importing it: the hooks below are the only places a kind changes the generic
path, and a kind that registers nothing behaves as a classic tournament.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from tournaments.models import Round


@dataclass(frozen=True)
class KindHooks:
    # Data and targets come from the platform itself (a market), never from the sponsor:
    # sponsor uploads are refused (409 market_data_only) and the platform's files do not
    # count against the sponsor's storage.
    platform_data: bool = False
    # The schedule is fixed at creation (edits of the schedule fields are refused).
    schedule_fixed: bool = False
    # Score columns beyond CORR and MMC that this kind fills (e.g. "pnl"); a rule that
    # weighs one of them (pnl_multiplier) is refused for kinds without it.
    extra_score_columns: tuple[str, ...] = ()
    # Called by the scheduler before the generic step of each round: the kind's own work
    # (live data, targets, trading). Returns what it did, for the tick's report.
    round_step: Callable[[Round, datetime], list[str]] | None = None
    # A score day's extra contributions, one per model in `predictions`' order, or None
    # if the day cannot be scored yet (the step waits).
    day_contributions: (
        Callable[[Round, int, np.ndarray, np.ndarray], Sequence[float] | None] | None
    ) = None
    # Extra facts of a round for its page, the API and the live feed: name -> builder.
    round_facts: dict[str, Callable[[Round], Any]] = field(default_factory=dict)


_CLASSIC = KindHooks()
_registry: dict[str, KindHooks] = {}


def register_kind(kind: str, hooks: KindHooks) -> None:
    """Register a kind's hooks (once, from its app's ready())."""
    kind = str(kind)  # a TournamentKind member is registered by its value
    if kind in _registry and _registry[kind] != hooks:
        raise RuntimeError(f"tournament kind {kind!r} is registered twice")
    _registry[kind] = hooks


def kind_hooks(kind: str) -> KindHooks:
    """The hooks of `kind`; a kind that registered none runs as a classic tournament."""
    return _registry.get(kind, _CLASSIC)


def round_fact(round: Round, name: str) -> Any:
    """The kind's fact `name` for `round`, or None where the kind has none."""
    builder = kind_hooks(round.tournament.kind).round_facts.get(name)
    return builder(round) if builder is not None else None


def platform_data_kinds() -> list[str]:
    """The kinds whose data the platform writes itself (not counted as the sponsor's)."""
    return [kind for kind, hooks in _registry.items() if hooks.platform_data]
