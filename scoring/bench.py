"""Benchmark: the engine against numerai-tools on one synthetic era, in one run.

    .venv/bin/python -m scoring.bench                      # M=5,000 x N=5,000, then N=20,000
    .venv/bin/python -m scoring.bench --rows 2000 --models 1000 --big-models 0
    .venv/bin/python -m scoring.bench --skip-reference     # ours only
    .venv/bin/python -m scoring.bench --reference-models 500   # time numerai-tools on 500
                                                                # columns, scale linearly

Prints, side by side, numerai-tools' time and ours for CORR, the meta-model and MMC (each
function on its own from raw predictions, then ours as one shared ranking pass), the daily
re-score time, peak extra memory, and the same for a wider era (ours only).

Timings of ours: one cold run (on a fresh process it also pays for first-touching its output
pages), then ``--repeats`` warm runs reported as median and best, with the CPU seconds spent
over all threads. The machine is shared with other work: wall time above CPU time / threads
means the threads were waiting for a core. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from scoring.contribution import meta_model, mmc
from scoring.correlation import numerai_corr
from scoring.era import prepare_era
from scoring.ranking import default_threads

TARGETS = {"pipeline_s": 0.5, "speedup": 15.0, "rescore_s": 0.050, "memory_ratio": 3.0}


def synthetic_era(n_rows: int, n_models: int, seed: int, *, kind: str = "unit"
                  ) -> dict[str, np.ndarray]:
    """One era: a latent signal, a 5-bucket target, N noisy models, exponential stakes.

    ``kind``: "unit" — predictions in (0, 1), as Numerai requires of submissions;
    "signed" — unbounded normal predictions (the engine's longer sign-aware key path);
    "five_valued" — predictions binned to {0, .25, .5, .75, 1} (every column heavily tied).
    """
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal(n_rows)
    buckets = [-1.2, -0.4, 0.4, 1.2]
    target = np.digitize(signal + rng.standard_normal(n_rows), buckets) / 4
    next_target = np.digitize(signal + rng.standard_normal(n_rows), buckets) / 4
    predictions = rng.standard_normal((n_rows, n_models))
    predictions += signal[:, None] * rng.uniform(0.0, 0.3, n_models)
    if kind == "unit":
        predictions = ndtr(predictions, out=predictions)
    elif kind == "five_valued":
        predictions = np.digitize(predictions, [-1.0, -0.3, 0.3, 1.0]) / 4
    elif kind != "signed":
        raise ValueError(f"unknown era kind {kind!r}")
    return {
        "predictions": predictions,
        "target": target,
        "next_target": next_target,
        "stakes": rng.exponential(100.0, n_models),
    }


def timed(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, process CPU seconds over all threads, result)."""
    start_cpu = time.process_time()
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, time.process_time() - start_cpu, result


@dataclass
class Timing:
    """A cold run, then the median and best wall time and median CPU time of warm runs."""

    cold: float
    median: float
    best: float
    cpu: float
    result: Any

    def describe(self) -> str:
        return (f"median {self.median:.3f} s, best {self.best:.3f} s, "
                f"CPU {self.cpu:.3f} s, cold {self.cold:.3f} s")


def repeat_timed(function: Callable[[], Any], repeats: int) -> Timing:
    cold, _, result = timed(function)
    walls, cpus = [], []
    for _ in range(repeats):
        del result
        gc.collect()
        wall, cpu, result = timed(function)
        walls.append(wall)
        cpus.append(cpu)
    return Timing(cold, statistics.median(walls), min(walls), statistics.median(cpus), result)


def peak_extra_bytes(function: Callable[[], Any]) -> int:
    """Peak bytes allocated while ``function`` runs, as seen by tracemalloc (numpy reports
    its array buffers to tracemalloc), including what the result keeps alive."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    result = function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak - baseline


def rss_peak_extra_bytes(function: Callable[[], Any]) -> int | None:
    """Same, from the kernel's resident-set high-water mark (reset via /proc/self/clear_refs);
    None where that reset is unavailable."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    result = function()
    peak = _status_kib("VmHWM")
    del result
    return (peak - before) * 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def describe_machine() -> str:
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
             f"{default_threads()} ranking threads, numpy {np.__version__}"]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(f"BLAS: {pool.get('internal_api')} {pool.get('version')}, "
                             f"kernel {pool.get('architecture')}, {pool.get('num_threads')} "
                             f"threads")
    except ImportError:  # threadpoolctl comes with the test dependencies only
        lines.append("BLAS: (install threadpoolctl to see which kernel runs)")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"):
        if name in os.environ:
            lines.append(f"{name}={os.environ[name]}")
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def reference_times(era: dict[str, np.ndarray], n_reference: int) -> dict[str, Any]:
    """numerai-tools' CORR, meta-model and MMC on the first ``n_reference`` columns."""
    import pandas as pd
    from numerai_tools import scoring as nt

    columns = [f"model_{j}" for j in range(n_reference)]
    frame = pd.DataFrame(era["predictions"][:, :n_reference], columns=columns)
    target = pd.Series(era["target"], name="target")
    stakes = pd.Series(era["stakes"][:n_reference], index=columns)
    corr_time, _, corr = timed(lambda: nt.numerai_corr(frame, target))
    meta_time, _, meta = timed(
        lambda: nt.stake_weight(nt.gaussian(nt.tie_kept_rank(frame)), stakes))
    mmc_time, _, contribution = timed(
        lambda: nt.correlation_contribution(frame, meta, target))
    return {"corr": corr_time, "meta": meta_time, "mmc": mmc_time,
            "values": (corr.to_numpy(), meta.to_numpy(), contribution.to_numpy())}


def time_pipeline(era: dict[str, np.ndarray], repeats: int, threads: int | None
                  ) -> tuple[Timing, list[float]]:
    """prepare_era + score from raw predictions, then 10 re-scores against a new target."""
    predictions, target, stakes = era["predictions"], era["target"], era["stakes"]

    def pipeline():
        ranked = prepare_era(predictions, stakes, threads=threads)
        return ranked, ranked.score(target)

    timing = repeat_timed(pipeline, repeats)
    ranked = timing.result[0]
    rescores = [timed(lambda: ranked.score(era["next_target"]))[0] for _ in range(10)]
    return timing, rescores


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scoring.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000, help="M, rows in the era")
    parser.add_argument("--models", type=int, default=5000, help="N, models in the era")
    parser.add_argument("--big-models", type=int, default=20000,
                        help="N of the wider era timed for ours only (0 skips it)")
    parser.add_argument("--skip-reference", action="store_true",
                        help="do not run numerai-tools")
    parser.add_argument("--reference-models", type=int, default=None,
                        help="run numerai-tools on this many columns and scale linearly")
    parser.add_argument("--repeats", type=int, default=5,
                        help="warm timed runs of ours (median and best are shown)")
    parser.add_argument("--threads", type=int, default=None, help="ranking threads")
    parser.add_argument("--skip-variants", action="store_true",
                        help="skip the F-ordered / signed / 5-valued variants")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def verdict(label: str, ok: bool) -> str:
    return f"{label}: {'yes' if ok else 'NO'}"


def compare(era: dict[str, np.ndarray], args: argparse.Namespace) -> list[str]:
    """The side-by-side table for one era; returns the verdicts on the targets."""
    predictions, target, stakes = era["predictions"], era["target"], era["stakes"]
    threads = args.threads
    ours = {
        "corr": repeat_timed(lambda: numerai_corr(predictions, target, threads=threads),
                             args.repeats),
        "meta": repeat_timed(lambda: meta_model(predictions, stakes, threads=threads),
                             args.repeats),
    }
    meta = ours["meta"].result
    ours["mmc"] = repeat_timed(lambda: mmc(predictions, meta, target, threads=threads),
                               args.repeats)
    pipeline, rescores = time_pipeline(era, args.repeats, threads)

    reference: dict[str, Any] | None = None
    n_reference = min(args.reference_models or args.models, args.models)
    scale = args.models / n_reference
    if not args.skip_reference:
        reference = reference_times(era, n_reference)

    print("\n(ours: median of warm runs)  numerai-tools        ours     speed-up")
    for label, key in (("CORR", "corr"), ("meta-model", "meta"), ("MMC", "mmc")):
        warm = ours[key].median
        theirs = f"{reference[key] * scale:>12.2f} s" if reference else f"{'-':>14}"
        ratio = f"{reference[key] * scale / warm:>9.1f}x" if reference else ""
        print(f"{label:<28} {theirs} {warm:>10.3f} s {ratio}")
    verdicts = [
        verdict(f"CORR+meta-model+MMC median {pipeline.median:.3f} s <= "
                f"{TARGETS['pipeline_s']} s", pipeline.median <= TARGETS["pipeline_s"]),
        verdict(f"best {pipeline.best:.3f} s <= {TARGETS['pipeline_s']} s",
                pipeline.best <= TARGETS["pipeline_s"]),
    ]
    if reference is not None:
        total_theirs = (reference["corr"] + reference["meta"] + reference["mmc"]) * scale
        speedup = total_theirs / pipeline.median
        print(f"{'all three (one ranking pass)':<28} {total_theirs:>12.2f} s "
              f"{pipeline.median:>10.3f} s {speedup:>9.1f}x")
        if scale != 1.0:
            print(f"  numerai-tools was timed on {n_reference:,} of {args.models:,} columns "
                  f"and scaled linearly (x{scale:.2f}); ours ran on all columns.")
        corr_ref, meta_ref, mmc_ref = reference["values"]
        gaps = (
            np.abs(ours["corr"].result[:n_reference] - corr_ref).max(),
            np.abs(meta_model(predictions[:, :n_reference], stakes[:n_reference])
                   - meta_ref).max(),
            np.abs(mmc(predictions[:, :n_reference], meta_ref, target) - mmc_ref).max(),
        )
        print(f"  max |ours - numerai-tools|: CORR {gaps[0]:.1e}, meta-model {gaps[1]:.1e}, "
              f"MMC {gaps[2]:.1e}")
        verdicts.append(verdict(f"speed-up {speedup:.1f}x >= {TARGETS['speedup']:.0f}x",
                                speedup >= TARGETS["speedup"]))
    print(f"  ours, prepare_era + score from raw predictions: {pipeline.describe()}")
    rescore = statistics.median(rescores)
    print(f"daily re-score (same predictions, new target): median {rescore * 1e3:.1f} ms, "
          f"worst {max(rescores) * 1e3:.1f} ms of 10")
    verdicts.append(verdict(f"re-score {rescore * 1e3:.1f} ms <= 50 ms",
                            rescore <= TARGETS["rescore_s"]))
    return verdicts


def measure_memory(era: dict[str, np.ndarray], threads: int | None) -> str:
    predictions = era["predictions"]

    def pipeline():
        ranked = prepare_era(predictions, era["stakes"], threads=threads)
        return ranked, ranked.score(era["target"])

    traced = peak_extra_bytes(pipeline)
    resident = rss_peak_extra_bytes(pipeline)
    ratio = traced / predictions.nbytes
    print(f"peak extra memory (prepare_era + score, RankedEra kept): tracemalloc "
          f"{traced / 2**20:,.0f} MiB = {ratio:.2f}x the predictions"
          + (f"; resident-set high-water mark +{resident / 2**20:,.0f} MiB = "
             f"{resident / predictions.nbytes:.2f}x" if resident is not None else ""))
    if predictions.nbytes < 64 * 2**20:
        print("  (small era: a few MiB of per-thread scratch weigh more than the matrix, and "
              "heap reuse hides allocations from the resident-set figure)")
    return verdict(f"memory {ratio:.2f}x <= {TARGETS['memory_ratio']:.0f}x",
                   ratio <= TARGETS["memory_ratio"])


def fortran_ordered(era: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {**era, "predictions": np.asfortranarray(era["predictions"])}


def measure_variants(args: argparse.Namespace) -> None:
    """prepare_era + score on another layout and other value kinds of the same size."""
    print("variants of the same size, prepare_era + score:")
    variants: list[tuple[str, Callable[[], dict[str, np.ndarray]]]] = [
        ("same era, F-ordered (model columns contiguous)",
         lambda: fortran_ordered(synthetic_era(args.rows, args.models, args.seed))),
        ("signed predictions (normal, unbounded)",
         lambda: synthetic_era(args.rows, args.models, args.seed + 1, kind="signed")),
        ("5-valued predictions (every column tied)",
         lambda: synthetic_era(args.rows, args.models, args.seed + 1, kind="five_valued")),
    ]
    for label, make_era in variants:
        timing, _ = time_pipeline(make_era(), args.repeats, args.threads)
        print(f"  {label:<48} {timing.describe()}")


def measure_big(args: argparse.Namespace) -> None:
    big = synthetic_era(args.rows, args.big_models, args.seed + 2)
    print(f"\nera: M={args.rows:,} x N={args.big_models:,} (ours only, "
          f"{big['predictions'].nbytes / 2**20:,.0f} MiB)")
    timing, rescores = time_pipeline(big, max(1, args.repeats // 2), args.threads)
    print(f"prepare_era + score: {timing.describe()}")
    print(f"re-score: median {statistics.median(rescores) * 1e3:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    print(describe_machine())
    print(f"load average before: {load_average()}")
    era = synthetic_era(args.rows, args.models, args.seed)
    print(f"\nera: M={args.rows:,} rows x N={args.models:,} models, float64 C-ordered "
          f"({era['predictions'].nbytes / 2**20:,.0f} MiB), predictions in (0, 1)")
    verdicts = compare(era, args)
    verdicts.append(measure_memory(era, args.threads))
    del era
    print("targets: " + "; ".join(verdicts))
    if not args.skip_variants:
        measure_variants(args)
    if args.big_models:
        measure_big(args)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
