"""Simulated worlds in which the MBE verdicts' error rates and power are measured.

One simulated *world* is magnet's setting in miniature: ``n_models`` models
answer the instances of ``n_scenarios`` scenarios (one eval run per model and
scenario, ``n = n_models * n_scenarios`` runs), ``n_instances`` instances per
run of which ``n_revealed`` are revealed.  The generative model:

* model ability ``a_m ~ N(0, 1)``, scenario difficulty ``d_s ~ N(0, 0.8^2)``,
  model-by-scenario interaction ``e_ms ~ N(0, 0.4^2)``, item difficulty
  ``b_si ~ N(0, 1)``;
* instance success probability ``p = sigmoid(a_m - d_s + e_ms - b_si)``,
  outcome ``Bernoulli(p)``;
* ``actual`` = mean outcome over all instances of the run; ``true_rate`` =
  mean ``p`` over them;
* controls: ``revealed_mean`` (mean outcome of the revealed instances) and
  ``revealed_loss`` (mean negative log of a noisy confidence
  ``sigmoid(logit p + N(0, 0.7^2))`` over the revealed instances, plus a
  per-model shift ``N(0, 0.3^2)``: models' losses are not on one scale, as
  tokenisers and answer formats differ), so what the controls miss about a
  run is partly shared by all runs of its model.

Predictors (families) made from one world:

========================== ===================================================== ==========
family                     prediction                                            truth
========================== ===================================================== ==========
``offset``                 revealed mean + a random offset per model (sd 0.1)    null
``coarsened``              ``floor(4 * revealed_mean) / 4``                       null
``smooth``                 ``revealed_mean^2 + 0.3 exp(-revealed_loss)``          null
                           (``(revealed_mean - 0.4)^2``
                           with one control)
``noise``                  revealed mean + noise per run (sd 0.05)                null
``oracle``                 the run's true rate                                   informative
``half-oracle``            half-way from the revealed mean to the true rate,     informative
                           plus noise per run (sd 0.05)
``scenario-mean``          the scenario's mean actual value, the same for every  null within
                           run of the scenario (knows only which scenario)       scenarios
``scenario-blend``         half the revealed mean + half the train runs'         null within
                           scenario mean (the mean actual of the *other*         scenarios
                           models' runs of the scenario, as leave-one-model-out
                           sees it)
``scenario-shrink``        half the revealed mean + half the scenario's mean     null within
                           actual value (constant per scenario, as a kfold       scenarios
                           split's train runs of many models approach it)
``within-scenario``        ``half-oracle`` minus its scenario mean: informative  informative
                           about the ranking of runs within a scenario, no
                           information about differences between scenarios
========================== ===================================================== ==========

A null family carries no information about ``actual`` beyond the controls, so
any ``genuine`` verdict for it is a false positive.  The two *scenario*
null families carry information about differences between scenarios, which
the revealed mean (10 instances) measures only noisily: pooled over
scenarios their partial r given the controls is often positive, yet within a
scenario they only re-rank the revealed mean (``scenario-blend`` even ranks
runs against their actual value).  :func:`verdict_rates` passes the scenario
of each run as ``strata`` (``scenario_aware=False`` does not, the rule before
issue 27).

Examples
--------
>>> world = simulate_world(np.random.default_rng(0), n_models=8, n_scenarios=9)
>>> len(world.actual), sorted(world.controls)
(72, ['revealed_loss', 'revealed_mean'])
>>> rates = verdict_rates("oracle", n_models=8, n_scenarios=9, n_sims=5, seed=0)
>>> sorted(rates)
['genuine', 'inconclusive', 'insufficient-data', 'loss-proxy']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from magnet.stats.mbe import VERDICTS, mbe_check

__all__ = ["wilson_interval", "World", "NULL_FAMILIES", "INFORMATIVE_FAMILIES", "SCENARIO_NULL_FAMILIES", "WITHIN_FAMILIES",
           "simulate_world", "predict", "verdict_rates",
           "mc_error"]

NULL_FAMILIES = ("offset", "coarsened", "smooth", "noise")
INFORMATIVE_FAMILIES = ("oracle", "half-oracle")
#: Families carrying only between-scenario information (null within scenarios), issue 27.
SCENARIO_NULL_FAMILIES = ("scenario-mean", "scenario-blend", "scenario-shrink")
#: Informative about runs within a scenario, not about scenarios.
WITHIN_FAMILIES = ("within-scenario",)


@dataclass(frozen=True)
class World:
    """One simulated set of runs: truth, controls and the model of each run."""

    actual: np.ndarray
    true_rate: np.ndarray
    controls: dict
    model: np.ndarray
    scenario: np.ndarray | None = None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_world(rng: np.random.Generator, n_models: int = 8, n_scenarios: int = 9, n_instances: int = 40,
                   n_revealed: int = 10) -> World:
    """Draw one world (generative model in the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n_models, n_scenarios : int
        Runs are every model x scenario pair.
    n_instances, n_revealed : int
        Instances per run and how many of them are revealed.

    Returns
    -------
    World
        Arrays of length ``n_models * n_scenarios``.

    Examples
    --------
    >>> w = simulate_world(np.random.default_rng(1), n_models=4, n_scenarios=2)
    >>> w.model.tolist()
    [0, 0, 1, 1, 2, 2, 3, 3]
    """
    model = np.repeat(np.arange(n_models), n_scenarios)
    scenario = np.tile(np.arange(n_scenarios), n_models)
    ability = rng.normal(0, 1, n_models)[model]
    difficulty = rng.normal(0, 0.8, n_scenarios)[scenario]
    interaction = rng.normal(0, 0.4, model.size)
    items = rng.normal(0, 1, (n_scenarios, n_instances))[scenario]
    logit = (ability - difficulty + interaction)[:, None] - items
    p = _sigmoid(logit)
    outcome = (rng.uniform(size=p.shape) < p).astype(float)
    confidence = _sigmoid(logit[:, :n_revealed] + rng.normal(0, 0.7, (model.size, n_revealed)))
    controls = {
        "revealed_mean": outcome[:, :n_revealed].mean(axis=1),
        "revealed_loss": -np.log(confidence).mean(axis=1) + rng.normal(0, 0.3, n_models)[model],
    }
    return World(outcome.mean(axis=1), p.mean(axis=1), controls, model, scenario)


def predict(family: str, world: World, rng: np.random.Generator, controls: int = 2) -> np.ndarray:
    """Predictions of one family for one world (families in the module docstring).

    Examples
    --------
    >>> w = simulate_world(np.random.default_rng(0), n_models=4, n_scenarios=3)
    >>> bool(np.all(predict("oracle", w, np.random.default_rng(0)) == w.true_rate))
    True
    """
    rm, loss = world.controls["revealed_mean"], world.controls["revealed_loss"]
    n_models = int(world.model.max()) + 1
    if family == "offset":
        return rm + rng.normal(0, 0.1, n_models)[world.model]
    if family == "coarsened":
        return np.floor(rm * 4) / 4
    if family == "smooth":  # a smooth function of the controls in use
        return rm**2 + 0.3 * np.exp(-loss) if controls == 2 else (rm - 0.4) ** 2
    if family == "noise":
        return rm + rng.normal(0, 0.05, rm.size)
    if family == "oracle":
        return world.true_rate
    if family == "half-oracle":
        return 0.5 * (rm + world.true_rate) + rng.normal(0, 0.05, rm.size)
    if family in SCENARIO_NULL_FAMILIES + WITHIN_FAMILIES:
        scen = pd.Series(world.scenario)
        if family in ("scenario-mean", "scenario-shrink"):
            mean = pd.Series(world.actual).groupby(scen).transform("mean").to_numpy()
            return mean if family == "scenario-mean" else 0.5 * rm + 0.5 * mean
        if family == "scenario-blend":  # the mean actual of the other models' runs of the scenario
            total = pd.Series(world.actual).groupby(scen).transform("sum").to_numpy()
            size = scen.groupby(scen).transform("size").to_numpy()
            return 0.5 * rm + 0.5 * (total - world.actual) / (size - 1)
        half = pd.Series(0.5 * (rm + world.true_rate) + rng.normal(0, 0.05, rm.size))
        return (half - half.groupby(scen).transform("mean") + half.mean()).to_numpy()
    families = NULL_FAMILIES + INFORMATIVE_FAMILIES + SCENARIO_NULL_FAMILIES + WITHIN_FAMILIES
    raise ValueError(f"unknown family {family!r}; expected one of {families}")


def verdict_rates(family: str, *, n_models: int = 8, n_scenarios: int = 9, controls: int = 2, n_sims: int = 200,
                  seed: int = 0, ignore_groups: bool = False, scenario_aware: bool = True,
                  **check_options) -> dict:
    """Share of simulated worlds in which :func:`magnet.mbe_check` gives each verdict.

    Parameters
    ----------
    family : str
        A predictor family (module docstring).
    n_models, n_scenarios : int
        World size (``n = n_models * n_scenarios`` runs; groups = models).
    controls : int
        1 (``revealed_mean``) or 2 (plus ``revealed_loss``).
    n_sims : int
        Worlds simulated.
    seed : int
        Seed of the simulation.
    ignore_groups : bool
        Do not pass the models as groups (treat runs as independent, the rule
        before issue 17), to show what clustering does.
    scenario_aware : bool
        Pass each run's scenario as ``strata`` (default); False pools the
        scenarios (the rule before issue 27).
    **check_options
        Passed to :func:`magnet.mbe_check` (e.g. ``adjustment="linear"``).

    Returns
    -------
    dict
        Verdict to share of worlds (the four verdicts, summing to 1).

    Examples
    --------
    >>> rates = verdict_rates("coarsened", n_models=4, n_scenarios=5, n_sims=4, seed=1)
    >>> round(sum(rates.values()), 6)
    1.0
    """
    names = ["revealed_mean", "revealed_loss"][:controls]
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(VERDICTS, 0)
    for _ in range(n_sims):
        world = simulate_world(rng, n_models, n_scenarios)
        pred = predict(family, world, rng, controls)
        base = pd.DataFrame({name: world.controls[name] for name in names})
        result = mbe_check(pred, world.actual, base, groups=None if ignore_groups else world.model,
                           strata=world.scenario if scenario_aware else None, n_boot=0, **check_options)
        counts[result.verdict] += 1
    return {verdict: count / n_sims for verdict, count in counts.items()}


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a simulated rate (scipy's ``binomtest(...).proportion_ci``).

    Examples
    --------
    >>> lo, hi = wilson_interval(3, 300)
    >>> print(round(lo, 4), round(hi, 4))
    0.0034 0.029
    """
    from scipy import stats

    if n <= 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def mc_error(rate: float, n_sims: int) -> float:
    """Monte Carlo standard error of a simulated rate, ``sqrt(rate (1 - rate) / n_sims)``.

    Examples
    --------
    >>> print(round(mc_error(0.05, 200), 4))
    0.0154
    """
    return float(np.sqrt(rate * (1.0 - rate) / n_sims))
