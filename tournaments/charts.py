"""Server-rendered SVG charts: no script, no third-party library, works offline.

A chart is plain markup built from numbers we computed and text we escape, so it can be
inlined into a page (`{{ chart }}`) or served as an image. Every piece of text that reaches
the markup (title, series names, labels) goes through `escape`; numbers are formatted by us.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe pair (blue / orange), then more for charts with extra series.
PALETTE = ("#2563eb", "#e07b00", "#059669", "#9333ea", "#dc2626")


@dataclass(frozen=True)
class Series:
    """One line: `values[i]` belongs to the i-th x label; None leaves a gap."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Box:
    width: int = 640
    height: int = 260
    left: int = 60
    right: int = 16
    top: int = 34
    bottom: int = 42

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round tick values inside [lo, hi]: the finest 1/2/2.5/5 × 10^k step giving ≤ max_ticks."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return [lo]
    magnitude = 10 ** math.floor(math.log10(span / max_ticks))
    for m in (1, 2, 2.5, 5, 10, 20):
        step = m * magnitude
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= max_ticks:
            break
    return [0.0 if k == 0 else k * step for k in range(first, last + 1)]


def _value_range(series: Sequence[Series]) -> tuple[float, float]:
    values = [
        float(v) for s in series for v in s.values if v is not None and math.isfinite(float(v))
    ]
    lo = min(values + [0.0])  # the zero line is always in view
    hi = max(values + [0.0])
    if hi - lo < 1e-12:
        lo, hi = lo - 0.01, hi + 0.01
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _tick_label(value: float, step: float) -> str:
    places = next((p for p in range(8) if abs(round(step, p) - step) < 1e-12), 8)
    return f"{value:.{places}f}".replace("-", "−")


def line_chart_svg(
    *,
    x_labels: Sequence[object],
    series: Sequence[Series],
    title: str,
    x_title: str = "",
    box: Box | None = None,
    chart_id: str = "chart",
    empty_text: str = "No scores yet",
) -> SafeString:
    """An SVG line chart: axes, y ticks, a zero line, one <path> per series, a legend."""
    box = box or Box()
    n = len(x_labels)
    title_id = escape(f"{chart_id}-title")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {box.width} {box.height}"'
        f' width="{box.width}" height="{box.height}" role="img" aria-labelledby="{title_id}"'
        ' font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<text class="chart-title" x="{box.left}" y="16" font-weight="600">{escape(title)}</text>',
    ]
    if n == 0 or not any(v is not None for s in series for v in s.values):
        out.append(
            f'<text class="chart-empty" x="{box.width / 2:.1f}" y="{box.height / 2:.1f}"'
            f' text-anchor="middle" fill="#6b7280">{escape(empty_text)}</text></svg>'
        )
        return mark_safe("".join(out))  # noqa: S308 - every text above is escaped

    lo, hi = _value_range(series)

    def x_at(i: int) -> float:
        if n == 1:
            return box.left + box.plot_w / 2
        return box.left + box.plot_w * i / (n - 1)

    def y_at(v: float) -> float:
        return box.top + box.plot_h * (hi - v) / (hi - lo)

    bottom = box.top + box.plot_h
    right = box.left + box.plot_w

    # Grid and y tick labels.
    ticks = nice_ticks(lo, hi)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.01
    for t in ticks:
        y = _fmt(y_at(t))
        out.append(
            f'<line class="grid" x1="{box.left}" y1="{y}" x2="{_fmt(right)}" y2="{y}"'
            ' stroke="#e5e7eb" stroke-width="1"/>'
            f'<text class="tick-label" x="{box.left - 6}" y="{y}" text-anchor="end"'
            f' dominant-baseline="middle" fill="#4b5563">{escape(_tick_label(t, step))}</text>'
        )

    # Axes and the zero line.
    out.append(
        f'<line class="axis axis-y" x1="{box.left}" y1="{box.top}" x2="{box.left}" y2="{_fmt(bottom)}"'
        ' stroke="#374151" stroke-width="1"/>'
        f'<line class="axis axis-x" x1="{box.left}" y1="{_fmt(bottom)}" x2="{_fmt(right)}"'
        f' y2="{_fmt(bottom)}" stroke="#374151" stroke-width="1"/>'
    )
    zero = _fmt(y_at(0.0))
    out.append(
        f'<line class="zero-line" x1="{box.left}" y1="{zero}" x2="{_fmt(right)}" y2="{zero}"'
        ' stroke="#111827" stroke-width="1" stroke-dasharray="4 3"/>'
    )

    # X labels: at most ~12, always including the last.
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(x_labels):
        if i % every and i != n - 1:
            continue
        out.append(
            f'<text class="x-label" x="{_fmt(x_at(i))}" y="{_fmt(bottom + 16)}"'
            f' text-anchor="middle" fill="#4b5563">{escape(str(label))}</text>'
        )
    if x_title:
        out.append(
            f'<text class="x-title" x="{_fmt(box.left + box.plot_w / 2)}" y="{box.height - 6}"'
            f' text-anchor="middle" fill="#4b5563">{escape(x_title)}</text>'
        )

    # Series: a path (gaps split it into sub-paths) plus a marker with a tooltip per point.
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        commands = []
        markers = []
        pen_down = False
        for i, v in enumerate(s.values[:n]):
            if v is None or not math.isfinite(float(v)):
                pen_down = False
                continue
            x, y = _fmt(x_at(i)), _fmt(y_at(float(v)))
            commands.append(f"{'L' if pen_down else 'M'}{x} {y}")
            pen_down = True
            tip = f"{s.name} at {x_labels[i]}: {float(v):+.4f}"
            markers.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>{escape(tip)}</title></circle>'
            )
        out.append(
            f'<g class="series series-{k}" data-series="{escape(s.name)}">'
            f'<path d="{" ".join(commands)}" fill="none" stroke="{colour}" stroke-width="2"'
            ' stroke-linejoin="round" stroke-linecap="round"/>' + "".join(markers) + "</g>"
        )

    # Legend, top right.
    x = right
    for k in reversed(range(len(series))):
        name = escape(series[k].name)
        x -= 16 + 7 * len(series[k].name) + 14
        out.append(
            f'<g class="legend-item"><rect x="{_fmt(x)}" y="8" width="12" height="12" rx="2"'
            f' fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="{_fmt(x + 16)}" y="18" fill="#111827">{name}</text></g>'
        )
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped


def score_history_svg(*, history: Sequence[dict], model_name: str) -> SafeString:
    """CORR and MMC per round for a model (rows from selectors.model_score_history)."""
    return line_chart_svg(
        x_labels=[f"R{row['round']}" for row in history],
        series=[
            Series("CORR", [row["corr"] for row in history]),
            Series("MMC", [row["mmc"] for row in history]),
        ],
        title=f"{model_name}: CORR and MMC per round",
        x_title="round",
    )


def pnl_chart_svg(*, points: Sequence[dict], title: str) -> SafeString:
    """A DEX round's vault return and the equal-weight benchmark's, in %, per mark
    (points from dex.selectors.round_pnl_series)."""

    def percent(value: float | None) -> float | None:
        return None if value is None else 100.0 * value

    return line_chart_svg(
        x_labels=[p["at"][11:19] for p in points],
        series=[
            Series("vault %", [percent(p["portfolio_return"]) for p in points]),
            Series("equal weight %", [percent(p["benchmark_return"]) for p in points]),
        ],
        title=title,
        x_title="mark (UTC)",
        chart_id="pnl-chart",
        empty_text="No marks yet: the vault trades at close",
    )
