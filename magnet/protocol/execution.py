"""Where folds run: in this process, in forked local worker processes, or on a Ray cluster.

All backends yield ``(fold, predictions, FoldResult)`` as folds finish and
give the same answers for the same seed (the runner orders the results).

* ``local`` with ``n_jobs == 1``: in this process (time limits via SIGALRM);
* ``local`` with ``n_jobs > 1``: forked worker processes that share the
  loaded corpus and build their own folds' inputs;
* ``ray``: Ray tasks. The corpus goes to the object store once (``ray.put``)
  and each task builds its fold's inputs there; a task whose worker dies is
  retried by Ray (``max_retries``). ``ray_address`` is ``None`` (start a local
  Ray on 127.0.0.1), ``"auto"`` or ``"HOST:PORT"`` of an existing cluster.
  Needs the optional extra: ``pip install 'magnet[ray]'``.

Example:
    >>> check_backend("local"), check_backend("ray")
    ('local', 'ray')
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from magnet.protocol.fold_run import FoldResult, run_fold
from magnet.protocol.predict_call import wants_eval_per_instance_stats
from magnet.protocol.splits import fold_inputs

BACKENDS = ("local", "ray")
RAY_MAX_RETRIES = 3


def check_backend(backend: str) -> str:
    """Validate a backend name."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    return backend


def iter_local(todo, predictor, inputs_of, timeout, n_jobs, corpus=None, revealed=None, wants=False):
    """Folds in this process, or in ``n_jobs`` forked worker processes.

    Workers are forked after the corpus is loaded, so they share it (copy-on-write)
    instead of receiving a pickled copy per fold, and each builds its own fold's
    inputs: the parent only hands out fold numbers. A worker that dies fails the
    folds it had not finished, with the reason; the others are unaffected.
    """

    if n_jobs == 1 or len(todo) <= 1 or corpus is None or "fork" not in mp.get_all_start_methods():
        for fold in todo:
            predictions, result = run_fold(predictor, inputs_of(fold), fold, timeout)
            yield fold, predictions, result
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    global _SHARED
    _SHARED = (predictor, corpus, revealed, wants, timeout)  # inherited by the forked workers
    try:
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("fork")) as pool:
            pending = {pool.submit(_forked_fold, fold): fold for fold in todo}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    fold = pending.pop(future)
                    try:
                        predictions, result = future.result()
                    except BrokenProcessPool as e:
                        predictions, result = None, _failed(fold, f"worker process died: {e}")
                    yield fold, predictions, result
    finally:
        _SHARED = None


_SHARED = None


def _forked_fold(fold):
    predictor, corpus, revealed, wants, timeout = _SHARED
    return run_fold(predictor, fold_inputs(corpus, fold, revealed, with_per_instance=wants,
                                       with_eval_per_instance=wants_eval_per_instance_stats(predictor)), fold, timeout)


def _failed(fold, reason: str):
    return FoldResult(fold.index, fold.label, "failed", reason[:500], 0.0, len(fold.eval_runs), 0)


def ensure_ray(address: str | None = None):
    """Import Ray and connect to ``address``, or start a local single-machine Ray on loopback.

    The local Ray binds to 127.0.0.1 only (no other interface), sends no usage
    statistics, and its workers see this process's ``sys.path`` (so predictors
    defined in your own modules can be unpickled). A clear error if Ray is missing.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never phone home
    if not address:
        # Single-machine mode: Ray then uses the loopback address for every service and worker.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
        from ray._private import ray_constants
    except ImportError:
        raise RuntimeError("the Ray backend needs Ray: pip install 'magnet[ray]'") from None
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray_constants.ENABLE_RAY_CLUSTER = False  # in case Ray was imported before the variable was set
            paths = os.pathsep.join(p for p in sys.path if p)
            ray.init(include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": paths, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                                               "RAY_USAGE_STATS_ENABLED": "0"}})
    return ray


def _ray_fold(predictor, corpus, revealed, fold, wants, timeout):
    return run_fold(predictor, fold_inputs(corpus, fold, revealed, with_per_instance=wants,
                                       with_eval_per_instance=wants_eval_per_instance_stats(predictor)), fold, timeout)


def iter_ray(todo, predictor, corpus, revealed, wants, timeout, address=None):
    """Folds as Ray tasks; the corpus is shipped to the object store once."""
    ray = ensure_ray(address)
    corpus_ref, revealed_ref, predictor_ref = ray.put(corpus), ray.put(revealed), ray.put(predictor)
    remote = ray.remote(max_retries=RAY_MAX_RETRIES, retry_exceptions=False)(_ray_fold)
    pending = {remote.remote(predictor_ref, corpus_ref, revealed_ref, fold, wants, timeout): fold for fold in todo}
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        fold = pending.pop(ref)
        try:
            predictions, result = ray.get(ref)
        except Exception as e:  # the worker died more often than Ray retries, or Ray failed
            predictions, result = None, _failed(fold, f"Ray task failed: {type(e).__name__}: {' '.join(str(e).split())}")
        yield fold, predictions, result
