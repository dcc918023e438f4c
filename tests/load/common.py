"""Shared parts of the load scripts: limits, the stack, Django in the script's own process,
and the figures they print."""

import os
import resource
import statistics
import sys
from pathlib import Path

from tests.production.stack import Stack, services_missing


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's (and its children's) open-file limit toward `wanted`: 1,000
    sockets on each side of a connection need more than the usual 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def require_services() -> None:
    missing = services_missing()
    if missing:
        sys.exit(f"the production profile is needed (PostgreSQL and Redis): {missing}")


def django_for(stack: Stack) -> None:
    """Configure Django in this process against the stack's database and Redis, so the script
    can set up data through the services and push updates exactly as a worker would."""
    os.environ.update(stack.env)
    import django

    django.setup()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values_s: list[float]) -> dict:
    if not values_s:
        return {"n": 0}
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
    }


def workdir(name: str) -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"arena-load-{name}-"))
