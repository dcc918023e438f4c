"""The decoding sandbox: a job that exhausts memory, spins, hangs or crashes kills only its
worker, is reported as such, and the next file gets a fresh worker."""

import resource

import pytest

from tournaments.sandbox import DecodeContext, DecodeLimits, DecodePool

PROBES = "tests.sandbox.probe_jobs"
CONTEXT = DecodeContext.of({"round": 7})


def _pool(wall_seconds: int):
    limits = DecodeLimits(
        memory_bytes=200 * 1024 * 1024,
        cpu_seconds=2,
        wall_seconds=wall_seconds,
        workers=2,
        jobs_module=PROBES,
    )
    return DecodePool(limits)


@pytest.fixture
def pool():
    sandbox = _pool(wall_seconds=6)
    yield sandbox
    sandbox.close()


@pytest.fixture
def cpu_pool():
    # The CPU-budget tests get a generous wall clock: on a loaded machine (CI's test workers
    # on both cores) 2 s of CPU can take longer than 6 s of wall time, and the wall limit
    # would answer first.
    sandbox = _pool(wall_seconds=40)
    yield sandbox
    sandbox.close()


def test_a_job_gets_its_context_and_payload_back(pool):
    outcome = pool.decode("echo", CONTEXT, b"abc")
    assert outcome.status == "ok"
    assert outcome.result["context"] == {"round": 7}
    assert outcome.body == b"cba"


def test_workers_are_reused_and_get_a_new_context_when_it_changes(pool):
    first = pool.decode("echo", CONTEXT, b"1")
    second = pool.decode("echo", DecodeContext.of({"round": 8}), b"2")
    assert second.result["pid"] == first.result["pid"]
    assert second.result["context"] == {"round": 8}
    assert pool.started == 1


def test_memory_beyond_the_limit_kills_only_that_file(pool):
    within = pool.decode("allocate", CONTEXT, b"50")
    assert (within.status, within.result["sum"]) == ("ok", 50 * 1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = pool.decode("allocate", CONTEXT, b"2000")
    assert outcome.status == "memory"
    # The 2 GB were asked for in the worker, never in this process.
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 * 1024
    assert pool.decode("echo", CONTEXT, b"next").body == b"txen"


def test_a_file_that_spins_is_stopped_by_its_cpu_budget(cpu_pool):
    outcome = cpu_pool.decode("spin", CONTEXT, b"30")
    assert outcome.status == "cpu"
    assert outcome.detail == "CPU-time limit of 2 s"
    assert cpu_pool.decode("echo", CONTEXT, b"ok").status == "ok"


def test_the_cpu_budget_is_per_file_not_per_worker(cpu_pool):
    # Three files of 1.2 s each on one worker: 3.6 s in all, over the 2 s budget, yet each
    # file is within it.
    outcomes = [cpu_pool.decode("spin", CONTEXT, b"1.2") for _ in range(3)]
    assert [o.status for o in outcomes] == ["ok", "ok", "ok"]
    assert cpu_pool.started == 1


def test_a_file_that_hangs_is_stopped_by_the_wall_clock(pool):
    outcome = pool.decode("sleep", CONTEXT, b"60")
    assert outcome.status == "time"
    assert outcome.detail == "no answer within 6 s"
    assert pool.decode("echo", CONTEXT, b"ok").status == "ok"


def test_a_crash_is_reported_after_one_retry_on_a_fresh_worker(pool):
    pool.decode("echo", CONTEXT, b"warm")  # the crash now hits a worker that served a file
    outcome = pool.decode("crash", CONTEXT, b"")
    assert outcome.status == "crashed"
    assert outcome.detail == "the decoder exited with status -11"
    assert pool.started == 2  # the warm worker, then a fresh one for the retry
    assert pool.decode("echo", CONTEXT, b"ok").status == "ok"
    assert pool.started == 3


def test_an_exception_is_named_and_the_worker_goes_on(pool):
    outcome = pool.decode("fail", CONTEXT, b"some-key")
    assert outcome.status == "error"
    assert outcome.detail == "KeyError at fail: 'some-key'"
    assert pool.decode("echo", CONTEXT, b"ok").status == "ok"
    assert pool.started == 1


def test_stray_output_on_stdout_does_not_corrupt_replies(pool):
    outcome = pool.decode("chatter", CONTEXT, b"")
    assert (outcome.status, outcome.result) == ("ok", {"said": True})
    assert pool.decode("echo", CONTEXT, b"ok").body == b"ko"


def test_decode_many_keeps_the_order_and_isolates_each_failure(pool):
    sizes = [b"1", b"2000", b"1", b"1", b"2000", b"1"]
    many = list(pool.decode_many("allocate", CONTEXT, enumerate(sizes)))
    assert [key for key, _ in many] == list(range(6))
    assert [o.status for _, o in many] == ["ok", "memory", "ok", "ok", "memory", "ok"]
