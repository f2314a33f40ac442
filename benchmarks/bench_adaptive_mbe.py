"""Calibration of the MBE verdict under ``--reveal adaptive`` (issue 32, item 2), by simulation.

Each simulation draws a 2PL world with misfit (``--train`` source models, ``--eval`` eval models,
``--items`` items; logit = a_j (theta_m - b_j) + N(0, 0.5^2) model-item interaction), fits the 2PL on the
source models only (``predictors._adaptive.fit_source``), lets each eval model be asked ``--budget``
items by a policy (the real ``predictors._adaptive`` policies), and runs the real
:func:`magnet.stats.mbe.mbe_check` (defaults: spearman, flexible adjustment, one-sided alpha 0.05,
effect size 0.2; groups = models) with one of three controls:

* ``random``: the mean of a *random* sample of the same budget, drawn independently of the predictor
  (what ``magnet.protocol.benchmark`` uses for an adaptive run);
* ``own``: the mean of the instances the predictor itself asked for (the adaptive sample's own mean);
* ``both``: the two together.

Families (each asks, then predicts):

* ``uniform-mean`` (null): asks uniformly at random, returns its own sample's mean — "asks, returns
  the random-sample mean". It carries no skill beyond the cheap signal of what it revealed.
* ``active-mean`` (null): asks as active testing does, returns the plain mean of what it asked
  (a biased cheap signal).
* ``cat-mean`` (null): asks as IRT adaptive testing does, returns the plain mean of what it asked.
* ``active-testing``: ``ActiveTesting``'s estimate (sequential difference estimator).
* ``adaptive-irt``: ``AdaptiveIrt``'s estimate (CAT + residual-corrected 2PL plug-in).
* ``proto-mean`` (null): asks as prototype testing does, returns the plain mean of what it asked.
* ``prototype-testing``: ``PrototypeTesting``'s estimate (train models as prototypes; the estimate chosen
  per regime inside the source models, ``predictors._adaptive.choose_estimates``).
* ``oracle``: the eval model's true full-matrix mean.

Prints, per family and control, the share of ``genuine`` verdicts with its 95% Wilson interval and n.

Usage::

    nice .venv/bin/python benchmarks/bench_adaptive_mbe.py --sims 200          # the table in adaptive-reveal.md
    .venv/bin/python benchmarks/bench_adaptive_mbe.py --sims 20 --budget 25    # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from magnet.stats.mbe import mbe_check
from magnet.stats.mbe_calibration import wilson_interval
from predictors import _adaptive as A

FAMILIES = ("uniform-mean", "active-mean", "cat-mean", "proto-mean", "active-testing", "adaptive-irt",
            "prototype-testing", "oracle")
CONTROLS = ("random", "own", "both")


def world(rng: np.random.Generator, n_train: int, n_eval: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """``(source, evals)``: 0/1 matrices of a 2PL world with a model-item misfit term."""
    n = n_train + n_eval
    theta = rng.normal(size=n)
    a, b = np.exp(rng.normal(0, 0.3, n_items)), rng.normal(size=n_items)
    logit = a * (theta[:, None] - b) + rng.normal(0, 0.5, (n, n_items))
    m = (rng.random((n, n_items)) < 1 / (1 + np.exp(-logit))).astype(float)
    perm = rng.permutation(n)
    return m[perm[:n_train]], m[perm[n_train:]]


def one_simulation(rng: np.random.Generator, n_train: int, n_eval: int, n_items: int, budget: int) -> list[dict]:
    """Every family's verdict under every control in one world."""
    source, evals = world(rng, n_train, n_eval, n_items)
    fit = A.fit_source(source)
    pf = A.fit_prototypes(source)
    choice = A.choose_estimates(source, budget, 0)
    actual = evals.mean(axis=1)
    random_mean = np.array([row[rng.choice(n_items, budget, replace=False)].mean() for row in evals])
    preds, own = {f: [] for f in FAMILIES}, {f: [] for f in FAMILIES}
    for row in evals:
        seed = int(rng.integers(2 ** 31))
        uniform = rng.choice(n_items, budget, replace=False)
        active = A.simulate(fit, row, budget, "active", seed=seed)
        cat = A.simulate(fit, row, budget, "cat", seed=seed)
        proto = A.simulate_proto(pf, row, budget)
        samples = {"uniform-mean": (uniform, row[uniform]), "active-mean": active, "cat-mean": cat,
                   "proto-mean": proto, "active-testing": active, "adaptive-irt": cat,
                   "prototype-testing": proto, "oracle": active}
        for family, (order, y) in samples.items():
            own[family].append(float(np.mean(y)))
            if family == "active-testing":
                value = A.active_estimate(fit, order, y)
            elif family == "adaptive-irt":
                value = A.cat_estimate(fit, order, y)
            elif family == "prototype-testing":
                value = A.proto_estimate(pf, order, y, choice)
            elif family == "oracle":
                value = float(row.mean())
            else:
                value = float(np.mean(y))
            preds[family].append(float(np.clip(value, 0, 1)))
    out = []
    groups = np.arange(n_eval)
    for family in FAMILIES:
        controls = {"random": pd.DataFrame({"revealed_mean": random_mean}),
                    "own": pd.DataFrame({"adaptive_mean": own[family]}),
                    "both": pd.DataFrame({"revealed_mean": random_mean, "adaptive_mean": own[family]})}
        for name, base in controls.items():
            res = mbe_check(np.asarray(preds[family]), actual, base, groups=groups, n_boot=0)
            out.append({"family": family, "control": name, "verdict": res.verdict,
                        "mae": float(np.mean(np.abs(np.asarray(preds[family]) - actual)))})
    return out


def table(records: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(records)
    rows = []
    for (family, control), g in df.groupby(["family", "control"], sort=False):
        n, k = len(g), int((g["verdict"] == "genuine").sum())
        lo, hi = wilson_interval(k, n)
        rows.append({"family": family, "control": control, "n": n, "genuine": k / n,
                     "wilson95": f"[{lo:.3f}, {hi:.3f}]", "loss-proxy": float((g["verdict"] == "loss-proxy").mean()),
                     "mae": float(g["mae"].mean())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--train", type=int, default=60)
    parser.add_argument("--eval", type=int, default=40)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", help="also write the table here")
    parser.add_argument("--records", help="also write every simulation's verdicts here (CSV)")
    parser.add_argument("--from-records", nargs="+", help="pool these --records files (several seeds) into the table")
    args = parser.parse_args()
    if args.from_records:
        result = table(pd.concat([pd.read_csv(p) for p in args.from_records]).to_dict("records"))
        print(result.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        return
    rng = np.random.default_rng(args.seed)
    start, records = time.time(), []
    for _ in range(args.sims):
        records += one_simulation(rng, args.train, args.eval, args.items, args.budget)
    if args.records:
        pd.DataFrame(records).to_csv(args.records, index=False)
    result = table(records)
    print(f"# {args.sims} simulations, budget {args.budget}, {args.train} source / {args.eval} eval models, "
          f"{args.items} items, seed {args.seed} ({time.time() - start:.0f} s)")
    print(result.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if args.csv:
        result.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
