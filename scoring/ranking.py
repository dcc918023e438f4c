"""Tie-kept gaussian ranks of every model column in one threaded pass.

Numerai's transform of a prediction column of length M is::

    r_i   = average rank of x_i among the column (ties share the mean of their positions, 1-based)
    g_i   = Φ⁻¹((r_i − 0.5) / M)                      (gauss rank; Φ⁻¹ = normal ppf = ndtri)
    g'_i  = sign(g_i) · |g_i| ** 1.5                  (the "pow 1.5" used by CORR)

Because 2·r_i is an integer in [2, 2M], g and g' are looked up in two tables of 2M+1 entries
built once per M; no ppf or power is ever evaluated per element. The tables are computed with
the same floating-point operations as numerai-tools, so the results are bit-identical to
``gaussian(tie_kept_rank(df))`` and its 1.5 power.

The expensive part is one sort per column. ``argsort`` moves 16-byte key/index pairs and is
about twice as slow as a plain SIMD sort of int64, so we sort int64 *keys* that carry the row
index in their low b bits (b = bit length of M−1)::

    key = (order-preserving integer image of x, low b bits cleared) | row

Two different values can only be confused if they agree in all 64−b kept bits (≥ 51 bits for
M ≤ 8192). Such runs, and true ties, show up after the sort as neighbours with equal high
bits; only those columns are settled with the real values (with an exact stable argsort of
the column if the packed order turned out wrong). Work is split into blocks of columns,
transposed tile by tile into a contiguous slab and processed by a small thread pool: numpy
releases the GIL inside sorts, ufuncs and fancy indexing, so the threads run in parallel.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from scoring.inputs import as_prediction_matrix, column_labels, raise_if_non_finite_columns

# About 1 MiB of float64 per slab: a block of columns and its scratch stay in L2/L3 while
# the per-block Python overhead stays negligible.
_BLOCK_ELEMENTS = 1 << 17
_MAX_BLOCK_COLUMNS = 256
# Elements per transposition tile: a tile of the source stays in L1/L2 while it is copied.
_TILE_ELEMENTS = 1 << 14
# Below this many elements threading costs more than it saves.
_THREADING_MIN_ELEMENTS = 1 << 17

_MAGNITUDE_BITS = np.int64(0x7FFF_FFFF_FFFF_FFFF)


@dataclass(frozen=True)
class RankTables:
    """Lookup tables indexed by k = 2·(average 1-based rank), k ∈ [2, 2M].

    ``gauss[k] = Φ⁻¹((k − 1) / 2M)`` which is exactly ``Φ⁻¹((r − 0.5) / M)`` for r = k/2:
    numerator and denominator are both doubled, so the correctly rounded quotient is the
    same float. ``powered[k] = sign(gauss[k]) · |gauss[k]|^1.5``. Entries 0 and 1 are unused.
    """

    n_rows: int
    gauss: np.ndarray
    powered: np.ndarray


@lru_cache(maxsize=16)
def rank_tables(n_rows: int) -> RankTables:
    """Build (and cache) the gauss and pow-1.5 lookup tables for columns of ``n_rows`` values."""
    doubled_rank = np.arange(2 * n_rows + 1, dtype=np.float64)
    gauss = np.zeros(2 * n_rows + 1)
    gauss[2:] = ndtri((doubled_rank[2:] - 1.0) / (2.0 * n_rows))
    # The very same expression numerai-tools applies to the gaussianized frame.
    powered = np.sign(gauss) * np.abs(gauss) ** 1.5
    gauss.flags.writeable = False
    powered.flags.writeable = False
    return RankTables(n_rows=n_rows, gauss=gauss, powered=powered)


@dataclass(frozen=True)
class RankedColumns:
    """Output of :func:`rank_columns`, models as rows (N, M), C-contiguous.

    ``outputs[name]`` is the transformed matrix for each requested table name; ``sums`` and
    ``sums_of_squares`` hold Σ_i and Σ_i² of each output row (needed for Pearson).
    ``non_finite`` lists the positions of columns that held NaN or ±inf (their outputs are
    meaningless; callers raise).
    """

    outputs: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]
    sums_of_squares: dict[str, np.ndarray]
    non_finite: np.ndarray


def default_threads() -> int:
    """CPUs this process may run on (the ranking pass is CPU-bound)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def rank_columns(
    matrix: np.ndarray,
    tables: tuple[str, ...] = ("gauss",),
    *,
    threads: int | None = None,
) -> RankedColumns:
    """Tie-kept average ranks of every column of ``matrix`` (M, N), mapped through tables.

    ``tables`` names attributes of :class:`RankTables` (``"gauss"``, ``"powered"``); each gets
    an (N, M) output. ``matrix`` may have any real dtype and either memory order; an
    F-ordered float64 matrix (each model's column contiguous) skips the transposition.
    Precondition: M >= 2 and N >= 1 (checked by the callers).
    """
    n_rows, n_models = matrix.shape
    block = int(max(1, min(n_models, _MAX_BLOCK_COLUMNS, _BLOCK_ELEMENTS // n_rows)))
    plan = _BlockPlan(rank_tables(n_rows), tables, block)
    result = RankedColumns(
        outputs={name: np.empty((n_models, n_rows)) for name in tables},
        sums={name: np.empty(n_models) for name in tables},
        sums_of_squares={name: np.empty(n_models) for name in tables},
        non_finite=np.empty(0, dtype=np.intp),
    )
    starts = iter(range(0, n_models, block))
    lock = threading.Lock()
    non_finite: list[np.ndarray] = []

    def work() -> None:
        # Each worker owns its scratch and pulls blocks until none are left, so a core slowed
        # down by another process simply takes fewer blocks.
        ranker = _BlockRanker(plan)
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            bad = ranker.run(matrix, start, min(start + block, n_models), result)
            if len(bad):
                with lock:
                    non_finite.append(bad + start)

    n_threads = default_threads() if threads is None else max(1, threads)
    n_threads = min(n_threads, -(-n_models // block))
    if n_threads == 1 or n_rows * n_models < _THREADING_MIN_ELEMENTS:
        work()
    else:
        with ThreadPoolExecutor(n_threads, thread_name_prefix="scoring-rank") as pool:
            for future in [pool.submit(work) for _ in range(n_threads)]:
                future.result()
    if non_finite:
        bad_columns = np.sort(np.concatenate(non_finite))
        return RankedColumns(result.outputs, result.sums, result.sums_of_squares, bad_columns)
    return result


class _BlockPlan:
    """Read-only data shared by every worker: tables and their tie-free sorted values."""

    def __init__(self, lookup: RankTables, tables: tuple[str, ...], block: int) -> None:
        self.n_rows = lookup.n_rows
        self.block = block
        self.row_mask = np.int64((1 << max(1, (self.n_rows - 1).bit_length())) - 1)
        self.tables = {name: getattr(lookup, name) for name in tables}
        # A tie-free column's values in sorted order are table[2·(k+1)], k = 0..M-1, the
        # same for every such column: tile them once and scatter straight from the tile.
        tie_free = {name: table[2::2] for name, table in self.tables.items()}
        self.tie_free_sum = {name: float(v.sum()) for name, v in tie_free.items()}
        self.tie_free_sumsq = {name: float(v @ v) for name, v in tie_free.items()}
        self.tiled = {name: np.tile(v, block) for name, v in tie_free.items()}
        self.row_numbers = np.arange(self.n_rows, dtype=np.int64)
        self.row_offsets = (np.arange(block, dtype=np.int64) * self.n_rows)[:, None]
        self.tile_rows = max(64, _TILE_ELEMENTS // block)


class _BlockRanker:
    """One worker's scratch space and the per-block pipeline of :func:`rank_columns`."""

    def __init__(self, plan: _BlockPlan) -> None:
        self.plan = plan
        shape = (plan.block, plan.n_rows)
        self.slab = np.empty(shape)
        self.keys = np.empty(shape, dtype=np.int64)
        self.index = np.empty(shape, dtype=np.int64)
        self.flags = np.empty((plan.block, plan.n_rows - 1), dtype=np.bool_)

    def run(self, matrix: np.ndarray, start: int, stop: int, result: RankedColumns
            ) -> np.ndarray:
        """Rank columns [start, stop) into ``result``; return local positions of bad columns."""
        plan = self.plan
        width = stop - start
        slab = self._load(matrix, start, stop)

        # A row sum is finite iff every value is (barring overflow, re-checked exactly).
        suspicious = np.flatnonzero(~np.isfinite(slab.sum(axis=1)))
        if len(suspicious):
            bad = suspicious[~np.isfinite(slab[suspicious]).all(axis=1)]
            if len(bad):
                return bad

        keys = self._sortable_keys(slab)
        keys.sort(axis=1)

        # Neighbours whose keys agree above the row bits are a tie, or two values that agree
        # in every kept bit: only those columns need their real values looked at.
        index = self.index[:width]
        flags = self.flags[:width]
        np.bitwise_xor(keys[:, 1:], keys[:, :-1], out=index[:, :-1])
        np.less_equal(index[:, :-1].view(np.uint64), plan.row_mask.astype(np.uint64),
                      out=flags)
        needs_values = np.flatnonzero(flags.any(axis=1))

        np.bitwise_and(keys, plan.row_mask, out=index)  # sorted position -> row
        runs = self._tie_runs(slab, index, needs_values) if len(needs_values) else None

        np.add(index, plan.row_offsets[:width], out=index)
        flat_index = index.ravel()
        for name, table in plan.tables.items():
            values = plan.tiled[name][: width * plan.n_rows]
            result.sums[name][start:stop] = plan.tie_free_sum[name]
            result.sums_of_squares[name][start:stop] = plan.tie_free_sumsq[name]
            if runs is not None:
                tied_values, tied_sums, tied_sums_of_squares = runs.values(table)
                if len(needs_values) == width:
                    values = tied_values.ravel()
                else:
                    values = values.reshape(width, plan.n_rows).copy()
                    values[needs_values] = tied_values
                    values = values.ravel()
                result.sums[name][start + needs_values] = tied_sums
                result.sums_of_squares[name][start + needs_values] = tied_sums_of_squares
            result.outputs[name][start:stop].ravel()[flat_index] = values
        return np.empty(0, dtype=np.intp)

    def _load(self, matrix: np.ndarray, start: int, stop: int) -> np.ndarray:
        """The block's columns as contiguous float64 rows (a view when already laid out so)."""
        transposed = matrix.T[start:stop]
        if transposed.flags.c_contiguous and transposed.dtype == np.float64:
            return transposed
        slab = self.slab[: stop - start]
        if matrix.T.flags.c_contiguous:  # F-ordered source of another dtype: a plain cast
            np.copyto(slab, transposed, casting="unsafe")
            return slab
        # C-ordered source: transpose tile by tile so reads and writes both stay in cache.
        step = self.plan.tile_rows
        for row in range(0, self.plan.n_rows, step):
            np.copyto(slab[:, row:row + step], matrix[row:row + step, start:stop].T,
                      casting="unsafe")
        return slab

    def _sortable_keys(self, slab: np.ndarray) -> np.ndarray:
        """Packed int64 keys (see the module docstring) in ``self.keys``."""
        plan = self.plan
        bits = slab.view(np.int64)
        keys = self.keys[: slab.shape[0]]
        if bits.min() >= 0:
            # No sign bit anywhere (not even -0.0): non-negative floats' bits, read as
            # integers, are already in value order.
            np.bitwise_and(bits, ~plan.row_mask, out=keys)
        else:
            # Negative floats: flip the magnitude bits (bigger magnitude -> smaller key) and
            # add 1, which maps -0.0 onto +0.0's key 0 so that the two tie.
            negative = self.index[: slab.shape[0]]
            np.right_shift(bits, 63, out=negative)  # -1 where negative, else 0
            np.bitwise_and(negative, _MAGNITUDE_BITS, out=keys)
            np.bitwise_xor(keys, bits, out=keys)
            np.subtract(keys, negative, out=keys)
            np.bitwise_and(keys, ~plan.row_mask, out=keys)
        np.bitwise_or(keys, plan.row_numbers, out=keys)
        return keys

    def _tie_runs(self, slab: np.ndarray, index: np.ndarray, rows: np.ndarray) -> _TieRuns:
        """Runs of equal values, in sorted order, of the given slab rows (fixing ``index`` if
        a packed order was wrong).

        A run occupying 0-based sorted positions s..e shares the average 1-based rank
        (s + e + 2) / 2, so its table index is k = s + e + 2.
        """
        n_rows = self.plan.n_rows
        every_row = len(rows) == index.shape[0]  # typical of binned predictions: no copy
        order = index if every_row else index[rows]
        flat_source = order + (rows * n_rows)[:, None]
        values = slab.ravel().take(flat_source)
        for local in np.flatnonzero((values[:, 1:] < values[:, :-1]).any(axis=1)):
            # Two different values agreed in every packed bit: sort this column for real.
            row = rows[local]
            index[row] = np.argsort(slab[row], kind="stable")
            values[local] = slab[row][index[row]]
        starts_run = np.empty(values.shape, dtype=np.bool_)
        starts_run[:, 0] = True
        np.not_equal(values[:, 1:], values[:, :-1], out=starts_run[:, 1:])
        flat_starts = starts_run.ravel()
        # Positions over all the given rows laid end to end; every row opens a new run.
        starts = np.flatnonzero(flat_starts)
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:] - 1
        ends[-1] = flat_starts.size - 1
        run_rows = starts // n_rows
        doubled_ranks = starts + ends - 2 * run_rows * n_rows + 2
        run_ids = np.cumsum(flat_starts).reshape(values.shape) - 1
        return _TieRuns(run_ids, doubled_ranks, run_rows, ends - starts + 1, len(rows))


@dataclass(frozen=True)
class _TieRuns:
    """Runs of tied values of some columns: ``run_ids`` (columns, M) maps each sorted
    position to its run; per run, its table index 2·rank, its column and its length."""

    run_ids: np.ndarray
    doubled_ranks: np.ndarray
    run_rows: np.ndarray
    lengths: np.ndarray
    n_columns: int

    def values(self, table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values in sorted order, Σ values, Σ values²) per column, through ``table``."""
        per_run = table[self.doubled_ranks]
        weights = per_run * self.lengths
        sums = np.bincount(self.run_rows, weights=weights, minlength=self.n_columns)
        sums_of_squares = np.bincount(self.run_rows, weights=weights * per_run,
                                      minlength=self.n_columns)
        return per_run[self.run_ids], sums, sums_of_squares


def gauss_rank(predictions: ArrayLike, *, threads: int | None = None) -> np.ndarray:
    """Tie-kept gauss rank of each column: Φ⁻¹((average rank − 0.5) / M).

    ``predictions`` is (M,) or (M, N); the result has the same shape (an F-ordered array for
    2-D input). Equals ``numerai_tools.scoring.gaussian(tie_kept_rank(df))`` bit for bit.
    Raises ``ValueError`` on NaN/inf (naming the columns) or M < 2.
    """
    matrix = as_prediction_matrix(predictions)
    ranked = rank_columns(matrix, ("gauss",), threads=threads)
    raise_if_non_finite_columns(
        ranked.non_finite, column_labels(predictions, matrix.shape[1]), "predictions"
    )
    gauss = ranked.outputs["gauss"].T
    return gauss[:, 0] if np.ndim(predictions) == 1 else gauss
