"""Tests of magnet.stats.noise_floor against Monte-Carlo simulation of the oracle's error."""

from __future__ import annotations

import math

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


def test_binary_run_uses_its_mean_as_p_and_matches_simulation():
    rng = np.random.default_rng(1)
    values = (rng.uniform(size=120) < 0.7).astype(int)
    p = values.mean()
    for k in (0, 12, 60, 119, 120):
        floor = run_noise_floor(values, k)
        assert floor == pytest.approx(binomial_floor(p, 120, k), abs=1e-15)
        mean, se = simulate_binary_oracle_error(p, 120, k, rng)
        assert abs(floor - mean) <= 4 * se + 1e-12
    assert run_noise_floor(values.astype(bool), 12) == pytest.approx(run_noise_floor(values, 12))


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


def test_expected_rmse_floor_matches_simulation():
    rng = np.random.default_rng(5)
    runs = [(rng.uniform(size=n) < p).astype(int) for n, p in [(50, 0.3), (200, 0.8), (80, 0.5)]]
    ks = [5, 40, 0]
    squared = []
    for values, k in zip(runs, ks):
        n, p = len(values), values.mean()
        s_u = rng.binomial(n - k, p, size=REPS)
        squared.append(np.mean(((s_u - (n - k) * p) / n) ** 2))
    assert expected_rmse_floor(runs, ks) == pytest.approx(math.sqrt(np.mean(squared)), rel=0.01)
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
