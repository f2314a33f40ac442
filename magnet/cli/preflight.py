"""Checks the command line makes before any work or any file under ``--out``: ordinary situations
(one run, no per-instance scores, too few groups for kfold) end in one ``error:`` line, not a traceback.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> check_corpus(Corpus.load(HelmOutputs.demo(preset="small")), ["kfold"], 5, seed=0)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from magnet.errors import UserError
from magnet.protocol.splits import make_folds

#: What ``--overwrite`` removes from an ``--out`` folder: only the files magnet writes there.
OUT_FILES = ("runs", "leaderboard.json", "predictions.csv", "plots", "report.html", "config.json",
             "predictions.jsonl", "folds.jsonl", "proxies.csv")


def check_corpus(corpus, splits, n_folds: int, seed: int, where: str = "--root-dir") -> None:
    """Raise a :class:`UserError` if ``corpus`` cannot be benchmarked under ``splits``."""
    n_runs = len(corpus.run_specs)
    if n_runs < 2:
        one_run_dir = (Path(str(corpus.source)) / "run_spec.json").is_file()
        raise UserError(f"{where} {corpus.source}", f"holds {n_runs} run: predicting needs runs of at least 2 models "
                        "(the train runs and the eval run)",
                        hint="point --root-dir at a benchmark_output or a suite folder, not one run" if one_run_dir
                        else "add the runs of other models to this suite (magnet ls PATH lists what it holds)")
    pis = corpus.per_instance_stats
    if not len(pis) or "per_instance_stats.instance_id" not in pis:
        raise UserError(f"{where} {corpus.source}", "no run has per_instance_stats.json: the protocol reveals "
                        "per-instance scores of the eval runs",
                        hint="copy the runs with their per_instance_stats.json (helm-run writes it)")
    for split in [s for s in splits if s == "kfold"]:
        try:
            make_folds(corpus.run_specs, split, n_folds=n_folds, seed=seed)
        except ValueError as e:
            raise UserError(f"--split {split}", f"{e} ({n_runs} runs)",
                            hint="lower --n-folds, or use --split leave-one-model-out") from None


def clear_out(out) -> None:
    """``--overwrite``: remove what magnet wrote under ``out`` (nothing else)."""
    for name in OUT_FILES:
        p = Path(out) / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
