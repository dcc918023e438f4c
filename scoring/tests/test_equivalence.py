"""The engine equals numerai-tools' published scoring on random and edge-case eras."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.tests import numerai_reference as reference

# The contract: equal within 1e-9 (in practice the gap is ~1e-16).
TOLERANCE = 1e-9


def bucket_target(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    """Numerai-style target in {0, .25, .5, .75, 1} (exercises MMC's ×4 rescaling)."""
    target = rng.integers(0, 5, n_rows) / 4
    target[:2] = [0.0, 1.0]  # never constant
    return target


def continuous_target(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    """A return-like target outside [0, 1] (MMC uses it unscaled)."""
    return rng.normal(0.0, 0.05, n_rows)


def continuous(rng: np.random.Generator, n_rows: int, n_models: int) -> np.ndarray:
    return rng.random((n_rows, n_models))


def five_valued(rng: np.random.Generator, n_rows: int, n_models: int) -> np.ndarray:
    return rng.integers(0, 5, (n_rows, n_models)) / 4


def heavy_ties(rng: np.random.Generator, n_rows: int, n_models: int) -> np.ndarray:
    """Three values, lopsided frequencies, and duplicated columns."""
    matrix = rng.choice([0.1, 0.5, 0.9], size=(n_rows, n_models), p=[0.8, 0.15, 0.05])
    matrix[:, -1] = matrix[:, 0]
    return matrix


def signed_with_zeros(rng: np.random.Generator, n_rows: int, n_models: int) -> np.ndarray:
    """Negative values, +0.0 and -0.0 (which must tie), and huge magnitudes."""
    matrix = rng.normal(size=(n_rows, n_models))
    matrix[::4, 0] = 0.0
    matrix[1::4, 0] = -0.0
    matrix[:, 1] *= 1e300
    return matrix


def ulp_neighbours(rng: np.random.Generator, n_rows: int, n_models: int) -> np.ndarray:
    """Values one ulp apart: they collide in the packed sort keys and must still rank apart."""
    base = rng.choice([0.25, 0.5, -0.75], size=(n_rows, n_models))
    steps = rng.integers(0, 4, size=(n_rows, n_models))
    return base + steps * np.spacing(base)


GENERATORS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "continuous": continuous,
    "five_valued": five_valued,
    "heavy_ties": heavy_ties,
    "signed_with_zeros": signed_with_zeros,
    "ulp_neighbours": ulp_neighbours,
}

# (generator, M, N, target kind)
CASES = [
    ("continuous", 700, 12, "bucket"),
    ("continuous", 500, 9, "continuous"),
    ("five_valued", 600, 10, "bucket"),
    ("five_valued", 400, 3, "continuous"),
    ("heavy_ties", 500, 8, "bucket"),
    ("signed_with_zeros", 300, 5, "bucket"),
    ("ulp_neighbours", 300, 6, "bucket"),
    ("continuous", 2, 3, "bucket"),
    ("five_valued", 3, 4, "bucket"),
    ("five_valued", 5, 7, "continuous"),
    ("five_valued", 250, 1, "bucket"),
    ("continuous", 250, 1, "continuous"),
]


def make_case(generator: str, n_rows: int, n_models: int, target_kind: str, seed: int):
    rng = np.random.default_rng(seed)
    predictions = GENERATORS[generator](rng, n_rows, n_models)
    if target_kind == "bucket":
        target = bucket_target(rng, n_rows)
    else:
        target = continuous_target(rng, n_rows)
    stakes = rng.exponential(100.0, n_models)
    benchmark = rng.random(n_rows)
    return predictions, target, stakes, benchmark


@pytest.fixture(params=CASES, ids=[f"{g}-M{m}-N{n}-{t}" for g, m, n, t in CASES])
def era_case(request):
    generator, n_rows, n_models, target_kind = request.param
    return make_case(generator, n_rows, n_models, target_kind, seed=n_rows * 31 + n_models)


def test_gauss_rank_is_bit_identical_to_reference(era_case):
    predictions, *_ = era_case
    ours = scoring.gauss_rank(predictions)
    assert ours.shape == predictions.shape
    assert np.array_equal(ours, reference.gauss_rank(predictions))


def test_numerai_corr_matches_reference(era_case):
    predictions, target, *_ = era_case
    expected = reference.numerai_corr(predictions, target)
    np.testing.assert_allclose(scoring.numerai_corr(predictions, target), expected,
                               rtol=0, atol=TOLERANCE)


def test_meta_model_is_bit_identical_to_reference(era_case):
    predictions, _, stakes, _ = era_case
    assert np.array_equal(scoring.meta_model(predictions, stakes),
                          reference.meta_model(predictions, stakes))


def test_mmc_matches_correlation_contribution(era_case):
    predictions, target, stakes, _ = era_case
    meta = reference.meta_model(predictions, stakes)
    np.testing.assert_allclose(scoring.mmc(predictions, meta, target),
                               reference.contribution(predictions, meta, target),
                               rtol=0, atol=TOLERANCE)


def test_bmc_matches_contribution_to_benchmark(era_case):
    predictions, target, _, benchmark = era_case
    np.testing.assert_allclose(scoring.bmc(predictions, benchmark, target),
                               reference.contribution(predictions, benchmark, target),
                               rtol=0, atol=TOLERANCE)


def test_ranked_era_scores_match_reference(era_case):
    predictions, target, stakes, benchmark = era_case
    era = scoring.prepare_era(predictions, stakes, benchmark=benchmark)
    result = era.score(target)
    meta = reference.meta_model(predictions, stakes)
    assert np.array_equal(era.meta_model, meta)
    np.testing.assert_allclose(result.corr, reference.numerai_corr(predictions, target),
                               rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(result.mmc, reference.contribution(predictions, meta, target),
                               rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(result.bmc,
                               reference.contribution(predictions, benchmark, target),
                               rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("generator", ["continuous", "five_valued", "heavy_ties"])
def test_fnc_matches_feature_neutral_corr(generator):
    rng = np.random.default_rng(7)
    predictions = GENERATORS[generator](rng, 400, 6)
    target = bucket_target(rng, 400)
    features = np.column_stack([
        rng.integers(0, 5, 400) / 4,  # Numerai-style binned features ...
        rng.integers(0, 5, 400) / 4,
        rng.random(400),              # ... and a continuous one
    ])
    np.testing.assert_allclose(scoring.fnc(predictions, features, target),
                               reference.feature_neutral_corr(predictions, features, target),
                               rtol=0, atol=TOLERANCE)


def test_rescoring_a_ranked_era_equals_scoring_from_scratch():
    predictions, first_target, stakes, _ = make_case("continuous", 600, 20, "bucket", seed=11)
    second_target = continuous_target(np.random.default_rng(12), 600)
    era = scoring.prepare_era(predictions, stakes)
    era.score(first_target)
    again = era.score(second_target)
    fresh = scoring.score_era(predictions, second_target, stakes)
    assert np.array_equal(again.corr, fresh.corr)
    assert np.array_equal(again.mmc, fresh.mmc)
    np.testing.assert_allclose(again.corr, reference.numerai_corr(predictions, second_target),
                               rtol=0, atol=TOLERANCE)


def test_memory_layout_and_dtype_do_not_change_scores():
    predictions, target, stakes, _ = make_case("five_valued", 300, 7, "bucket", seed=5)
    expected = scoring.score_era(predictions, target, stakes)
    variants = {
        "fortran": np.asfortranarray(predictions),
        "float32": predictions.astype(np.float32),  # exact: quarters are float32 values
        "int": (predictions * 4).astype(np.int64),   # a strictly increasing transform
        "frame": pd.DataFrame(predictions),
    }
    for name, variant in variants.items():
        got = scoring.score_era(variant, target, stakes)
        assert np.array_equal(got.corr, expected.corr), name
        assert np.array_equal(got.mmc, expected.mmc), name


def test_threaded_ranking_equals_single_threaded():
    rng = np.random.default_rng(3)
    predictions = np.column_stack([continuous(rng, 2000, 150), five_valued(rng, 2000, 150)])
    single = scoring.gauss_rank(predictions, threads=1)
    assert np.array_equal(scoring.gauss_rank(predictions, threads=3), single)
    assert np.array_equal(single, reference.gauss_rank(predictions))


def test_single_model_is_its_own_meta_model_and_has_zero_mmc():
    rng = np.random.default_rng(8)
    predictions = five_valued(rng, 300, 1)
    target = bucket_target(rng, 300)
    result = scoring.score_era(predictions, target, [5.0])
    assert result.mmc.tolist() == [0.0]
    assert reference.contribution(
        predictions, reference.meta_model(predictions, [5.0]), target
    ).tolist() == pytest.approx([0.0], abs=1e-15)


class TestConstantColumn:
    """numerai-tools: CORR NaN, MMC 0, FNC fails. This engine: 0.0 everywhere (documented)."""

    @pytest.fixture
    def era(self):
        rng = np.random.default_rng(21)
        predictions = continuous(rng, 200, 4)
        predictions[:, 2] = 0.37
        return predictions, bucket_target(rng, 200), np.array([1.0, 2.0, 3.0, 4.0])

    def test_gauss_ranks_of_a_constant_column_are_zero(self, era):
        predictions, _, _ = era
        assert np.array_equal(scoring.gauss_rank(predictions)[:, 2], np.zeros(200))
        assert np.array_equal(reference.gauss_rank(predictions)[:, 2], np.zeros(200))

    def test_corr_is_zero_where_reference_gives_nan(self, era):
        predictions, target, _ = era
        expected = reference.numerai_corr(predictions, target)
        ours = scoring.numerai_corr(predictions, target)
        assert np.isnan(expected[2])
        assert ours[2] == 0.0
        others = [0, 1, 3]
        np.testing.assert_allclose(ours[others], expected[others], rtol=0, atol=TOLERANCE)

    def test_mmc_is_zero_like_reference(self, era):
        predictions, target, stakes = era
        result = scoring.score_era(predictions, target, stakes)
        meta = reference.meta_model(predictions, stakes)
        expected = reference.contribution(predictions, meta, target)
        assert expected[2] == 0.0
        assert result.mmc[2] == 0.0
        np.testing.assert_allclose(result.mmc, expected, rtol=0, atol=TOLERANCE)

    def test_fnc_is_zero_where_reference_fails(self, era):
        predictions, target, _ = era
        features = np.random.default_rng(2).random((200, 3))
        with pytest.raises(AssertionError, match="overlapping ids"):
            reference.feature_neutral_corr(predictions, features, target)
        ours = scoring.fnc(predictions, features, target)
        assert ours[2] == 0.0
        keep = [0, 1, 3]
        np.testing.assert_allclose(
            ours[keep], reference.feature_neutral_corr(predictions[:, keep], features, target),
            rtol=0, atol=TOLERANCE,
        )


def test_meta_model_accumulated_by_several_threads_is_bit_identical():
    # Large enough for the row-split threaded accumulation; binned values and equal stakes
    # make many rows tie in the meta-model, and those ties must survive bit for bit.
    rng = np.random.default_rng(13)
    predictions = five_valued(rng, 1200, 150)
    stakes = np.where(rng.random(150) < 0.5, 10.0, 0.0)
    ours = scoring.meta_model(predictions, stakes, threads=2)
    assert np.array_equal(ours, reference.meta_model(predictions, stakes))
    target = bucket_target(rng, 1200)
    np.testing.assert_allclose(scoring.score_era(predictions, target, stakes, threads=2).mmc,
                               reference.contribution(predictions, ours, target),
                               rtol=0, atol=TOLERANCE)
