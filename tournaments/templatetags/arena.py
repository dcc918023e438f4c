"""Display helpers for the site: token amounts, scores, durations, state badges."""

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.money import wei_to_tokens

register = template.Library()

TOKEN_PLACES = Decimal("0.0001")


def format_tokens(wei: int | None, *, signed: bool = False) -> str:
    """Wei → tokens with thousands separators and at most 4 decimals (truncated, never rounded up)."""
    if wei is None or wei == "":
        return "—"
    tokens = wei_to_tokens(int(wei))
    shown = tokens.copy_abs().quantize(TOKEN_PLACES, rounding=ROUND_DOWN)
    text = f"{shown:,.4f}".rstrip("0").rstrip(".")
    if tokens < 0 and (signed or shown != 0):
        return f"−{text}"
    if tokens > 0 and signed:
        return f"+{text}"
    return text


@register.filter
def tokens(wei: int | None) -> str:
    """`{{ model.stake|tokens }}` → "1,234.5"."""
    return format_tokens(wei)


@register.filter
def signed_tokens(wei: int | None) -> str:
    """Payouts: "+1.25" for a reward, "−0.5" for a burn."""
    return format_tokens(wei, signed=True)


@register.filter
def score(value: float | None, places: int = 4) -> str:
    """A correlation-like score with a sign and fixed decimals; "—" when missing."""
    if value is None or value == "":
        return "—"
    return f"{float(value):+.{int(places)}f}".replace("-", "−")


@register.filter
def duration(value: timedelta | None) -> str:
    """`timedelta(days=7)` → "7 days"; `timedelta(minutes=90)` → "1 hour 30 minutes"."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0 seconds"
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2])


@register.filter
def state_badge(state: str) -> SafeString:
    """A round or submission state as a coloured badge (colours in static/css/arena.css)."""
    return format_html('<span class="badge state-{}">{}</span>', state, state)


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:+.2f}%".replace("-", "−")
