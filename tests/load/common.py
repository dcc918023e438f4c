"""Shared parts of the load scripts: limits, the stack, Django in the script's own process,
and the figures they print."""

import os
import resource
import statistics
import sys
import threading
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


def processes_cpu_s(name: str) -> dict[int, float]:
    """CPU seconds used so far by every running process called `name` (its /proc comm), by
    pid: PostgreSQL's backends, say, whose CPU a burst spends as surely as the servers'."""
    found = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found[int(comm.parent.name)] = process_cpu_s(int(comm.parent.name))
        except (OSError, ValueError):
            continue  # it exited meanwhile
    return found


def cpu_used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the processes in `after` used since `before` (a process new since then: all of it)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class MachineSampler:
    """The whole machine's busy CPU (in cores), sampled every `interval` seconds from
    /proc/stat on a thread while a burst runs: a window where it drops to near zero is a
    stall (everyone waiting on the disk or a lock), not a lack of work."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.samples = interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _read() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values) - values[3] - values[4], sum(values)  # busy (not idle/iowait), all

    def _run(self) -> None:
        cores = os.cpu_count() or 1
        previous = self._read()
        while not self._stop.wait(self.interval):
            current = self._read()
            total = current[1] - previous[1]
            if total:
                self.samples.append(cores * (current[0] - previous[0]) / total)
            previous = current

    def __enter__(self) -> "MachineSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        if not self.samples:
            return {}
        return {"mean_cores": round(statistics.fmean(self.samples), 2),
                "min_cores": round(min(self.samples), 2),
                "stalled_windows": sum(1 for s in self.samples if s < 0.5)}


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
