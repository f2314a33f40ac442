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
   a 95% bootstrap interval over repeats (paired). Every peer is in the default run; the slow peer methods
   (lasso, p-IRT, gp-IRT, random-search-and-learn: seconds per call) run on the first ``--slow-repeats``
   seeds and at ``--slow-sizes`` only; the ``n`` column says how many. "Best peer" is the best of ALL peers
   (smallest mean gap over its own repeats); a method's ratio to it is paired over the repeats both ran.
2. **magnet pipeline at coreset 50**: each matrix imported with ``import_scores``, then
   ``magnet.protocol.benchmark.benchmark`` with both splits and ``--pipeline-repeats`` repeats for the
   magnet predictors and the fast peer predictors (``--reveal shared`` for the random-coreset ones,
   ``--reveal predictor`` for the peers that choose their coreset): MAE with cluster-bootstrap
   intervals and the MBE verdict of each.

Matrices (``--matrices``): gsm, math, mmlu (the shared HELM Lite copies) and any other score matrix of the
BenchPred repository snapshot (``data/scores/NAME.jbl``, e.g. arc_challenge, musr, ifeval, bbh; read with
``git show`` from ``--benchpred-repo``). **med_qa and legalbench are the held-out check**: the script refuses
them unless ``--final`` is given, and then reads them only from ``--heldout-dir`` (``med_qa.npy``,
``legalbench.npy``: 0/1 models x items, the format of ``benchpred-helm-lite/*.npy``).

Writes ``benchmarks/results/benchpred_gaps.csv``, ``benchpred_gaps_raw.csv``, ``benchpred_pipeline.csv``,
``benchpred_gap_vs_k.png`` and prints the tables, the mean ratio per split and the README block.

    .venv/bin/python benchmarks/bench_benchpred.py                      # full, every peer
    .venv/bin/python benchmarks/bench_benchpred.py --sizes 50 --repeats 10 --slow-repeats 5 --pipeline-repeats 0
    .venv/bin/python benchmarks/bench_benchpred.py --final --matrices gsm,math,mmlu,med_qa,legalbench \
        --heldout-dir DIR --seeds 2000-2009 --sizes 50 --slow-repeats 5 --pipeline-repeats 0 --out OUT
"""

from __future__ import annotations

import argparse
import io
import subprocess
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
#: coreset and its design (``_matrix.select_coreset``) and predicts with ``_matrix.ensemble_estimate`` for that
#: design. Declared before the run:
#: the README compares this one with the best peer, not the best of magnet's methods after the fact.
MAGNET_MAIN = "magnet:ensemble_select"
#: Peers run on the first ``--slow-repeats`` seeds only (seconds per call on 2 cores: lasso 3-13 s, its
#: benchpred scan of 1000 alphas from cold starts; p-IRT and gp-IRT 2-6 s; random-search-and-learn about 2 s
#: for benchpred's 10000 draws, ``magnet.peers.sampling.ridgecv_validation_gaps``). PCA is fast (0.2 s).
SLOW_PEERS = {"pirt", "gpirt", "random_search_and_learn", "lasso"}
BENCHMARKS = ("gsm", "math", "mmlu")
#: The held-out check of issue 32: never loaded without ``--final``.
HELD_OUT = ("med_qa", "legalbench")
BENCHPRED_REPO = Path("/work/.mirror/socialfoundations+benchmark-prediction/repo")
SPLITS = ("interpolation", "extrapolation")


def load_matrix(name: str, final: bool = False, heldout_dir: Path | None = None,
                repo: Path = BENCHPRED_REPO) -> np.ndarray:
    """A 0/1 score matrix (models x items, float) by name, with benchpred's rule (models with mean 0 dropped)."""
    if name in HELD_OUT:
        if not final:
            raise SystemExit(f"error: {name}: held-out matrix (issue 32's final check); refused without --final")
        if heldout_dir is None:
            raise SystemExit(f"error: {name}: --final needs --heldout-dir DIR holding {name}.npy")
        path = Path(heldout_dir) / f"{name}.npy"
        if not path.is_file():
            raise SystemExit(f"error: {path}: no such file (expected {name}.npy, 0/1 models x items)")
        scores = np.load(path)
    elif name in BENCHMARKS:
        return load_benchpred_matrix(name).astype(float)
    else:
        got = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:data/scores/{name}.jbl"], capture_output=True)
        if got.returncode:
            raise SystemExit(f"error: {name}: not in {repo} (data/scores/{name}.jbl): {got.stderr.decode().strip()}")
        import joblib

        scores = joblib.load(io.BytesIO(got.stdout))
        path = f"{repo}:data/scores/{name}.jbl"
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or np.isnan(scores).any() or not np.isin(scores, (0.0, 1.0)).all():
        raise SystemExit(f"error: {path}: expected a complete 0/1 matrix (models x items), got shape {scores.shape}")
    return scores[scores.mean(1) > 1e-8]


def parse_seeds(text: str) -> list[int]:
    """``"1000-1009"`` or ``"1,2,5"`` (or both, comma-separated) as a list of seeds."""
    out = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def t_interval(x: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(x) < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def gap_rows(matrices: dict, sizes, seeds, slow_repeats, log, slow_sizes=(50,), skip=()) -> pd.DataFrame:
    rows = []
    slow_seeds = set(seeds[:slow_repeats])
    for bench, S in matrices.items():
        for split in SPLITS:
            for k in sizes:
                for r in seeds:
                    src, tgt = split_models(S, split, r)
                    actual = S[tgt].mean(1)
                    core = np.asarray(PEER_METHODS["random_sampling"].select(S[src], k, r), dtype=int)
                    for name, fn in MAGNET.items():
                        t = time.perf_counter()
                        pred = fn(S[src], core, S[tgt][:, core], r)
                        rows.append((bench, split, k, r, name, float(np.abs(pred - actual).mean()),
                                     time.perf_counter() - t))
                    t = time.perf_counter()
                    own, design = _matrix.select_coreset(S[src], k, r)
                    pred = _matrix.ensemble_estimate(S[src], own, S[tgt][:, own], r, design=design)
                    rows.append((bench, split, k, r, MAGNET_MAIN, float(np.abs(pred - actual).mean()),
                                 time.perf_counter() - t))
                    for name, m in PEER_METHODS.items():
                        if name in skip:
                            continue
                        if name in SLOW_PEERS and (r not in slow_seeds or k not in slow_sizes):
                            continue
                        t = time.perf_counter()
                        c = np.asarray(m.select(S[src], k, r), dtype=int) if m.chooses_coreset else core
                        pred = m(S[src], c, S[tgt][:, c], r)
                        rows.append((bench, split, k, r, f"peer:{name}", float(np.abs(pred - actual).mean()),
                                     time.perf_counter() - t))
                log(f"{bench} {split} k={k}: {len(seeds)} repeats done")
    return pd.DataFrame(rows, columns=["benchmark", "split", "k", "repeat", "method", "gap", "seconds"])


def summarize(gaps: pd.DataFrame, n_boot: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = []
    for (bench, split, k), g in gaps.groupby(["benchmark", "split", "k"], sort=False):
        wide = g.pivot(index="repeat", columns="method", values="gap")
        peers = [c for c in wide.columns if c.startswith("peer:")]
        best_peer = wide[peers].mean().idxmin()  # the best of ALL peers, each on the repeats it ran
        for method in wide.columns:
            x = wide[method].dropna()
            lo, hi = t_interval(x.to_numpy())
            both = wide[[method, best_peer]].dropna()  # paired on the repeats both ran
            a, b = both[method].to_numpy(), both[best_peer].to_numpy()
            idx = rng.integers(0, len(a), size=(n_boot, len(a)))
            ratios = a[idx].mean(1) / b[idx].mean(1)
            out.append({"benchmark": bench, "split": split, "k": k, "method": method, "n": len(x), "n_paired": len(a),
                        "gap": x.mean(), "gap_lo": lo, "gap_hi": hi, "best_peer": best_peer,
                        "ratio_to_best_peer": a.mean() / b.mean(),
                        "ratio_lo": np.quantile(ratios, 0.025), "ratio_hi": np.quantile(ratios, 0.975),
                        "seconds": g.loc[g["method"] == method, "seconds"].mean()})
    return pd.DataFrame(out)


def plot(summary: pd.DataFrame, path: Path, benches) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(SPLITS), len(benches), figsize=(5 * len(benches), 8), sharex=True, squeeze=False)
    for i, split in enumerate(SPLITS):
        for j, bench in enumerate(benches):
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


def pipeline(matrices: dict, repeats: int, k: int, log) -> pd.DataFrame:
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
        for bench, S in matrices.items():
            out = Path(tmp) / bench
            import_scores(S, out, scenario=bench, metric="exact_match", models=models if len(models) == len(S) else None)
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


def readme_block(summary: pd.DataFrame, pipe: pd.DataFrame, k: int, benches) -> str:
    lines = [f"| benchmark | split | magnet (CoresetEnsemble, own coreset; gap, 95% CI) | best peer (gap, 95% CI) | ratio [95% CI] | "
             f"MBE verdict: magnet / peer (pipeline MAE) |", "|---|---|---|---|---|---|"]
    for bench in benches:
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
                         f"[{peer['gap_lo']:.4f}, {peer['gap_hi']:.4f}] (n={peer['n']}) | {best['ratio_to_best_peer']:.2f} "
                         f"[{best['ratio_lo']:.2f}, {best['ratio_hi']:.2f}] | {verdicts} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default=",".join(BENCHMARKS),
                    help="comma-separated score matrices (gsm, math, mmlu, or a BenchPred data/scores name; "
                         f"{' and '.join(HELD_OUT)} only with --final)")
    ap.add_argument("--final", action="store_true",
                    help=f"the final measurement: allows the held-out matrices {', '.join(HELD_OUT)} (from --heldout-dir)")
    ap.add_argument("--heldout-dir", type=Path, default=None, help="folder with med_qa.npy / legalbench.npy (--final)")
    ap.add_argument("--benchpred-repo", type=Path, default=BENCHPRED_REPO,
                    help="bare git snapshot of socialfoundations/benchmark-prediction (other matrices)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seeds", default=None,
                    help="seeds of the repeats, e.g. 2000-2019 or 1,2,3 (default: --seed-offset + 0..--repeats-1)")
    ap.add_argument("--slow-repeats", type=int, default=5,
                    help=f"repeats (the first seeds) of the slow peers {sorted(SLOW_PEERS)}; the others run every repeat")
    ap.add_argument("--slow-sizes", type=int, nargs="+", default=[50], help="coreset sizes of the slow peers")
    ap.add_argument("--pipeline-repeats", type=int, default=3, help="repeats of the magnet pipeline at --pipeline-k")
    ap.add_argument("--pipeline-k", type=int, default=50)
    ap.add_argument("--skip-peers", nargs="+", default=[], choices=sorted(PEER_METHODS), metavar="METHOD",
                    help="peer methods to leave out of this run (then 'best peer' is not the best of all peers)")
    ap.add_argument("--seed-offset", type=int, default=1000,
                    help="repeat r uses seed offset + r (default 1000: seeds the predictors' development never used)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.matrices.split(",") if n.strip()]
    seeds = parse_seeds(args.seeds) if args.seeds else list(range(args.seed_offset, args.seed_offset + args.repeats))
    matrices = {n: load_matrix(n, args.final, args.heldout_dir, args.benchpred_repo) for n in names}
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - start:7.1f} s] {msg}", flush=True)

    log(f"matrices {', '.join(f'{n} {S.shape[0]}x{S.shape[1]}' for n, S in matrices.items())}; seeds {seeds[0]}.."
        f"{seeds[-1]} ({len(seeds)} repeats); slow peers {sorted(SLOW_PEERS - set(args.skip_peers))} on the first "
        f"{min(args.slow_repeats, len(seeds))} seeds at k in {args.slow_sizes}; skipped peers: {args.skip_peers or 'none'}")
    gaps = gap_rows(matrices, args.sizes, seeds, args.slow_repeats, log, args.slow_sizes, set(args.skip_peers))
    gaps.to_csv(args.out / "benchpred_gaps_raw.csv", index=False)
    summary = summarize(gaps)
    summary.to_csv(args.out / "benchpred_gaps.csv", index=False)
    plot(summary, args.out / "benchpred_gap_vs_k.png", list(matrices))
    pd.set_option("display.width", 250, "display.max_rows", 500)
    for (bench, split), s in summary.groupby(["benchmark", "split"], sort=False):
        print(f"\n== {bench}, {split}: gap (mean over repeats) [95% t-interval], ratio to the best of all peers "
              f"[paired bootstrap]")
        print(s.pivot(index="method", columns="k", values="gap").round(4).to_string())
        print(s[s["k"] == args.pipeline_k][["method", "n", "n_paired", "gap", "gap_lo", "gap_hi", "ratio_to_best_peer",
                                           "ratio_lo", "ratio_hi", "seconds"]].round(4).to_string(index=False))
    pipe = pipeline(matrices, args.pipeline_repeats, args.pipeline_k, log) if args.pipeline_repeats else pd.DataFrame()
    if len(pipe):
        pipe.to_csv(args.out / "benchpred_pipeline.csv", index=False)
        print("\n== magnet pipeline (--reveal shared, coreset", args.pipeline_k, ")")
        print(pipe.round(4).to_string(index=False))
    k50 = summary[(summary["k"] == args.pipeline_k) & summary["method"].str.startswith("magnet:")]
    print(f"\n== ratio of each magnet method to the best of all peers at k={args.pipeline_k}, per matrix and split:")
    print(k50.pivot_table(index="method", columns=["split", "benchmark"], values="ratio_to_best_peer").round(3).to_string())
    print(f"\n== mean over the matrices per split (issue 32's target for {MAGNET_MAIN}, the shipped CoresetEnsemble: "
          f"<= 1.0 on each split):")
    best = k50[k50["method"] != "magnet:sample_mean"].groupby(["split", "method"])["ratio_to_best_peer"].mean()
    print(best.round(3).to_string())
    main_rows = k50[k50["method"] == MAGNET_MAIN]
    for split, g in main_rows.groupby("split"):
        print(f"{MAGNET_MAIN} {split}: mean ratio {g['ratio_to_best_peer'].mean():.3f} over {len(g)} matrices "
              f"(per matrix: {', '.join(f'{b} {r:.3f} [{lo:.2f}, {hi:.2f}]' for b, r, lo, hi in g[['benchmark', 'ratio_to_best_peer', 'ratio_lo', 'ratio_hi']].itertuples(index=False))})")
    print("\nREADME block:\n")
    print(readme_block(summary, pipe, args.pipeline_k, list(matrices)))
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
