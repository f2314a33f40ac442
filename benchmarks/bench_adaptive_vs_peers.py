"""Issue 32's measurement: adaptive predictors against magnet's fixed coreset and every peer, budgets 10-200.

For each score matrix (development: gsm, math, mmlu of HELM Lite; med_qa and legalbench only with
``--final``), split (the peers' ``split_models``) and repeat r (seeds ``--seed-offset`` ..), in one run:

* the adaptive predictors, each target model asking K items for every K of ``--budgets``
  (``predictors._adaptive``: the same policy and estimator functions the predictors call):
  ``PrototypeTesting`` (train models as prototypes; variance-reduction choice; estimate chosen inside the
  train models), ``ActiveTesting`` (surrogate-proportional draws, unbiased sequential difference estimator),
  ``AdaptiveIrt`` (Fisher-information CAT, residual-corrected 2PL);
* magnet's fixed-coreset ``CoresetEnsemble`` (``predictors._matrix.select_coreset`` + ``ensemble_estimate``)
  at every budget;
* every peer of ``magnet.peers.PEER_METHODS`` at every budget, except the slower ones, at ``--peer-k`` only:
  p-IRT and gp-IRT (seconds a call), lasso (about 15 s a call, every repeat) and random-search-and-learn
  (about 100 s a call on gsm: the first ``--slow-repeats`` repeats of the ``--search-splits`` splits only).
  ``ActiveTesting`` and ``AdaptiveIrt`` run at budgets 10, 25 and 50 only.

Gap = mean over target models of |predicted - actual| per repeat. Prints, per matrix and split, each
method's gap with a 95% t-interval over repeats and its ratio to the best peer at ``--peer-k`` items (the
peer with the smallest mean gap; the ratio is paired over the repeats that peer ran, with a paired
bootstrap interval over repeats); writes the per-repeat gaps (``--out`` CSV) and the gap against budget
(``--plot`` PNG).

Development::

    nice .venv/bin/python benchmarks/bench_adaptive_vs_peers.py --repeats 3 \\
        --out benchmarks/results/adaptive_vs_peers.csv --plot docs/_static/adaptive_gap_vs_budget.png

Final (held-out matrices, int8 0/1 models x items ``med_qa.npy`` / ``legalbench.npy`` in DIR)::

    nice .venv/bin/python benchmarks/bench_adaptive_vs_peers.py --final --heldout-dir DIR \\
        --seed-offset SEEDS --repeats 3 --out final.csv --plot final.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from magnet.peers import PEER_METHODS, load_benchpred_matrix  # noqa: E402
from magnet.peers.protocol import split_models  # noqa: E402
from predictors import _adaptive as A  # noqa: E402
from predictors import _matrix as M  # noqa: E402

BENCHMARKS = ("gsm", "math", "mmlu")
HELD_OUT = ("med_qa", "legalbench")
SPLITS = ("interpolation", "extrapolation")
BUDGETS = (10, 25, 50, 100, 200)
SLOW_PEERS = {"lasso", "random_search_and_learn"}
#: peers of a few seconds a call (IRT fits): at ``--peer-k`` only
MEDIUM_PEERS = {"pirt", "gpirt"}
#: the earlier adaptive predictors: at these budgets only (the declared one runs at every budget)
OTHER_ADAPTIVE_BUDGETS = (10, 25, 50)
#: slow peers run on only the first ``--slow-repeats`` repeats (lasso runs on every repeat)
FEWER_REPEATS = {"random_search_and_learn"}
DECLARED = "adaptive:PrototypeTesting"


def load_matrix(name: str, heldout_dir: str | None) -> np.ndarray:
    """A development matrix by name, or (``heldout_dir``) ``DIR/name.npy``: 0/1 models x items."""
    if heldout_dir is None:
        return load_benchpred_matrix(name).astype(float)
    path = Path(heldout_dir) / f"{name}.npy"
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (--heldout-dir must hold {name}.npy)")
    try:
        S = np.load(path, allow_pickle=False).astype(float)
    except ValueError as err:
        raise SystemExit(f"{path}: not a numeric .npy matrix ({err})") from None
    if S.ndim != 2 or not np.isin(S, (0.0, 1.0)).all():
        raise SystemExit(f"{path}: expected a 2-D 0/1 matrix (models x items), got shape {S.shape}")
    return S[S.mean(1) > 1e-8]


def _adaptive_predictions(S, src, tgt, budgets, r):
    """``{(method, k): (predictions, seconds)}`` of the three adaptive predictors for the targets (the seconds
    include the method's fit on the source models)."""
    out = {}
    t = time.perf_counter()
    fit = A.fit_source(S[src])
    fit_seconds = time.perf_counter() - t
    t = time.perf_counter()
    pf = A.fit_prototypes(S[src])
    proto_seconds = time.perf_counter() - t
    for k in budgets:
        t = time.perf_counter()
        choice = A.choose_estimates(S[src], k, r)
        pred = []
        for row in S[tgt]:
            order, y = A.simulate_proto(pf, row, k)
            pred.append(A.proto_estimate(pf, order, y, choice))
        out[("adaptive:PrototypeTesting", k)] = np.array(pred), time.perf_counter() - t + proto_seconds
        for name, policy in (("adaptive:ActiveTesting", "active"), ("adaptive:AdaptiveIrt", "cat")):
            if k not in OTHER_ADAPTIVE_BUDGETS:
                continue
            t = time.perf_counter()
            pred = []
            for i, row in enumerate(S[tgt]):
                order, y = A.simulate(fit, row, k, policy, seed=r * 1000 + i)
                est = A.active_estimate(fit, order, y, "active") if policy == "active" else A.cat_estimate(fit, order, y)
                pred.append(est)
            out[(name, k)] = np.clip(np.array(pred), 0, 1), time.perf_counter() - t + fit_seconds
    return out


def srs_noise(actual: np.ndarray, n_items: int, k: int) -> float:
    """The expected gap of the plain mean of a uniform random sample of ``k`` items (exact: the normal
    approximation of E|mean - p| with the finite-population variance ``p (1 - p) / k * (N - k) / (N - 1)``),
    averaged over the targets: the Bernoulli noise every estimate from ``k`` items starts from.

    Example:
        >>> round(srs_noise(np.array([0.5]), 1000, 50), 4)
        0.055
    """
    var = actual * (1 - actual) / k * (n_items - k) / (n_items - 1)
    return float(np.mean(np.sqrt(2 / np.pi * var)))


COLUMNS = ["benchmark", "split", "k", "repeat", "method", "gap", "seconds"]


def cell(bench, S, split, r, budgets, seed_offset, peer_k, slow_repeats, search_splits) -> tuple[list, float]:
    """Every method's gap on one matrix, split and repeat; and the CPU seconds the cell took."""
    cpu = time.process_time()
    rows = []
    src, tgt = split_models(S, split, r)
    actual = S[tgt].mean(1)

    def add(method, k, pred, t0=None, seconds=None):
        rows.append((bench, split, k, r, method, float(np.abs(np.asarray(pred) - actual).mean()),
                     time.perf_counter() - t0 if seconds is None else seconds))

    for k in budgets:
        rows.append((bench, split, k, r, "reference:random_sample_expected", srs_noise(actual, S.shape[1], k), 0.0))
    for (method, k), (pred, seconds) in _adaptive_predictions(S, src, tgt, budgets, r).items():
        add(method, k, pred, seconds=seconds)
    for k in budgets:
        t = time.perf_counter()
        core = M.select_coreset(S[src], k, r)[0]
        add("magnet:CoresetEnsemble", k, M.ensemble_estimate(S[src], core, S[tgt][:, core], r), t)
        rand = np.asarray(PEER_METHODS["random_sampling"].select(S[src], k, r), dtype=int)
        for name, m in PEER_METHODS.items():
            if name in SLOW_PEERS | MEDIUM_PEERS and k != peer_k:
                continue
            if name in FEWER_REPEATS and (r - seed_offset >= slow_repeats or split not in search_splits):
                continue
            t = time.perf_counter()
            c = np.asarray(m.select(S[src], k, r), dtype=int) if m.chooses_coreset else rand
            add(f"peer:{name}", k, m(S[src], c, S[tgt][:, c], r), t)
    return rows, time.process_time() - cpu


def gaps(matrices, budgets, repeats, seed_offset, peer_k, log, slow_repeats: int = 1, out=None,
         search_splits=SPLITS, jobs: int = 1) -> pd.DataFrame:
    """Per-repeat gaps of every method, cell by cell (matrix, split, repeat) on ``jobs`` processes; written to
    ``out`` after every cell, so a cut run keeps its rows."""
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(bench, S, split, r, budgets, seed_offset, peer_k, slow_repeats, search_splits)
             for bench, S in matrices.items() for split in SPLITS for r in range(seed_offset, seed_offset + repeats)]
    rows, cpu = [], 0.0

    def collect(task, result):
        nonlocal cpu
        rows.extend(result[0])
        cpu += result[1]
        log(f"{task[0]} {task[2]} repeat {task[3]} done ({result[1]:.0f} s CPU; {cpu:.0f} s CPU in all cells)")
        if out:
            pd.DataFrame(rows, columns=COLUMNS).to_csv(out, index=False)

    if jobs <= 1:
        for task in tasks:
            collect(task, cell(*task))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            for task, result in zip(tasks, pool.map(cell, *zip(*tasks))):
                collect(task, result)
    return pd.DataFrame(rows, columns=COLUMNS)


def t_interval(x: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(x) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def summarize(g: pd.DataFrame, peer_k: int, n_boot: int = 2000) -> pd.DataFrame:
    """Gap and t-interval per method and budget; ratio to the best peer at ``peer_k`` with a paired bootstrap."""
    rng = np.random.default_rng(0)
    out = []
    for (bench, split), part in g.groupby(["benchmark", "split"], sort=False):
        wide = part.pivot_table(index="repeat", columns=["method", "k"], values="gap")
        peers = [c for c in wide.columns if c[0].startswith("peer:") and c[1] == peer_k]
        best = min(peers, key=lambda c: wide[c].mean())
        for col in wide.columns:
            ok = (wide[col].notna() & wide[best].notna()).to_numpy()
            x, b = wide[col].to_numpy()[ok], wide[best].to_numpy()[ok]
            xs = wide[col].dropna().to_numpy()
            idx = rng.integers(0, len(x), size=(n_boot, len(x)))
            ratios = x[idx].mean(1) / b[idx].mean(1)
            lo, hi = t_interval(xs)
            out.append({"benchmark": bench, "split": split, "method": col[0], "k": col[1], "n": len(xs),
                        "gap": xs.mean(), "gap_lo": lo, "gap_hi": hi, "best_peer": best[0], "n_paired": len(x),
                        "ratio": x.mean() / b.mean(), "ratio_lo": np.quantile(ratios, 0.025),
                        "ratio_hi": np.quantile(ratios, 0.975)})
    return pd.DataFrame(out)


def verdict(summary: pd.DataFrame, method: str = DECLARED, peer_k: int = 50) -> str:
    """The issue's targets for ``method``: mean ratio at ``peer_k`` <= 0.8 per split, every matrix <= 1.0,
    and at half the budget every matrix <= 1.0 (no worse than the best peer at ``peer_k``)."""
    lines = []
    for split, s in summary[summary.method == method].groupby("split", sort=False):
        at = s[s.k == peer_k]
        half = s[s.k == peer_k // 2]
        lines.append(f"{split}: mean ratio at {peer_k} = {at.ratio.mean():.3f} (target <= 0.8: "
                     f"{'met' if at.ratio.mean() <= 0.8 else 'NOT met'}); worst matrix {at.ratio.max():.3f} "
                     f"(<= 1.0: {'met' if at.ratio.max() <= 1.0 else 'NOT met'}); at {peer_k // 2} worst "
                     f"{half.ratio.max():.3f} (<= 1.0: {'met' if len(half) and half.ratio.max() <= 1.0 else 'NOT met'})")
    return "\n".join(lines)


def plot(summary: pd.DataFrame, path: Path, peer_k: int = 50) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = summary[["benchmark", "split"]].drop_duplicates().to_numpy().tolist()
    benches = list(dict.fromkeys(b for b, _ in cells))
    fig, axes = plt.subplots(2, len(benches), figsize=(4.6 * len(benches), 8), sharex=True, squeeze=False)
    for bench, split in cells:
        ax = axes[SPLITS.index(split), benches.index(bench)]
        s = summary[(summary.benchmark == bench) & (summary.split == split)]
        best = s.best_peer.iloc[0]
        shown = [m for m in s.method.unique() if m.startswith(("adaptive:", "magnet:")) or m == best]
        for method in shown:
            m = s[s.method == method].sort_values("k")
            style = dict(marker="o", capsize=3, lw=2.2 if method == DECLARED else 1.2)
            if method.startswith("peer:"):
                style.update(ls="--", color="k")
            bars = [m.gap - m.gap_lo, m.gap_hi - m.gap] if m.n.min() >= 3 else None  # t(1) intervals would fill the panel
            ax.errorbar(m.k, m.gap, yerr=bars, label=method, **style)
        others = s[s.method.str.startswith("peer:") & (s.method != best)]
        floor = others.groupby("k").gap.min()
        ax.plot(floor.index, floor.values, color="grey", lw=0.8, ls=":", label="min of the other peers")
        at = s[(s.method == best) & (s.k == peer_k)].gap.iloc[0]
        ax.axhline(0.8 * at, color="red", lw=0.8, ls="-.", label=f"0.8x best peer at {peer_k} (target)")
        ax.set_xscale("log")
        ax.set_xticks(sorted(s.k.unique()))
        ax.set_xticklabels([str(k) for k in sorted(s.k.unique())])
        ax.set_title(f"{bench}, {split} (best peer at {peer_k}: {best[5:]})", fontsize=9)
        ax.set_xlabel("items revealed per eval model (budget)")
        ax.set_ylabel("mean |predicted - actual|")
        ax.set_ylim(0, min(0.15, s.gap_hi.max() * 1.05))
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed-offset", type=int, default=1000)
    ap.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    ap.add_argument("--peer-k", type=int, default=50)
    ap.add_argument("--benchmarks", help=f"comma-separated (default {','.join(BENCHMARKS)}; with --final "
                                         f"also {','.join(HELD_OUT)})")
    ap.add_argument("--slow-repeats", type=int, default=1,
                    help=f"repeats of {sorted(FEWER_REPEATS)} (default 1; lasso runs on every repeat)")
    ap.add_argument("--search-splits", default="interpolation",
                    help="splits on which random-search-and-learn runs (default interpolation: about 100 s a call; "
                         "on extrapolation its ridge, fitted on the weaker half, was 3-5x the best peer)")
    ap.add_argument("--final", action="store_true", help="the held-out measurement: allows med_qa and legalbench")
    ap.add_argument("--heldout-dir", help="with --final: folder of med_qa.npy and legalbench.npy")
    ap.add_argument("--jobs", type=int, default=1, help="processes (cells run in parallel; default 1)")
    ap.add_argument("--out", help="per-repeat gaps (CSV)")
    ap.add_argument("--plot", help="PNG of gap against budget")
    ap.add_argument("--from-csv", help="summarize these per-repeat gaps instead of measuring")
    args = ap.parse_args(argv)
    default = BENCHMARKS + (HELD_OUT if args.final else ())
    benches = args.benchmarks.split(",") if args.benchmarks else list(default)
    if set(HELD_OUT) & set(benches) and not args.final:
        raise SystemExit("med_qa and legalbench are the held-out check: only with --final --heldout-dir DIR")
    if args.final and set(HELD_OUT) & set(benches) and not args.heldout_dir:
        raise SystemExit("--final: --heldout-dir DIR (with med_qa.npy and legalbench.npy) is required")
    if args.heldout_dir and not args.final:
        raise SystemExit("--heldout-dir: only with --final")
    start = time.time()
    if args.from_csv:
        g = pd.read_csv(args.from_csv)
    else:
        matrices = {b: load_matrix(b, args.heldout_dir if b in HELD_OUT else None) for b in benches}
        budgets = sorted({int(b) for b in args.budgets.split(",")} | {args.peer_k})
        g = gaps(matrices, budgets, args.repeats, args.seed_offset, args.peer_k,
                 lambda msg: print(f"[{time.time() - start:7.1f} s] {msg}", file=sys.stderr, flush=True),
                 args.slow_repeats, args.out, tuple(args.search_splits.split(",")), args.jobs)
    summary = summarize(g, args.peer_k)
    pd.set_option("display.width", 220)
    pd.set_option("display.max_rows", 2000)
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    shown = summary[summary.method.str.startswith(("adaptive:", "magnet:", "reference:"))]
    print("\nmean ratio to the best peer at", args.peer_k, "over the matrices, per split, method and budget:")
    print(shown.groupby(["split", "method", "k"]).ratio.mean().unstack("k").to_string(float_format=lambda x: f"{x:.3f}"))
    print(f"\ntargets for {DECLARED}:\n" + verdict(summary, DECLARED, args.peer_k))
    print(f"\n[{time.time() - start:.0f} s wall]")
    if args.plot:
        plot(summary, Path(args.plot), args.peer_k)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
