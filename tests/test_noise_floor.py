"""Tests of magnet.stats.noise_floor against Monte-Carlo simulation of the oracle's error."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from magnet.stats.noise_floor import (
    binomial_floor,
    continuous_floor,
    expected_rmse_floor,
    is_binary,
    noise_floor_mae,
    run_noise_floor,
)

REPS = 200_000


def simulate_binary_oracle_error(p: float, n: int, k: int, rng) -> tuple[float, float]:
    """Mean |oracle - actual| and its standard error, drawing the unrevealed outcomes."""
    m = n - k
    s_u = rng.binomial(m, p, size=REPS)
    errors = np.abs(s_u - m * p) / n
    return float(errors.mean()), float(errors.std(ddof=1) / math.sqrt(REPS))


@pytest.mark.parametrize(
    "p, n, k",
    [
        (0.5, 10, 0),
        (0.5, 100, 10),
        (0.9, 100, 50),
        (0.05, 200, 20),
        (0.37, 57, 13),
        (0.999, 1000, 0),
        (0.62, 500, 499),
        (0.3, 40, 40),
    ],
)
def test_binomial_floor_matches_monte_carlo(p, n, k):
    rng = np.random.default_rng([n, k, int(p * 1000)])
    mean, se = simulate_binary_oracle_error(p, n, k, rng)
    exact = binomial_floor(p, n, k)
    assert isinstance(exact, float)
    assert abs(exact - mean) <= 4 * se + 1e-12
    if k == n:
        assert exact == 0.0


def test_binomial_floor_equals_de_moivre_closed_form():
    # E|S - mp| = 2 v (1 - p) P(S = v) with v = floor(mp) + 1 (de Moivre; Diaconis & Zabell 1991)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.001, 0.999, 300)
    n = rng.integers(1, 400, 300)
    k = (rng.uniform(size=300) * n).astype(int)
    m = n - k
    v = np.floor(m * p) + 1
    closed = 2 * v * (1 - p) * stats.binom.pmf(v, m, p) / n
    np.testing.assert_allclose(binomial_floor(p, n, k), closed, rtol=1e-9, atol=1e-15)


def test_binomial_floor_is_vectorised_and_broadcasts():
    p = np.array([[0.1, 0.5], [0.7, 1.0]])
    out = binomial_floor(p, 30, np.array([0, 10]))
    assert out.shape == (2, 2)
    expected = [[binomial_floor(p[i, j], 30, [0, 10][j]) for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert out[1, 1] == 0.0  # p = 1: no randomness left
    assert binomial_floor(0.0, 10, 3) == 0.0


@pytest.mark.parametrize("p, n, ks", [(0.7, 120, (0, 12, 60, 119)), (0.3, 40, (0, 12)), (0.95, 200, (0, 60))])
def test_binary_floor_from_observed_runs_matches_the_oracle_with_the_true_rate(p, n, ks):
    """Runs drawn with a TRUE success rate p: the oracle that knows p misses by binomial_floor(p) on average,
    and the plug-in floor computed from each observed run (its mean as p) estimates that within 3%."""
    rng = np.random.default_rng([n, int(p * 100)])
    reps = 4000
    runs = (rng.uniform(size=(reps, n)) < p).astype(int)  # the first k instances of each run are the revealed ones
    for k in ks:
        m = n - k
        oracle = (runs[:, :k].sum(axis=1) + m * p) / n  # knows the true p, sees the revealed outcomes
        errors = np.abs(oracle - runs.mean(axis=1))
        true_floor = binomial_floor(p, n, k)
        assert abs(errors.mean() - true_floor) <= 4 * errors.std(ddof=1) / math.sqrt(reps)
        plug_in = np.array([run_noise_floor(values, k) for values in runs])
        assert plug_in.mean() == pytest.approx(true_floor, rel=0.03)
        # the plug-in is the binomial floor at the run's own mean
        assert plug_in[0] == pytest.approx(binomial_floor(runs[0].mean(), n, k), abs=1e-15)
    assert run_noise_floor(runs[0].astype(bool), 12) == pytest.approx(run_noise_floor(runs[0], 12))
    assert run_noise_floor(runs[0], n) == 0.0


@pytest.mark.parametrize("a, b, m", [(2.0, 5.0, 50), (0.5, 0.5, 200), (5.0, 1.5, 1000)])
def test_continuous_floor_matches_simulation_with_beta_instances(a, b, m):
    rng = np.random.default_rng(int(10 * a + m))
    n = 3000
    values = rng.beta(a, b, n)  # the run's per-instance values, e.g. F1 in [0, 1]
    k = n - m
    floor = run_noise_floor(values, k)
    # Simulation: the oracle knows the population mean; m unrevealed values are fresh Beta draws.
    mu = a / (a + b)
    sums = np.zeros(20_000)
    for _ in range(m):
        sums += rng.beta(a, b, sums.size)
    errors = np.abs(sums - m * mu) / n
    se = errors.std(ddof=1) / math.sqrt(errors.size)
    # Sample variance of n values is within ~5% of the truth; the normal approximation is tight for m >= 50.
    assert floor == pytest.approx(errors.mean(), rel=0.06, abs=4 * se)
    true_var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert continuous_floor(true_var, n, k) == pytest.approx(errors.mean(), abs=4 * se + 0.01 * errors.mean())


def test_continuous_floor_formula():
    values = np.array([0.2, 0.9, 0.4, 0.7, 0.55])
    expected = math.sqrt(2 / math.pi) * math.sqrt(3 * np.var(values, ddof=1)) / 5
    assert run_noise_floor(values, 2) == pytest.approx(expected)
    assert run_noise_floor(values, 5) == 0.0
    assert math.isnan(run_noise_floor([0.4], 0))


def test_is_binary_decides_the_model():
    assert is_binary([0, 1, 1, 0]) and is_binary([True, False]) and is_binary([1.0, 1.0])
    assert not is_binary([0, 0.5, 1]) and not is_binary([0, 2])


def test_noise_floor_mae_is_the_mean_over_runs():
    runs = [[1, 0, 1, 1, 0, 1], [0.2, 0.4, 0.9], np.ones(10)]
    ks = [2, 1, 3]
    expected = np.mean([run_noise_floor(r, k) for r, k in zip(runs, ks)])
    assert noise_floor_mae(runs, ks) == pytest.approx(expected)
    assert noise_floor_mae(runs, ks) > 0


def test_expected_rmse_floor_matches_simulation_with_the_true_rates():
    """Three runs with TRUE rates: the oracle knowing them has RMSE sqrt(mean(m p (1-p) / n^2)) (simulated), and
    expected_rmse_floor of the observed runs (plug-in p) estimates it within 3% on average."""
    rng = np.random.default_rng(5)
    design = [(50, 0.3, 5), (200, 0.8, 40), (80, 0.5, 0)]
    reps = 3000
    draws = [(rng.uniform(size=(reps, n)) < p).astype(int) for n, p, _ in design]
    ks = [k for _, _, k in design]
    squared = [(((d[:, k:].sum(axis=1) - (n - k) * p) / n) ** 2).mean() for d, (n, p, k) in zip(draws, design)]
    closed = math.sqrt(np.mean([(n - k) * p * (1 - p) / n**2 for n, p, k in design]))
    assert math.sqrt(np.mean(squared)) == pytest.approx(closed, rel=0.03)
    estimates = [expected_rmse_floor([d[r] for d in draws], ks) for r in range(reps)]
    assert np.mean(estimates) == pytest.approx(closed, rel=0.03)
    runs = [d[0] for d in draws]
    assert expected_rmse_floor(runs, ks) >= noise_floor_mae(runs, ks)  # RMSE >= MAE
    assert expected_rmse_floor([[0, 1, 1]], [3]) == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: run_noise_floor([0, 1, 1], 4), "0 <= k <= n"),
        (lambda: run_noise_floor([0, 1, 1], -1), "0 <= k <= n"),
        (lambda: run_noise_floor([0, 1, 1], 1.5), "0 <= k <= n"),
        (lambda: run_noise_floor([0, np.nan, 1], 1), "finite"),
        (lambda: run_noise_floor([], 0), "at least one"),
        (lambda: run_noise_floor([[0, 1]], 0), "1-D"),
        (lambda: noise_floor_mae([[0, 1], [1, 1]], [1]), "one k per run"),
        (lambda: noise_floor_mae([], []), "at least one run"),
        (lambda: binomial_floor(1.2, 10, 1), "p must be in"),
        (lambda: binomial_floor(0.5, 10, 11), "0 <= k <= n"),
        (lambda: continuous_floor(-0.1, 10, 1), "var"),
    ],
)
def test_malformed_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------- edges (written against surviving mutants, tools/mutation.py)


def test_edge_values_by_closed_form():
    # binary runs use var = p (1 - p) exactly, not the sample variance
    assert expected_rmse_floor([[1, 0, 1, 1]], [0]) == pytest.approx(math.sqrt(4 * 0.75 * 0.25 / 16), abs=1e-15)
    # two continuous values: the sample variance (ddof=1) is defined
    assert expected_rmse_floor([[0.2, 0.6]], [0]) == pytest.approx(math.sqrt(2 * 0.08 / 4), abs=1e-15)
    assert run_noise_floor([0.2, 0.6], 1) == pytest.approx(math.sqrt(2 / math.pi) * math.sqrt(0.08) / 2, abs=1e-15)
    # a fully revealed single-instance continuous run has floor 0 even though its variance is unknown
    assert expected_rmse_floor([[0.4]], [1]) == 0.0
    assert continuous_floor(0.0, 10, 2) == 0.0  # no spread, no error
    assert continuous_floor(0.09, 1, 0) == pytest.approx(math.sqrt(2 / math.pi) * 0.3, abs=1e-15)


def test_all_undefined_runs_give_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(noise_floor_mae([[0.4], [0.7]], [0, 0]))
        assert math.isnan(expected_rmse_floor([[0.4]], [0]))
        # one defined run among undefined ones: the mean over the defined ones
        assert noise_floor_mae([[0.4], [1, 0, 1, 1]], [0, 2]) == pytest.approx(run_noise_floor([1, 0, 1, 1], 2))


@pytest.mark.parametrize("call, message", [
    (lambda: continuous_floor(0.1, 0, 0), r"^n must be a positive integer, got 0$"),
    (lambda: continuous_floor(0.1, 2.5, 0), r"^n must be a positive integer, got 2.5$"),
    (lambda: continuous_floor(0.1, True, 0), r"^n must be a positive integer, got True$"),
    (lambda: continuous_floor(float("nan"), 3, 0), r"^var must be >= 0, got nan$"),
    (lambda: continuous_floor(0.1, 3, 4), r"^k must be an integer with 0 <= k <= n = 3, got 4$"),
    (lambda: run_noise_floor([0, 1], True), r"^k must be an integer with 0 <= k <= n = 2, got True$"),
    (lambda: noise_floor_mae([], []), r"^need at least one run, got none$"),
    (lambda: expected_rmse_floor([[1, 0]], [1, 1]), r"^need one k per run: got 1 runs and 2 ks$"),
    (lambda: run_noise_floor(["a", "b"], 0), r"^per_instance_values must be numeric, got values that are not: "),
    (lambda: run_noise_floor([], 0), r"^per_instance_values must hold at least one instance, got none$"),
    (lambda: run_noise_floor([0, np.inf, np.nan], 0), r"^per_instance_values must be finite, got 2 NaN/inf values$"),
    (lambda: run_noise_floor([[0, 1]], 0), r"^per_instance_values must be 1-D, got an array of shape \(1, 2\)$"),
    (lambda: binomial_floor(np.nan, 10, 1), r"^p must be in \[0, 1\], got values outside it \(or NaN\)$"),
    (lambda: binomial_floor(-0.1, 10, 1), r"^p must be in \[0, 1\]"),
    (lambda: binomial_floor(0.5, 10.5, 1), r"^n and k must be whole numbers$"),
    (lambda: binomial_floor(0.5, 10, 1.5), r"^n and k must be whole numbers$"),
    (lambda: binomial_floor(0.5, 0, 0), r"^n and k must satisfy n >= 1 and 0 <= k <= n$"),
    (lambda: binomial_floor(0.5, 10, -1), r"^n and k must satisfy n >= 1 and 0 <= k <= n$"),
])
def test_error_messages_name_the_argument_and_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_binomial_floor_edges():
    assert binomial_floor(0.5, 10, 10) == 0.0 and binomial_floor(1.0, 10, 0) == 0.0
    assert binomial_floor(0.5, 1, 0) == pytest.approx(0.5)  # |S - 1/2| = 1/2 always
    # m = 1: E|S - p| = 2 p (1 - p)
    assert binomial_floor(0.3, 4, 3) == pytest.approx(2 * 0.3 * 0.7 / 4, abs=1e-15)
    out = binomial_floor([0.3, 0.3], [4, 5], [3, 3])  # two different m in one call
    np.testing.assert_allclose(out, [2 * 0.3 * 0.7 / 4, binomial_floor(0.3, 5, 3)], atol=1e-15)
    assert is_binary(np.array([1.0])) and not is_binary([0.0, 1.0, 0.999])
