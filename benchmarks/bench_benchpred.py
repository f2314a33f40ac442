"""Benchmark prediction on real HELM Lite outcomes: magnet's score-matrix predictors vs the peers' methods.

Two parts, in one run:

1. **Gap table** (array level, the peers' protocol): on each shared matrix (gsm, math, mmlu; 83
   models), for each coreset size and split, every magnet estimator (``predictors/_matrix.py``) and
   every peer method (``magnet.peers.PEER_METHODS``) predicts the target models' full means from
   their coreset scores. Random-coreset methods share the coreset of a repeat; the others choose
   theirs from the source models. Repeat r uses seed r: interpolation draws new target models and a
   new coreset, extrapolation (fixed models) a new coreset. The gap of a repeat is the mean over
   targets of |predicted - actual|; the table shows its mean over repeats with a 95% t-interval
   (repeats are independent draws), and the ratio of each method's mean gap to the best peer's with
   a 95% bootstrap interval over repeats (paired). Slow peer methods (seconds to minutes per call)
   run ``--slow-repeats`` repeats only; the ``n`` column says how many.
2. **magnet pipeline at coreset 50**: each matrix imported with ``import_scores``, then
   ``magnet.protocol.benchmark.benchmark`` with both splits and ``--pipeline-repeats`` repeats for the
   magnet predictors and the fast peer predictors (``--reveal shared`` for the random-coreset ones,
   ``--reveal predictor`` for the peers that choose their coreset): MAE with cluster-bootstrap
   intervals and the MBE verdict of each.

Writes ``benchmarks/results/benchpred_gaps.csv``, ``benchpred_pipeline.csv``,
``benchpred_gap_vs_k.png`` and prints the tables and the README block.

    .venv/bin/python benchmarks/bench_benchpred.py                      # full (about 30 min on 2 cores)
    .venv/bin/python benchmarks/bench_benchpred.py --sizes 50 --repeats 3 --slow-repeats 1 --pipeline-repeats 2
    .venv/bin/python benchmarks/bench_benchpred.py --sizes 50 --repeats 5 --slow-repeats 5 \
        --skip-peers random_search_and_learn --pipeline-repeats 0 --out /tmp/all_peers   # every peer but one (15 min)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from magnet.peers import PEER_METHODS, load_benchpred_matrix, shared_data_dir  # noqa: E402
from magnet.peers.protocol import split_models  # noqa: E402
from predictors import _matrix  # noqa: E402

MAGNET = {"magnet:sample_mean": _matrix._sample_mean, "magnet:irt": _matrix.irt_estimate,
          "magnet:irt_difference": _matrix.irt_dr_estimate, "magnet:item_ridge_difference": _matrix.item_ridge_dr_estimate,
          "magnet:learn": _matrix.learn_estimate, "magnet:calibrated_irt_difference": _matrix.calibrated_irt_dr_estimate,
          "magnet:difference_average": _matrix.difference_average, "magnet:ensemble": _matrix.ensemble_estimate}
#: magnet's shipped predictor (``predictors.matrix.CoresetEnsemble`` under ``--reveal predictor``): it chooses its
#: coreset (``_matrix.select_coreset``) and predicts with ``_matrix.ensemble_estimate``. Declared before the run:
#: the README compares this one with the best peer, not the best of magnet's methods after the fact.
MAGNET_MAIN = "magnet:ensemble_select"
SLOW_PEERS = {"pca", "pirt", "gpirt", "random_search_and_learn", "lasso"}  # 20 s to minutes per call on 2 cores
BENCHMARKS = ("gsm", "math", "mmlu")
SPLITS = ("interpolation", "extrapolation")


def t_interval(x: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(x) < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def gap_rows(sizes, repeats, slow_repeats, log, slow_sizes=(50,), seed_offset=0, skip=()) -> pd.DataFrame:
    rows = []
    for bench in BENCHMARKS:
        S = load_benchpred_matrix(bench).astype(float)
        for split in SPLITS:
            for k in sizes:
                for r in range(seed_offset, seed_offset + repeats):
                    src, tgt = split_models(S, split, r)
                    actual = S[tgt].mean(1)
                    core = np.asarray(PEER_METHODS["random_sampling"].select(S[src], k, r), dtype=int)
                    for name, fn in MAGNET.items():
                        t = time.perf_counter()
                        pred = fn(S[src], core, S[tgt][:, core], r)
                        rows.append((bench, split, k, r, name, float(np.abs(pred - actual).mean()),
                                     time.perf_counter() - t))
                    t = time.perf_counter()
                    own, _ = _matrix.select_coreset(S[src], k, r)
                    pred = _matrix.ensemble_estimate(S[src], own, S[tgt][:, own], r)
                    rows.append((bench, split, k, r, MAGNET_MAIN, float(np.abs(pred - actual).mean()),
                                 time.perf_counter() - t))
                    for name, m in PEER_METHODS.items():
                        if name in skip:
                            continue
                        if name in SLOW_PEERS and (r - seed_offset >= slow_repeats or k not in slow_sizes):
                            continue
                        t = time.perf_counter()
                        c = np.asarray(m.select(S[src], k, r), dtype=int) if m.chooses_coreset else core
                        pred = m(S[src], c, S[tgt][:, c], r)
                        rows.append((bench, split, k, r, f"peer:{name}", float(np.abs(pred - actual).mean()),
                                     time.perf_counter() - t))
                log(f"{bench} {split} k={k}: {repeats} repeats done")
    return pd.DataFrame(rows, columns=["benchmark", "split", "k", "repeat", "method", "gap", "seconds"])


def summarize(gaps: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = []
    for (bench, split, k), g in gaps.groupby(["benchmark", "split", "k"], sort=False):
        wide = g.pivot(index="repeat", columns="method", values="gap")
        full = wide.dropna(axis=1, thresh=len(wide))  # methods run on every repeat
        peers = [c for c in full.columns if c.startswith("peer:")]
        best_peer = full[peers].mean().idxmin()
        for method in wide.columns:
            x = wide[method].dropna()
            lo, hi = t_interval(x.to_numpy())
            b = wide.loc[x.index, best_peer].to_numpy()
            idx = rng.integers(0, len(x), size=(n_boot, len(x)))
            ratios = x.to_numpy()[idx].mean(1) / b[idx].mean(1)
            out.append({"benchmark": bench, "split": split, "k": k, "method": method, "n": len(x),
                        "gap": x.mean(), "gap_lo": lo, "gap_hi": hi, "best_peer": best_peer,
                        "ratio_to_best_peer": x.mean() / b.mean(),
                        "ratio_lo": np.quantile(ratios, 0.025), "ratio_hi": np.quantile(ratios, 0.975),
                        "seconds": g.loc[g["method"] == method, "seconds"].mean()})
    return pd.DataFrame(out)


def plot(summary: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(SPLITS), len(BENCHMARKS), figsize=(15, 8), sharex=True)
    for i, split in enumerate(SPLITS):
        for j, bench in enumerate(BENCHMARKS):
            ax = axes[i, j]
            s = summary[(summary["benchmark"] == bench) & (summary["split"] == split)]
            for method, g in s.groupby("method"):
                mine = method.startswith("magnet:")
                ax.plot(g["k"], g["gap"], marker="o" if mine else ".", lw=2.2 if mine else 1,
                        ls="-" if mine else "--", label=method, alpha=1 if mine else 0.7)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{bench}, {split}")
            ax.set_xlabel("coreset size k")
            ax.set_ylabel("gap (mean |predicted - actual|)")
            ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.84, 1))
    fig.savefig(path, dpi=110)


def pipeline(repeats: int, k: int, log) -> pd.DataFrame:
    from magnet.backends.matrix.import_scores import import_scores
    from magnet.protocol.benchmark import benchmark
    from magnet.protocol.corpus import Corpus
    from predictors.matrix import MATRIX_PREDICTORS, CoresetEnsemble
    from predictors.peers import PEER_PREDICTORS
    import warnings

    models = (shared_data_dir() / "benchpred-helm-lite" / "models.txt").read_text().split()
    from magnet.peers import PEER_METHODS as METHODS

    fast = [c for c in PEER_PREDICTORS if c.method not in SLOW_PEERS]
    # random-coreset methods share one random coreset; the methods that choose theirs do so (--reveal predictor)
    groups = {"shared": [c() for c in MATRIX_PREDICTORS] + [c() for c in fast if not METHODS[c.method].chooses_coreset],
              "predictor": [CoresetEnsemble()] + [c() for c in fast if METHODS[c.method].chooses_coreset]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for bench in BENCHMARKS:
            out = Path(tmp) / bench
            import_scores(np.load(shared_data_dir() / "benchpred-helm-lite" / f"{bench}.npy"), out, scenario=bench,
                          metric="exact_match", models=models)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                corpus = Corpus.load(out)
            for split in SPLITS:
                for mode, predictors in groups.items():
                    if not predictors:
                        continue
                    board = benchmark(predictors, corpus, splits=[split], num_eval_samples=k, repeats=repeats,
                                      reveal_mode=mode, progress=False, n_boot=1000)
                    for row in board.main_rows():
                        rows.append({"benchmark": bench, "split": split, "predictor": row.predictor, "reveal": mode,
                                     "n": row.n, "n_models": row.n_models, "mae": row.mae, "mae_lo": row.mae_ci[0],
                                     "mae_hi": row.mae_ci[1], "partial_r": row.mbe.get("partial_r"),
                                     "verdict": row.mbe.get("verdict")})
                log(f"pipeline {bench} {split} done")
    return pd.DataFrame(rows)


def readme_block(summary: pd.DataFrame, pipe: pd.DataFrame, k: int) -> str:
    lines = [f"| benchmark | split | magnet (CoresetEnsemble, own coreset; gap, 95% CI) | best peer (gap, 95% CI) | ratio [95% CI] | "
             f"MBE verdict: magnet / peer (pipeline MAE) |", "|---|---|---|---|---|---|"]
    for bench in BENCHMARKS:
        for split in SPLITS:
            s = summary[(summary["benchmark"] == bench) & (summary["split"] == split) & (summary["k"] == k)]
            if not len(s):
                continue
            best = s[s["method"] == MAGNET_MAIN].iloc[0]
            peer = s[s["method"] == best["best_peer"]].iloc[0]
            verdicts = ""
            if len(pipe):
                p = pipe[(pipe["benchmark"] == bench) & (pipe["split"] == split)]
                pm = p[(p["predictor"] == "CoresetEnsemble") & (p["reveal"] == "predictor")]
                pp = p[p["predictor"].str.startswith("peer:")]
                if len(pm) and len(pp):
                    a, b = pm.iloc[0], pp.loc[pp["mae"].idxmin()]
                    verdicts = (f"{a['predictor']} {a['verdict']} ({a['mae']:.4f}) / "
                                f"{b['predictor']} {b['verdict']} ({b['mae']:.4f})")
            lines.append(f"| {bench} | {split} | {best['method']} {best['gap']:.4f} [{best['gap_lo']:.4f}, "
                         f"{best['gap_hi']:.4f}] (n={best['n']}) | {peer['method']} {peer['gap']:.4f} "
                         f"[{peer['gap_lo']:.4f}, {peer['gap_hi']:.4f}] | {best['ratio_to_best_peer']:.2f} "
                         f"[{best['ratio_lo']:.2f}, {best['ratio_hi']:.2f}] | {verdicts} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--slow-repeats", type=int, default=0,
                    help=f"repeats of the slow peers {sorted(SLOW_PEERS)} (default 0: left out, see the README)")
    ap.add_argument("--slow-sizes", type=int, nargs="+", default=[50], help="coreset sizes of the slow peers")
    ap.add_argument("--pipeline-repeats", type=int, default=3, help="repeats of the magnet pipeline at --pipeline-k")
    ap.add_argument("--pipeline-k", type=int, default=50)
    ap.add_argument("--skip-peers", nargs="+", default=[], choices=sorted(PEER_METHODS), metavar="METHOD",
                    help="peer methods to leave out of this run (e.g. random_search_and_learn: minutes per call)")
    ap.add_argument("--seed-offset", type=int, default=1000,
                    help="repeat r uses seed offset + r (default 1000: seeds the predictors' development never used)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - start:7.1f} s] {msg}", flush=True)

    gaps = gap_rows(args.sizes, args.repeats, args.slow_repeats, log, args.slow_sizes, args.seed_offset,
                    set(args.skip_peers))
    gaps.to_csv(args.out / "benchpred_gaps_raw.csv", index=False)
    summary = summarize(gaps)
    summary.to_csv(args.out / "benchpred_gaps.csv", index=False)
    plot(summary, args.out / "benchpred_gap_vs_k.png")
    pd.set_option("display.width", 250, "display.max_rows", 500)
    for (bench, split), s in summary.groupby(["benchmark", "split"], sort=False):
        print(f"\n== {bench}, {split}: gap (mean over repeats) [95% t-interval], ratio to the best peer [bootstrap]")
        print(s.pivot(index="method", columns="k", values="gap").round(4).to_string())
        print(s[s["k"] == args.pipeline_k][["method", "n", "gap", "gap_lo", "gap_hi", "ratio_to_best_peer",
                                           "ratio_lo", "ratio_hi", "seconds"]].round(4).to_string(index=False))
    pipe = pipeline(args.pipeline_repeats, args.pipeline_k, log) if args.pipeline_repeats else pd.DataFrame()
    if len(pipe):
        pipe.to_csv(args.out / "benchpred_pipeline.csv", index=False)
        print("\n== magnet pipeline (--reveal shared, coreset", args.pipeline_k, ")")
        print(pipe.round(4).to_string(index=False))
    k50 = summary[(summary["k"] == args.pipeline_k) & summary["method"].str.startswith("magnet:")]
    print(f"\n== mean ratio to the best peer at k={args.pipeline_k} per split, over the three benchmarks (goal <= 0.9):")
    best = k50[k50["method"] != "magnet:sample_mean"].groupby(["split", "method"])["ratio_to_best_peer"].mean()
    print(best.round(3).to_string())
    print("\nREADME block:\n")
    print(readme_block(summary, pipe, args.pipeline_k))
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
