"""Crash injection for the settlement's crash tests (tests/production/test_settlement_crashes.py).

With ARENA_CRASH_AFTER unset — always, outside those tests — `after_mined` does nothing.
Set, it lists `label prefix:occurrence` pairs (comma-separated, e.g.
`post commitments root:1,apply:1,apply:2`): right after the n-th mined transaction whose
label starts with that prefix, the process kills its whole process group with SIGKILL (a
Celery worker and its pool children die together, as in a power cut). Occurrences are
counted across restarts in files under ARENA_CRASH_MARKS, and each point fires once, so a
restarted worker goes on past it. The kill comes after the transaction is on-chain and
before the platform has recorded it: exactly the gap the keeper's chain-first checks exist
for.
"""

import os
import signal
from pathlib import Path


def _points() -> dict[str, set[int]]:
    spec = os.environ.get("ARENA_CRASH_AFTER", "")
    points: dict[str, set[int]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        prefix, _, occurrence = item.rpartition(":")
        if prefix and occurrence.isdigit():  # anything else is ignored, never raised on
            points.setdefault(prefix, set()).add(int(occurrence))
    return points


def after_mined(label: str) -> None:
    """Call after a transaction labelled `label` was mined successfully."""
    if not (os.environ.get("ARENA_CRASH_AFTER") and os.environ.get("ARENA_CRASH_MARKS")):
        return  # both or nothing: a half-armed setting must not turn mined txs into errors
    marks = Path(os.environ["ARENA_CRASH_MARKS"])
    marks.mkdir(parents=True, exist_ok=True)
    for prefix, occurrences in _points().items():
        if not label.startswith(prefix):
            continue
        counter = marks / f"count-{prefix.replace(' ', '_')}"
        seen = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(seen))
        fired = marks / f"fired-{prefix.replace(' ', '_')}-{seen}"
        if seen in occurrences and not fired.exists():
            fired.write_text(label)
            os.killpg(os.getpgid(0), signal.SIGKILL)
