"""The parent's side: a pool of decoding workers, each a `tournaments.sandbox.child` process."""

import atexit
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tournaments.sandbox.child import EXIT_AFTER_MEMORY_ERROR
from tournaments.sandbox.frames import (
    FrameEOF,
    FrameReader,
    FrameTimeout,
    FrameTooLarge,
    write_frame,
    write_json,
)

K = TypeVar("K")

# Where `python -m tournaments.sandbox.child` resolves: the directory holding `tournaments/`.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_REPLY_HEADER_BYTES = 1024 * 1024
# A worker is retired after this many files, so a slowly fragmenting heap never nears its limit.
TASKS_PER_WORKER = 500
IDLE_POOL_SECONDS = 60


@dataclass(frozen=True)
class DecodeLimits:
    """`memory_bytes`: address space a worker may use beyond what its imports take;
    `cpu_seconds`: CPU time for one file; `wall_seconds`: time the parent waits for one file;
    `workers`: files decoded at once; `max_body_bytes`: the largest reply body accepted."""

    memory_bytes: int = 1024 * 1024 * 1024
    cpu_seconds: int = 20
    wall_seconds: float = 60.0
    workers: int = 2
    max_body_bytes: int = 256 * 1024 * 1024
    jobs_module: str = "tournaments.sandbox.jobs"


@dataclass(frozen=True)
class DecodeContext:
    """What every file of a batch is judged against (e.g. a round's live ids), serialized
    once and sent to each worker once."""

    key: str
    data: bytes

    @classmethod
    def of(cls, value: Any) -> "DecodeContext":
        data = json.dumps(value, separators=(",", ":")).encode()
        return cls(hashlib.sha256(data).hexdigest(), data)


@dataclass(frozen=True)
class Outcome:
    """How one file went. `status`: "ok" (the job's `result` and `body`), "error" (the job
    raised; `detail` names the exception), "memory" (out of memory), "cpu" (CPU-time limit),
    "time" (wall-clock limit), or "crashed" (the worker died some other way)."""

    status: str
    result: dict = field(default_factory=dict)
    body: bytes = b""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _Worker:
    def __init__(self, limits: DecodeLimits) -> None:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONDONTWRITEBYTECODE": "1",
                # The system allocator fails cleanly at the address-space limit.
                "ARROW_DEFAULT_MEMORY_POOL": "system",
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
                "MALLOC_ARENA_MAX": "2",
            }
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tournaments.sandbox.child",
                str(limits.memory_bytes),
                limits.jobs_module,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=_PROJECT_ROOT,
            env=env,
        )
        self.reader = FrameReader(self.process.stdout.fileno())
        self.context_key: str | None = None
        self.tasks = 0
        self.limits = limits

    def run(self, job: str, context: DecodeContext, payload: bytes) -> Outcome:
        limits = self.limits
        try:
            if self.context_key != context.key:
                write_json(self.process.stdin, {"op": "context", "key": context.key})
                write_frame(self.process.stdin, context.data)
                self.context_key = context.key
            request = {"op": "run", "job": job, "context": context.key}
            write_json(self.process.stdin, request | {"cpu_seconds": limits.cpu_seconds})
            write_frame(self.process.stdin, payload)
            self.process.stdin.flush()
            deadline = time.monotonic() + limits.wall_seconds
            header = json.loads(self.reader.read(deadline, MAX_REPLY_HEADER_BYTES))
            body = self.reader.read(deadline, limits.max_body_bytes)
        except FrameTimeout:
            self.kill()
            return Outcome("time", detail=f"no answer within {limits.wall_seconds:g} s")
        except (FrameEOF, BrokenPipeError):
            return self._death()
        except (FrameTooLarge, ValueError) as error:
            self.kill()
            return Outcome("crashed", detail=f"unreadable reply: {error}")
        self.tasks += 1
        status = header.pop("status")
        if status == "memory":
            self.kill()
            return Outcome("memory", detail="the decoder ran out of memory")
        return Outcome(status, result=header, body=body, detail=header.pop("detail", ""))

    def _death(self) -> Outcome:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.returncode
        self.kill()
        if code == -signal.SIGXCPU:
            return Outcome("cpu", detail=f"CPU-time limit of {self.limits.cpu_seconds} s")
        if code in (EXIT_AFTER_MEMORY_ERROR, -signal.SIGKILL):
            # SIGKILL that the parent did not send is the kernel's out-of-memory killer.
            return Outcome("memory", detail="the decoder ran out of memory")
        return Outcome("crashed", detail=f"the decoder exited with status {code}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.reader.close()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class DecodePool:
    """Up to `limits.workers` workers; safe to call from several threads."""

    def __init__(self, limits: DecodeLimits) -> None:
        self.limits = limits
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limits.workers)
        self._closed = False
        self.owner_pid = os.getpid()
        self.started = 0  # workers started so far (tests read it)
        self.last_used = time.monotonic()

    def _take(self) -> _Worker:
        with self._lock:
            self._closed = False  # a pool closed while idle serves again when used
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                worker.kill()
            self.started += 1
        return _Worker(self.limits)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed or not worker.alive or worker.tasks >= TASKS_PER_WORKER:
                worker.kill()
            else:
                self._idle.append(worker)

    def decode(self, job: str, context: DecodeContext, payload: bytes) -> Outcome:
        """Run `job` on `payload` in a worker. A worker that had served other files and then
        ran out of memory or crashed gets the file once more in a fresh worker, so only a
        file that breaks a fresh worker is reported as breaking it."""
        with self._slots:
            worker = self._take()
            had_served = worker.tasks > 0
            outcome = worker.run(job, context, payload)
            if outcome.status in ("memory", "crashed") and had_served:
                worker.kill()
                with self._lock:
                    self.started += 1
                worker = _Worker(self.limits)
                outcome = worker.run(job, context, payload)
            self._give_back(worker)
            return outcome

    def decode_many(
        self, job: str, context: DecodeContext, items: Iterable[tuple[K, bytes]]
    ) -> Iterator[tuple[K, Outcome]]:
        """Decode every (key, payload) on all workers at once; yields (key, outcome) in the
        order of `items`. At most twice as many payloads as workers are held at a time, so
        `items` may be a generator that opens each file only when it is needed."""
        window = 2 * self.limits.workers
        pending: deque[tuple[K, Future]] = deque()
        with ThreadPoolExecutor(self.limits.workers, thread_name_prefix="decode") as threads:
            for key, payload in items:
                pending.append((key, threads.submit(self.decode, job, context, payload)))
                while len(pending) >= window:
                    done_key, future = pending.popleft()
                    yield done_key, future.result()
            while pending:
                done_key, future = pending.popleft()
                yield done_key, future.result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pools: dict[DecodeLimits, DecodePool] = {}
_pools_lock = threading.Lock()


def decode_pool(limits: DecodeLimits) -> DecodePool:
    """The process's pool for `limits`, one per distinct limits (predictions and sponsor data
    differ); after a fork the child starts its own, since workers belong to the process that
    started them."""
    with _pools_lock:
        pool = _pools.get(limits)
        if pool is None or pool.owner_pid != os.getpid():
            pool = _pools[limits] = DecodePool(limits)
            # Limits changed (settings differ between callers or tests): pools nobody used
            # for a while give their workers back to the machine.
            for other in _pools.values():
                if other is not pool and time.monotonic() - other.last_used > IDLE_POOL_SECONDS:
                    other.close()
        pool.last_used = time.monotonic()
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in list(_pools.values()):
        if pool.owner_pid == os.getpid():
            pool.close()
