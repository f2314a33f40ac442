"""Run a predictor over all folds: parallel, fault-tolerant, incremental and resumable.

Each fold's predictor call is isolated: an exception, a time-out, NaN/inf
values, missing or unknown runs are recorded for that fold with the reason,
and the other folds go on. With ``out_dir`` every finished fold is appended
at once to ``predictions.jsonl`` and ``folds.jsonl``; a rerun with the same
configuration skips the folds already done, so an interrupted run resumes
where it stopped; a fold that failed (or was partial) is run again, so a
predictor fixed after a failed run is not shown its old error.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(ExampleRandomPredictor(), corpus, split="leave-one-model-out", progress=False)
    >>> [f.status for f in result.folds]
    ['ok', 'ok', 'ok', 'ok']
    >>> result.predictions["run_spec.name"].nunique() == len(corpus.run_specs)
    True
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from magnet.errors import UserError
from magnet.protocol.checks import fold_warnings, reveal_warnings, warn_all
from magnet.protocol.corpus import Corpus
from magnet.predictions import check_predictions, predictions_to_frame
from magnet.protocol.predict_call import wants_eval_per_instance_stats, wants_per_instance_stats
from magnet.protocol.execution import check_backend, iter_local, iter_ray
from magnet.protocol.fold_run import FoldResult, PredictorTimeout, run_fold
from magnet.protocol.reveal_modes import main_scores, reveal_for
from magnet.protocol.splits import Fold, PredictorInputs, fold_inputs, make_folds, write_reveal_sequence


@dataclass
class ProtocolResult:
    """Predictions of one predictor under one split strategy, and the fate of each fold."""

    predictor: str
    split: str
    predictions: pd.DataFrame
    folds: list[FoldResult]
    revealed: dict[str, list[str]]
    config: dict = field(default_factory=dict)

    @property
    def failed_folds(self) -> list[FoldResult]:
        return [f for f in self.folds if f.status != "ok"]


def _config(predictor, corpus: Corpus, split: str, n_folds: int, num_eval_samples, seed: int) -> dict:
    return {
        "predictor": predictor.name, "predictor_params": {k: repr(v) for k, v in sorted(vars(predictor).items())},
        "corpus": corpus.source, "runs": len(corpus.run_specs), "split": split, "n_folds": n_folds,
        "num_eval_samples": num_eval_samples, "seed": seed,
        "targets": sorted(corpus.targets["target.name"].unique().tolist()),
    }


#: Without a terminal, a progress line at most this often (seconds), and one when a split is done.
PROGRESS_EVERY = 30.0

_OPTION = {"num_eval_samples": "--num-eval-samples", "seed": "--seed", "n_folds": "--n-folds", "split": "--split",
           "corpus": "--root-dir", "runs": "--root-dir (runs)", "targets": "--stat", "reveal_mode": "--reveal",
           "eval_fraction": "--eval-fraction", "train_fraction": "--train-fraction",
           "predictor_params": "predictor parameters"}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Store:
    """Append-only JSONL record of finished folds and their predictions."""

    def __init__(self, out_dir: Path, config: dict):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        cfg_path = self.dir / "config.json"
        if cfg_path.exists():
            old = json.loads(cfg_path.read_text())
            if old != config:
                changed = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
                diffs = "; ".join(f"{_OPTION.get(k, k)} {_short(config.get(k))} now, {_short(old.get(k))} there"
                                  for k in changed)
                # magnet benchmark keeps each predictor x split in <--out>/runs/<name>: name the folder the user gave
                where = self.dir.parent.parent if self.dir.parent.name == "runs" else self.dir
                what = f" ({self.dir.name})" if where != self.dir else ""
                raise UserError(f"--out {where}", f"holds a run{what} with another setting: {diffs}",
                                hint="add --overwrite to replace it, or choose a new --out folder")
        else:
            cfg_path.write_text(json.dumps(config, indent=2, sort_keys=True))

    def done(self) -> tuple[dict[int, FoldResult], pd.DataFrame]:
        folds: dict[int, FoldResult] = {}
        path = self.dir / "folds.jsonl"
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    rec = FoldResult(**json.loads(line))
                except (ValueError, TypeError):
                    continue  # a line cut short by an interruption
                folds[rec.index] = rec
        # Only folds that succeeded count as done: a failed or partial one runs again (its user may have fixed
        # the predictor meanwhile), and its old predictions are dropped with its batch.
        folds = {i: f for i, f in folds.items() if f.status == "ok"}
        preds = pd.DataFrame()
        ppath = self.dir / "predictions.jsonl"
        if ppath.exists() and folds:
            rows = []
            for line in ppath.read_text().splitlines():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
            batches = {f.batch for f in folds.values()}
            preds = pd.DataFrame([r for r in rows if r.get("batch") in batches])
        return folds, preds

    def append(self, predictions: pd.DataFrame | None, result: FoldResult) -> None:
        if predictions is not None and len(predictions):
            # json.dumps writes floats exactly (pandas' to_json keeps only 10 significant digits).
            records = predictions.assign(batch=result.batch).to_dict(orient="records")
            self._append("predictions.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        self._append("folds.jsonl", json.dumps(asdict(result)) + "\n")

    def _append(self, name: str, text: str) -> None:
        with open(self.dir / name, "a") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def run_protocol(
    predictor,
    corpus: Corpus,
    *,
    split: str = "kfold",
    n_folds: int = 5,
    num_eval_samples: float = 10,
    seed: int = 0,
    n_jobs: int = 1,
    timeout: float | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    backend: str = "local",
    ray_address: str | None = None,
    reveal_mode: str = "per-run",
    eval_fraction: float | None = None,
    train_fraction: float | None = None,
) -> ProtocolResult:
    """Run ``predictor`` on every fold of ``split``; see the module docstring.

    Parameters
    ----------
    predictor: a :class:`~magnet.predictor.Predictor` instance.
    corpus: the runs (:class:`~magnet.protocol.corpus.Corpus`).
    split: a strategy of :mod:`magnet.protocol.splits`; ``n_folds`` for ``kfold``.
    num_eval_samples: revealed instances per eval run (int) or fraction (float < 1).
    seed: seeds the folds and the revealed samples.
    n_jobs: folds run in parallel worker processes when > 1 (forked: they share the corpus).
    timeout: seconds per fold; a slower predictor call is recorded as failed.
    out_dir: write predictions incrementally here and resume from it.
    backend: ``"local"`` (this process, or forked workers with ``n_jobs``) or
        ``"ray"`` (Ray tasks; ``ray_address`` of a cluster, default a local Ray);
        see :mod:`magnet.protocol.execution`. Every backend gives the same predictions.
    reveal_mode: ``per-run``, ``shared`` or ``predictor`` (:mod:`magnet.protocol.reveal_modes`).
    eval_fraction, train_fraction: model shares of the ``interpolation`` / ``extrapolation`` splits.
    """

    check_backend(backend)
    folds = make_folds(corpus.run_specs, split, n_folds=n_folds, seed=seed,
                       scores=main_scores(corpus) if split == "extrapolation" else None,
                       eval_fraction=eval_fraction, train_fraction=train_fraction)
    revealed = reveal_for(corpus, folds, reveal_mode, num_eval_samples, seed, predictor)
    warn_all(fold_warnings(folds) + reveal_warnings(revealed, corpus.eval_instances))
    config = _config(predictor, corpus, split, n_folds, num_eval_samples, seed)
    if (reveal_mode, eval_fraction, train_fraction) != ("per-run", None, None):
        config.update(reveal_mode=reveal_mode, eval_fraction=eval_fraction, train_fraction=train_fraction)
    store = _Store(Path(out_dir), config) if out_dir else None
    if store:
        write_reveal_sequence(revealed, store.dir / "revealed.json", num_eval_samples, seed)  # adaptive only
    finished, previous = store.done() if store else ({}, pd.DataFrame())
    todo = [f for f in folds if f.index not in finished]

    wants = wants_per_instance_stats(predictor)
    wants_eval = wants_eval_per_instance_stats(predictor)

    def inputs_of(fold: Fold) -> PredictorInputs:
        return fold_inputs(corpus, fold, revealed, with_per_instance=wants, with_eval_per_instance=wants_eval)

    results: dict[int, FoldResult] = dict(finished)
    frames = [previous.drop(columns=["batch"])] if len(previous) else []

    def record(fold: Fold, predictions, result: FoldResult) -> None:
        result.batch = uuid.uuid4().hex[:12]
        if predictions is not None:
            predictions = predictions.assign(fold=fold.index, fold_label=fold.label)
            frames.append(predictions)
        if store:
            store.append(predictions, result)
        results[fold.index] = result

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rich.console import Console

    show = progress and Console().is_terminal  # no bar (nor its blank lines) in logs and pipes
    with Progress(TextColumn(f"{predictor.name} / {split}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, disable=not show) as bar:
        task = bar.add_task("folds", total=len(folds), completed=len(finished))
        if backend == "ray":
            stream = iter_ray(todo, predictor, corpus, revealed, wants, timeout, ray_address)
        else:
            stream = iter_local(todo, predictor, inputs_of, timeout, n_jobs, corpus, revealed, wants)
        last = start = time.monotonic()
        for fold, predictions, result in stream:
            record(fold, predictions, result)
            bar.advance(task)
            now, done = time.monotonic(), len(results)
            if progress and not show and (now - last >= PROGRESS_EVERY or done == len(folds)):
                # no terminal (a script, CI): a plain line on stderr every 30 s and when the split is done
                print(f"{predictor.name} / {split}: {done} of {len(folds)} folds done ({now - start:.0f} s)",
                      file=sys.stderr, flush=True)
                last = now

    predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(predictions):
        # Fold order, whatever order the folds finished in: every backend gives the same table.
        predictions = predictions.sort_values("fold", kind="stable").reset_index(drop=True)
        predictions = predictions.assign(predictor=predictor.name, split=split)
    ordered = [results[f.index] for f in folds]
    return ProtocolResult(predictor.name, split, predictions, ordered, revealed, config)


