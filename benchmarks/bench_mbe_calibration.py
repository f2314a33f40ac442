"""Calibration of the MBE verdicts: how often each simulated predictor family gets each verdict.

Worlds and families: :mod:`magnet.stats.mbe_calibration` (null families carry
no information beyond the controls; ``oracle`` knows each run's true rate,
``half-oracle`` is half-way there).  For each world size (runs = models x
scenarios, groups = models) and number of controls, prints the share of
simulations called ``genuine`` / ``loss-proxy`` / ``inconclusive`` /
``insufficient-data`` by :func:`magnet.mbe_check` (defaults: spearman,
flexible adjustment, cluster-robust, one-sided alpha 0.05, effect size 0.2),
with the Monte Carlo standard error of the ``genuine`` rate.  The column
``old`` is the rule before issue 17 (linear partial correlation, rows treated
as independent, genuine when two-sided p <= 0.05 and r > 0), for comparison.

``--scenarios`` (issue 27) instead measures the scenario-aware default on
runs pooled over several scenarios, at 72 runs / 8 models / 9 scenarios and
48 runs / 12 models / 4 scenarios (two controls), for every family including
the ones that carry only between-scenario information
(``SCENARIO_NULL_FAMILIES``) and the one informative only within scenarios
(``within-scenario``).  Columns: the verdict shares of the default
(``strata`` = scenario; ``genuine`` needs both scenario adjustments), the
``genuine`` count with its 95% Wilson interval, the ``genuine`` rate of each
adjustment alone (``within_only``: within-scenario ranks + scenario
indicators; ``fe_only``: pooled ranks + scenario indicators) and of the
pooled decision that ignores scenario (``pooled``: the default before
issue 27).

Usage::

    .venv/bin/python benchmarks/bench_mbe_calibration.py            # 200 simulations per cell
    .venv/bin/python benchmarks/bench_mbe_calibration.py --sims 50  # quicker
    nice .venv/bin/python benchmarks/bench_mbe_calibration.py --scenarios --sims 1000  # issue 27's table
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from magnet.stats.mbe import mbe_check
from magnet.stats.mbe_calibration import (INFORMATIVE_FAMILIES, NULL_FAMILIES, SCENARIO_NULL_FAMILIES, WITHIN_FAMILIES,
                                          mc_error, predict, simulate_world, wilson_interval)

#: (models, scenarios): runs = models x scenarios.
SIZES = ((8, 1), (4, 5), (8, 9), (40, 5), (20, 10))
CONTROLS = (1, 2)
#: (models, scenarios) of the scenario-aware table (issue 27).
SCENARIO_SIZES = ((8, 9), (12, 4))
VERDICT_NAMES = ("genuine", "loss-proxy", "inconclusive", "insufficient-data")


def cell(family: str, n_models: int, n_scenarios: int, controls: int, n_sims: int, seed: int) -> dict:
    """Verdict shares of the current rule and the old rule's genuine share for one cell."""
    names = ["revealed_mean", "revealed_loss"][:controls]
    rng = np.random.default_rng(seed)
    verdicts, old = [], 0
    for _ in range(n_sims):
        world = simulate_world(rng, n_models, n_scenarios)
        pred = predict(family, world, rng, controls)
        base = pd.DataFrame({name: world.controls[name] for name in names})
        res = mbe_check(pred, world.actual, base, groups=world.model, n_boot=0)
        verdicts.append(res.verdict)
        old += bool(res.partial_r > 0 and res.partial_p <= 0.05)
    shares = pd.Series(verdicts).value_counts(normalize=True)
    row = {v: float(shares.get(v, 0.0)) for v in ("genuine", "loss-proxy", "inconclusive", "insufficient-data")}
    row["mc_se"] = mc_error(row["genuine"], n_sims)
    row["old"] = old / n_sims
    return row


def scenario_cell(family: str, n_models: int, n_scenarios: int, n_sims: int, seed: int) -> dict:
    """Verdict shares of the scenario-aware default, and the genuine rate of each adjustment alone and of pooling."""
    rng = np.random.default_rng(seed)
    verdicts, within, fixed, pooled = [], 0, 0, 0
    for _ in range(n_sims):
        world = simulate_world(rng, n_models, n_scenarios)
        pred = predict(family, world, rng, 2)
        res = mbe_check(pred, world.actual, pd.DataFrame(world.controls), groups=world.model,
                        strata=world.scenario, n_boot=0)
        verdicts.append(res.verdict)
        within += res.scenario_checks.get("within-ranks", res.verdict) == "genuine"
        fixed += res.scenario_checks.get("fixed-effects", res.verdict) == "genuine"
        pooled += res.pooled_verdict == "genuine"
    shares = pd.Series(verdicts).value_counts(normalize=True)
    row = {v: float(shares.get(v, 0.0)) for v in VERDICT_NAMES}
    hits = verdicts.count("genuine")
    low, high = wilson_interval(hits, n_sims)
    row.update({"genuine_n": f"{hits}/{n_sims}", "wilson95": f"[{low:.3f}, {high:.3f}]",
                "within_only": within / n_sims, "fe_only": fixed / n_sims, "pooled": pooled / n_sims})
    return row


def scenario_table(n_sims: int, seed: int) -> pd.DataFrame:
    """The issue-27 table: every family at both scenario settings."""
    records = []
    families = NULL_FAMILIES + SCENARIO_NULL_FAMILIES + WITHIN_FAMILIES + INFORMATIVE_FAMILIES
    for n_models, n_scenarios in SCENARIO_SIZES:
        for family in families:
            kind = "null" if family in NULL_FAMILIES + SCENARIO_NULL_FAMILIES else "informative"
            row = scenario_cell(family, n_models, n_scenarios, n_sims, seed)
            records.append({"runs": n_models * n_scenarios, "models": n_models, "scenarios": n_scenarios,
                            "family": family, "kind": kind, **row})
            print(records[-1], flush=True)
    return pd.DataFrame(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200, help="simulations per cell (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", action="store_true",
                        help="the scenario-aware table (issue 27) instead of the main one")
    args = parser.parse_args()
    start = time.perf_counter()
    pd.set_option("display.width", 200)
    if args.scenarios:
        table = scenario_table(args.sims, args.seed)
        print(f"\nScenario-aware MBE verdict rates, {args.sims} simulations per row, two controls "
              f"(revealed_mean, revealed_loss), groups = models, strata = scenarios")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(f"\n{time.perf_counter() - start:.0f} s")
        return
    records = []
    for n_models, n_scenarios in SIZES:
        for controls in CONTROLS:
            for family in NULL_FAMILIES + INFORMATIVE_FAMILIES:
                row = cell(family, n_models, n_scenarios, controls, args.sims, args.seed)
                records.append({"runs": n_models * n_scenarios, "models": n_models, "controls": controls,
                                "family": family, "kind": "null" if family in NULL_FAMILIES else "informative",
                                **row})
    table = pd.DataFrame(records)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    print(f"MBE verdict rates, {args.sims} simulations per row (nominal one-sided level 0.05; "
          f"a null family's genuine rate is a false-positive rate, an informative family's is power)")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
