"""One predictor on one fold: the unit of work every execution backend runs.

:func:`run_fold` calls ``predictor.predict`` on a fold's inputs under an
optional time limit and never raises for the predictor's faults: an
exception, a time-out or invalid predictions become a :class:`FoldResult`
with the reason.

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.splits import fold_inputs, make_folds, reveal
    >>> from predictors.example_random_predictor import ExampleRandomPredictor
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> fold = make_folds(corpus.run_specs, "leave-one-model-out")[0]
    >>> predictions, result = run_fold(ExampleRandomPredictor(), fold_inputs(corpus, fold, reveal(corpus, 5)), fold, None)
    >>> result.status, result.n_predictions == len(predictions) > 0
    ('ok', True)
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field

from magnet.errors import user_frames
from magnet.predictions import abstentions, check_predictions
from magnet.protocol.predict_call import call_predict
from magnet.protocol.splits import Fold, PredictorInputs


class PredictorTimeout(Exception):
    """The predictor did not return within the time limit."""


@dataclass
class FoldResult:
    """What happened in one fold."""

    index: int
    label: str
    status: str  # "ok", "partial" (some predictions invalid) or "failed"
    reason: str
    seconds: float
    n_eval_runs: int
    n_predictions: int
    batch: str = ""
    where: str = ""  # a predictor's exception: its last frames in the user's code (file:line in function; ...)
    trace: str = ""  # a predictor's exception: the full traceback (``--debug`` prints it)
    abstained: list = field(default_factory=list)  # tidy prediction rows the predictor declined, with the reason


@contextmanager
def _time_limit(seconds: float | None):
    """Raise PredictorTimeout in this (main) thread after ``seconds``; no-op without a limit."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise PredictorTimeout(f"timed out after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


#: While :func:`keeping_instances` is active: fold index -> the instance predictions of that fold run in this process.
_KEPT: dict | None = None


@contextmanager
def keeping_instances():
    """Keep what :func:`run_fold` sees of instance predictions, so that they need not be predicted again.

    Yields a dict filled with ``{fold index: instance predictions}`` (None for a
    run-level predictor) for the folds run in this process (not in forked or Ray
    workers) while the block runs.

    Example:
        >>> with keeping_instances() as kept:
        ...     pass
        >>> kept
        {}
    """
    global _KEPT
    previous, _KEPT = _KEPT, {}
    try:
        yield _KEPT
    finally:
        _KEPT = previous


def run_fold(predictor, inputs: PredictorInputs, fold: Fold, timeout: float | None):
    """Run the predictor on one fold's inputs: ``(predictions, FoldResult)``. Never raises for predictor faults."""
    start = time.perf_counter()
    try:
        with _time_limit(timeout):
            output = call_predict(predictor, inputs)
        predictions = output.runs
        if _KEPT is not None:
            _KEPT[fold.index] = output.instances
    except PredictorTimeout as e:
        return None, FoldResult(fold.index, fold.label, "failed", str(e), time.perf_counter() - start, len(fold.eval_runs), 0)
    except Exception as e:  # a predictor's fault is recorded, not propagated
        reason = f"raised {type(e).__name__}: {' '.join(str(e).split())}"[:500]
        return None, FoldResult(fold.index, fold.label, "failed", reason, time.perf_counter() - start,
                                len(fold.eval_runs), 0, where="; ".join(user_frames(e.__traceback__)),
                                trace="".join(traceback.format_exception(e))[-20000:])
    valid, problems = check_predictions(predictions, list(fold.eval_runs))
    status = "ok" if not problems else ("partial" if len(valid) else "failed")
    declined = abstentions(predictions)
    declined = declined[declined["run_spec.name"].isin(set(fold.eval_runs))]
    result = FoldResult(fold.index, fold.label, status, "; ".join(problems), time.perf_counter() - start,
                        len(fold.eval_runs), len(valid),
                        abstained=declined.astype(object).where(declined.notna(), None).to_dict(orient="records"))
    return valid, result


