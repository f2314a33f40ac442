"""Issue 32's measurement: adaptive predictors at budgets 25 / 50 against every fixed-coreset peer at 50 items.

For each HELM Lite matrix (gsm, math, mmlu; never med_qa or legalbench), split (the peers'
``split_models``) and repeat r (seeds 1000..1000+R-1, which the development never used), in one run:

* ``ActiveTesting`` (active policy + sequential difference estimator) and ``AdaptiveIrt`` (Fisher
  information CAT + residual-corrected 2PL), 2PL fitted on the source models only, each target model
  asking K items (``predictors._adaptive.simulate``: the same policy and estimator functions the
  predictors call);
* every peer of ``magnet.peers.PEER_METHODS`` on its own coreset of 50 items (or the random one).

Gap = mean over target models of |predicted - actual| per repeat. Prints, per matrix and split, each
method's gap with a 95% t-interval over repeats and its ratio to the best peer at 50 (the peer with the
smallest mean gap in this run) with a paired bootstrap interval over repeats; writes the per-repeat gaps
(``--out`` CSV) and a plot of gap against budget (``--plot``).

Usage::

    nice .venv/bin/python benchmarks/bench_adaptive_vs_peers.py --repeats 5 \\
        --out benchmarks/results/adaptive_vs_peers.csv --plot docs/_static/adaptive_gap_vs_budget.png
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

BENCHMARKS = ("gsm", "math", "mmlu")
SPLITS = ("interpolation", "extrapolation")
#: minutes per call on 2 shared cores: run on the first ``--slow-repeats`` repeats only (then not a "best peer"
#: candidate, which needs every repeat; their gap is printed beside the others)
SLOW_PEERS = {"random_search_and_learn", "lasso"}
ADAPTIVE = {"adaptive:ActiveTesting": ("active", lambda fit, o, y: A.active_estimate(fit, o, y, "active")),
            "adaptive:AdaptiveIrt": ("cat", lambda fit, o, y: A.cat_estimate(fit, o, y))}


def gaps(benchmarks, budgets, repeats, seed_offset, peer_k, log, slow_repeats: int = 1, out=None) -> pd.DataFrame:
    """Per-repeat gaps of every method (written to ``out`` after every repeat, so a cut run keeps its rows)."""
    rows = []
    columns = ["benchmark", "split", "k", "repeat", "method", "gap", "seconds"]
    for bench in benchmarks:
        S = load_benchpred_matrix(bench).astype(float)
        for split in SPLITS:
            for r in range(seed_offset, seed_offset + repeats):
                src, tgt = split_models(S, split, r)
                actual = S[tgt].mean(1)
                fit = A.fit_source(S[src])
                for name, (policy, estimate) in ADAPTIVE.items():
                    for k in budgets:
                        t = time.perf_counter()
                        pred = []
                        for i, row in enumerate(S[tgt]):
                            order, y = A.simulate(fit, row, k, policy, seed=r * 1000 + i)
                            pred.append(float(np.clip(estimate(fit, order, y), 0, 1)))
                        rows.append((bench, split, k, r, name, float(np.abs(np.array(pred) - actual).mean()),
                                     time.perf_counter() - t))
                core = np.asarray(PEER_METHODS["random_sampling"].select(S[src], peer_k, r), dtype=int)
                for name, m in PEER_METHODS.items():
                    if name in SLOW_PEERS and r - seed_offset >= slow_repeats:
                        continue
                    t = time.perf_counter()
                    c = np.asarray(m.select(S[src], peer_k, r), dtype=int) if m.chooses_coreset else core
                    pred = m(S[src], c, S[tgt][:, c], r)
                    rows.append((bench, split, peer_k, r, f"peer:{name}", float(np.abs(pred - actual).mean()),
                                 time.perf_counter() - t))
                log(f"{bench} {split} repeat {r} done")
                if out:
                    pd.DataFrame(rows, columns=columns).to_csv(out, index=False)
    return pd.DataFrame(rows, columns=columns)


def t_interval(x: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(x) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def summarize(g: pd.DataFrame, peer_k: int, n_boot: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = []
    for (bench, split), part in g.groupby(["benchmark", "split"], sort=False):
        wide = part.pivot_table(index="repeat", columns=["method", "k"], values="gap")
        peers = [c for c in wide.columns if c[0].startswith("peer:") and c[1] == peer_k and wide[c].notna().all()]
        best = min(peers, key=lambda c: wide[c].mean())
        for col in wide.columns:
            ok = wide[col].notna().to_numpy()
            x, b = wide[col].to_numpy()[ok], wide[best].to_numpy()[ok]
            idx = rng.integers(0, len(x), size=(n_boot, len(x)))
            ratios = x[idx].mean(1) / b[idx].mean(1)
            lo, hi = t_interval(x)
            out.append({"benchmark": bench, "split": split, "method": col[0], "k": col[1], "n": len(x),
                        "gap": x.mean(), "gap_lo": lo, "gap_hi": hi, "best_peer": best[0],
                        "ratio": x.mean() / b.mean(), "ratio_lo": np.quantile(ratios, 0.025),
                        "ratio_hi": np.quantile(ratios, 0.975)})
    return pd.DataFrame(out)


def plot(summary: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = summary[["benchmark", "split"]].drop_duplicates().to_numpy().tolist()
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True)
    for ax, (bench, split) in zip(axes.T.ravel(), cells):
        s = summary[(summary.benchmark == bench) & (summary.split == split)]
        for method, m in s[s.method.str.startswith("adaptive:")].groupby("method"):
            m = m.sort_values("k")
            ax.errorbar(m.k, m.gap, yerr=[m.gap - m.gap_lo, m.gap_hi - m.gap], marker="o", capsize=3,
                        label=method.split(":")[1])
        best = s[(s.method == s.best_peer.iloc[0]) & (s.k == s[s.method == s.best_peer.iloc[0]].k.max())].iloc[0]
        ax.axhline(best.gap, color="k", ls="--", lw=1, label=f"best peer at {int(best.k)}: {best.method[5:]}")
        ax.axhline(0.8 * best.gap, color="grey", ls=":", lw=1, label="0.8x best peer (target)")
        ax.set_title(f"{bench}, {split}")
        ax.set_xlabel("items revealed per eval model (budget)")
        ax.set_ylabel("mean |predicted - actual|")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed-offset", type=int, default=1000)
    ap.add_argument("--budgets", default="25,50")
    ap.add_argument("--peer-k", type=int, default=50)
    ap.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    ap.add_argument("--slow-repeats", type=int, default=1, help=f"repeats of {sorted(SLOW_PEERS)} (default 1)")
    ap.add_argument("--out", help="per-repeat gaps (CSV)")
    ap.add_argument("--plot", help="PNG of gap against budget")
    ap.add_argument("--from-csv", help="summarize these per-repeat gaps instead of measuring")
    args = ap.parse_args(argv)
    benches = args.benchmarks.split(",")
    if {"med_qa", "legalbench"} & set(benches):
        raise SystemExit("med_qa and legalbench are the held-out check: not in development runs")
    start = time.time()
    if args.from_csv:
        g = pd.read_csv(args.from_csv)
    else:
        g = gaps(benches, [int(b) for b in args.budgets.split(",")], args.repeats, args.seed_offset, args.peer_k,
                 lambda msg: print(f"[{time.time() - start:7.1f} s] {msg}", file=sys.stderr, flush=True),
                 args.slow_repeats, args.out)
    summary = summarize(g, args.peer_k)
    pd.set_option("display.width", 200)
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    shown = summary[summary.method.str.startswith("adaptive:")]
    print("\nmean ratio to the best peer over the matrices, per split, method and budget:")
    print(shown.groupby(["split", "method", "k"]).ratio.mean().to_string(float_format=lambda x: f"{x:.3f}"))
    if args.plot:
        plot(summary, Path(args.plot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
