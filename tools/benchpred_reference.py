"""Run the real ``benchpred`` 1.0.0 package on the shared HELM Lite matrices and record its numbers.

This tool is NOT imported by magnet and does not run in magnet's venv: ``benchpred`` pins
``numpy==1.26.4`` and its ``py-irt`` dependency wants ``torch<2``. Make a separate venv once::

    python3 -m venv /tmp/bpvenv
    /tmp/bpvenv/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl      # CPU torch, never a CUDA build
    /tmp/bpvenv/bin/pip install --no-deps benchpred==1.0.0
    /tmp/bpvenv/bin/pip install numpy==1.26.4 kmedoids pyro-ppl pyyaml tqdm pandas joblib \
        scikit-learn ordered_set rich scipy toml typer

(``benchpred`` vendors its own copy of py-irt under ``benchpred.py_irt``, so the PyPI ``py-irt``
package is not needed to run its methods.) Then, from the repository root::

    /tmp/bpvenv/bin/python tools/benchpred_reference.py --out tests/data/benchpred_reference.json

It replays the paper's ``main.py`` protocol (``process_run``) exactly: scores as float32, models with
zero accuracy dropped, ``set_random_seed(seed)`` then the split (interpolation: the first
``int(0.25 * n)`` of ``np.random.permutation(n)`` are targets; extrapolation: ``np.argsort`` of the
mean score, bottom ``int(0.5 * n)`` source, top ``int(0.3 * n)`` targets), then for every method
``fit(source, coreset_size, seed=seed)``, ``get_coreset()``, ``predict(targets' coreset scores)``.
For each (dataset, split, seed, method) it writes the source/target model indices, the coreset in
the package's order, the predictions, the true means and the gap = mean |predicted - actual|.
``tests/test_peers.py`` checks magnet's ``magnet.peers`` against these numbers.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "benchpred-helm-lite"
FAST_METHODS = [
    "random_sampling",
    "random_sampling_and_learn",
    "aipw",
    "pca",
    "lasso",
    "anchor_points_weighted",
    "anchor_points_predictor",
    "double_optimize",
]
IRT_METHODS = ["pirt", "gpirt"]  # run as one GPIRTPred fit; p-IRT is its PIRTPred.predict


def load_scores(path: Path) -> np.ndarray:
    """The matrix as ``data_utils.get_scores`` returns it: float32, zero-accuracy models dropped."""
    scores = np.load(path).astype(np.float32)
    return scores[scores.mean(-1) > 1e-8]


def split_models(scores: np.ndarray, split: str, seed: int, set_random_seed) -> tuple[list, list]:
    """``main.py``'s model split, after ``set_random_seed(seed)`` as ``process_run`` does."""
    num_model = scores.shape[0]
    set_random_seed(seed)
    if split == "interpolation":
        target = list(np.random.permutation(num_model)[: int(0.25 * num_model)])
        source = [i for i in range(num_model) if i not in target]
    elif split == "extrapolation":
        order = np.argsort(scores.mean(-1))
        source = list(order[: int(0.5 * num_model)])
        target = list(order[-int(0.3 * num_model):])
    else:
        raise ValueError(f"--splits: unknown split {split!r} (expected interpolation or extrapolation)")
    return [int(i) for i in source], [int(i) for i in target]


def run_method(name, scores, source, target, coreset_size, seed, extra):
    """Fit one benchpred method on the source models and predict the targets; a dict for the JSON."""
    from benchpred import all_methods

    method = all_methods[name]()
    t0 = time.time()
    method.fit(source_full_scores=scores[source], coreset_size=coreset_size, seed=seed, **extra)
    coreset = [int(i) for i in method.get_coreset()]
    pred = np.asarray(method.predict(scores[:, coreset][target]), dtype=float).reshape(-1)
    real = scores[target].mean(-1).astype(float)
    row = {
        "coreset": coreset,
        "pred": [float(x) for x in pred],
        "real": [float(x) for x in real],
        "gap": float(np.fabs(pred - real).mean()),
        "seconds": round(time.time() - t0, 2),
    }
    if extra:
        row["fit_kwargs"] = extra
    if name == "anchor_points_weighted":
        row["weights"] = [float(w) for w in method.weights]
    if name == "pca":
        row["n_comp"] = int(method.n_comp)
    if name == "lasso":
        row["alpha"] = float(method.rgs.alpha)
    if name in IRT_METHODS:
        if name == "gpirt":
            row["lambd"] = float(method.lambd)
        row["anchor_weights"] = [float(w) for w in method.anchor_weights]
    return row, method


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/data/benchpred_reference.json"))
    parser.add_argument("--datasets", nargs="+", default=["gsm"])
    parser.add_argument("--splits", nargs="+", default=["interpolation", "extrapolation"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--coreset-size", type=int, default=50)
    parser.add_argument("--methods", nargs="+", default=FAST_METHODS)
    parser.add_argument("--irt-seeds", type=int, nargs="*", default=[0],
                        help="seeds on which pirt/gpirt also run (three Pyro fits of minutes each)")
    parser.add_argument("--irt-splits", nargs="*", default=["interpolation"])
    parser.add_argument("--irt-method", choices=["pirt", "gpirt"], default="gpirt",
                        help="gpirt: three Pyro fits, p-IRT read off its first; pirt: one fit, no gp-IRT")
    parser.add_argument("--irt-only", type=Path, default=None,
                        help="add the IRT runs to this existing reference JSON instead of redoing the rest")
    parser.add_argument("--search-seeds", type=int, nargs="*", default=[0],
                        help="seeds on which random_search_and_learn runs, with --num-search draws")
    parser.add_argument("--num-search", type=int, default=200)
    args = parser.parse_args(argv)

    import benchpred
    import sklearn
    import torch
    from benchpred.base import set_random_seed
    from importlib.metadata import version

    out = {
        "about": "Numbers from the real benchpred package (see tools/benchpred_reference.py).",
        "versions": {
            "benchpred": version("benchpred"),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
            "kmedoids": version("kmedoids"),
        },
        "coreset_size": args.coreset_size,
        "runs": [],
    }
    irt_params = {}
    if args.irt_only is not None:
        out = json.loads(args.irt_only.read_text())
    for dataset in (args.datasets if args.irt_only is None else []):
        scores = load_scores(DATA / f"{dataset}.npy")
        for split in args.splits:
            for seed in args.seeds:
                source, target = split_models(scores, split, seed, set_random_seed)
                run = {"dataset": dataset, "split": split, "seed": seed,
                       "n_models": int(scores.shape[0]), "source": source, "target": target,
                       "methods": {}}
                names = list(args.methods)
                if seed in args.search_seeds:
                    names.append("random_search_and_learn")
                for name in names:
                    extra = {"num_search": args.num_search} if name == "random_search_and_learn" else {}
                    row, _ = run_method(name, scores, source, target, args.coreset_size, seed, extra)
                    run["methods"][name] = row
                    print(f"{dataset} {split} seed={seed} {name}: gap={row['gap']:.4f} ({row['seconds']} s)",
                          flush=True)
                out["runs"].append(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, separators=(",", ":")))  # a usable file before the slow part
    # the IRT methods last: one (pirt) or three (gpirt) Pyro fits of minutes each per run
    torch.set_num_threads(1)
    for run in out["runs"]:
        if run["seed"] not in args.irt_seeds or run["split"] not in args.irt_splits:
            continue
        scores = load_scores(DATA / f"{run['dataset']}.npy")
        source, target = run["source"], run["target"]
        row, method = run_method(args.irt_method, scores, source, target, args.coreset_size, run["seed"], {})
        run["methods"][args.irt_method] = row
        if args.irt_method == "gpirt":
            # GPIRTPred's first fit is PIRTPred.fit with the same seed (Pyro reseeded), so
            # PIRTPred.predict on it is what all_methods["pirt"] gives
            from benchpred import PIRTPred

            pred = np.asarray(PIRTPred.predict(method, scores[:, row["coreset"]][target]), dtype=float)
            run["methods"]["pirt"] = {
                "coreset": row["coreset"], "pred": [float(x) for x in pred], "real": row["real"],
                "gap": float(np.fabs(pred - np.asarray(row["real"])).mean()),
                "via": "PIRTPred.predict on the gpirt fit"}
        for name in [n for n in IRT_METHODS if n in run["methods"]]:
            print(f"{run['dataset']} {run['split']} seed={run['seed']} {name}: "
                  f"gap={run['methods'][name]['gap']:.4f} ({row['seconds']} s)", flush=True)
        if not irt_params:
            # the fitted item parameters of one run, so a test can check the prediction step
            # (anchors, ability fit, p-IRT formula) apart from the stochastic SVI fit
            irt_params = {"dataset": run["dataset"], "split": run["split"], "seed": run["seed"],
                          "A": np.round(method.A[0], 6).tolist(), "B": np.round(method.B[0], 6).tolist()}
    if irt_params:
        out["pirt_params"] = irt_params
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, separators=(",", ":")))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
