"""Reads for DEX tournaments: market facts, a round's trading book, its P&L marks."""

from dex.models import DexBook, DexMarket, PnlMark, TradingHalt
from tournaments.models import Round, Tournament


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(float(value), 8)


def mark_point(mark: PnlMark) -> dict:
    """One point of a round's P&L series as pages and the live feed carry it."""
    return {
        "at": mark.at.isoformat(),
        "block": mark.block,
        "day": mark.day,
        "value": str(mark.value_at_mid),
        "pnl": str(mark.pnl),
        "portfolio_return": _ratio(mark.portfolio_return),
        "benchmark_return": _ratio(mark.benchmark_return),
        "excess_return": _ratio(mark.excess_return),
    }


def round_pnl_facts(*, round: Round) -> dict | None:
    """The round's trading book and latest mark, or None before its close."""
    book = DexBook.objects.filter(round=round).first()
    if book is None:
        return None
    last = PnlMark.objects.filter(round=round).order_by("-at", "-id").first()
    return {
        "models": book.n_models,
        "start_value": str(book.start_value),
        "weights": {s: _ratio(w) for s, w in book.weights.items()},
        "rebalance": book.rebalance_state,
        "trades": book.rebalance.get("executed"),
        "cost_bps": book.rebalance.get("cost_bps"),
        "gas_used": book.rebalance.get("gas_used"),
        "error": book.rebalance_error or None,
        "mark": mark_point(last) if last else None,
        "marks": PnlMark.objects.filter(round=round).count(),
    }


def round_pnl_series(*, round: Round) -> list[dict]:
    return [mark_point(m) for m in PnlMark.objects.filter(round=round).order_by("at", "id")]


def market_of(*, tournament: Tournament) -> DexMarket | None:
    return DexMarket.objects.filter(tournament=tournament).first()


def market_facts(*, market: DexMarket) -> dict:
    return {
        "quote_token": market.quote_token,
        "quote_symbol": market.quote_symbol,
        "factory": market.factory,
        "router": market.router,
        "vault": market.vault,
        "keeper": market.keeper,
        "capital": str(market.capital),
        "tilt": market.tilt,
        "era_seconds": market.era_seconds,
        "history_eras": market.history_eras,
        "feature_windows": market.windows,
        "slippage_bps": market.slippage_bps,
        "max_attempts": market.max_attempts,
        "twap_blocks": market.twap_blocks,
        "tokens": [
            {"symbol": t.symbol, "token": t.token, "pair": t.pair} for t in market.tokens.all()
        ],
        "trading_halted": TradingHalt.objects.filter(market=market, resolved_at__isnull=True).exists(),
    }


def round_trading(*, round: Round) -> dict:
    """What the round page shows of a DEX round: the book, the latest mark, the weights."""
    facts = round_pnl_facts(round=round)
    market = round.tournament.dex
    weights = sorted((facts or {}).get("weights", {}).items(), key=lambda kv: -(kv[1] or 0))
    return {
        "facts": facts,
        "market": market,
        "weights": [{"symbol": s, "weight": w, "tilt": (w or 0) * len(weights) - 1} for s, w in weights],
        "halted": TradingHalt.objects.filter(market=market, resolved_at__isnull=True).exists(),
    }
