"""A decoding worker: `python -m tournaments.sandbox.child MEMORY_BYTES JOBS_MODULE`.

Imports JOBS_MODULE (its `JOBS` dict of name → function(context, payload) → (result, body),
and its `prepare()`) first, then limits its own address space to what those imports use
plus MEMORY_BYTES, and serves requests from stdin until stdin closes. Before each file it sets
its CPU-time soft limit to the time used so far plus the request's budget: a file that spins
the parser is killed by SIGXCPU. A MemoryError is reported and ends the worker (its heap may
be left fragmented); any other exception is reported and the worker serves the next file.

The protocol runs on a private copy of the stdout descriptor; fd 1 is pointed at stderr so a
stray print from a library cannot corrupt a frame.
"""

import importlib
import json
import math
import os
import resource
import sys
import traceback

from arena_client.validation import storable

from tournaments.sandbox.frames import read_frame_blocking, write_frame, write_json

# Exit status after a reported MemoryError, so the parent tells it from a crash.
EXIT_AFTER_MEMORY_ERROR = 3


def _address_space_in_use() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit_memory(headroom: int) -> None:
    limit = _address_space_in_use() + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _allow_cpu(seconds: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (used + seconds, hard))


def serve(memory_headroom: int, jobs_module: str) -> int:
    jobs = importlib.import_module(jobs_module)
    jobs.prepare()
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    _limit_memory(memory_headroom)
    contexts: dict[str, dict] = {}
    while True:
        header = read_frame_blocking(requests)
        payload = read_frame_blocking(requests)
        if header is None or payload is None:
            return 0
        request = json.loads(header)
        if request["op"] == "context":
            contexts.clear()  # one context at a time: the pool resends when it changes
            contexts[request["key"]] = json.loads(payload)
            continue
        job = jobs.JOBS[request["job"]]
        _allow_cpu(int(request["cpu_seconds"]))
        try:
            result, body = job(contexts[request["context"]], payload)
        except MemoryError:
            write_json(replies, {"status": "memory"})
            write_frame(replies, b"")
            return EXIT_AFTER_MEMORY_ERROR
        except Exception as error:  # noqa: BLE001 - reported to the parent, which names it
            last = traceback.extract_tb(error.__traceback__)[-1:]
            where = f" at {last[0].name}" if last else ""
            write_json(
                replies,
                {
                    "status": "error",
                    "detail": storable(f"{type(error).__name__}{where}: {error}"[:500]),
                },
            )
            write_frame(replies, b"")
            continue
        write_json(replies, {"status": "ok", **result})
        write_frame(replies, body)


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), sys.argv[2]))
