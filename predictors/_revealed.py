"""Score request states against their references, as HELM does: shared by the built-in predictors.

A predictor sees the request states of a few *revealed* instances of each
eval run (and every request state of the train runs), but not their
per-instance stats. This module recomputes those per-instance values from
the completions and references, mirroring HELM's
``helm.benchmark.metrics.evaluate_reference_metrics`` (``compute_reference_metrics``):
the first completion (highest logprob), stripped, mapped through
``output_mapping`` for multiple choice, and scored against every correct
reference, keeping the maximum.

Metric functions (copied in behaviour from HELM 0.5; HELM itself is not
imported here because importing its metrics module tries to download NLTK
data):

* ``exact_match``: stripped prediction equals a stripped correct reference;
* ``quasi_exact_match``: equality after HELM's ``normalize_text`` (lower
  case, no punctuation, no articles, single spaces);
* ``prefix_exact_match`` / ``quasi_prefix_exact_match``: the (normalized)
  prediction starts with the reference;
* ``exact_match_indicator``: exact match of the last space-separated token;
* ``f1_set_match`` / ``iou_set_match`` / ``exact_set_match``: HELM's set
  extraction (text after the last ``" is "``, split on ``" and "``);
* ``f1_score``: token-set F1 of the normalized texts.

Any other metric name (BLEU, ROUGE, math equivalence, ...) is
**approximated by exact match**; this is documented, not hidden: a
predictor relying on it for such a metric sees a correlated proxy only.

Perturbed request states (HELM data augmentation) are scored too, and
:func:`variant_values` aggregates per-instance values into the target
variants magnet scores (``perturbed``, ``original``, ``worst``, and the
``robustness``/``fairness`` worst-case families), by the same rules as
:func:`magnet.protocol.corpus.instance_values`.

Example:
    >>> refs = [{"output": {"text": "Even"}, "tags": ["correct"]}, {"output": {"text": "Odd"}, "tags": []}]
    >>> score_request("exact_match", refs, {"A": "Even", "B": "Odd"}, [{"text": " A", "logprob": -0.1}])
    1.0
    >>> score_request("quasi_exact_match", [{"output": {"text": "The Cat."}, "tags": ["correct"]}], None,
    ...               [{"text": "cat", "logprob": -1.0}])
    1.0
    >>> import pandas as pd
    >>> S = "scenario_state.request_states."
    >>> states = pd.DataFrame({"run_spec.name": ["r", "r"], S + "instance.id": ["i1", "i2"],
    ...     S + "instance.references": [refs, refs], S + "output_mapping": [{"A": "Even", "B": "Odd"}] * 2,
    ...     S + "result.completions": [[{"text": "A", "logprob": -0.2}], [{"text": "A", "logprob": -0.3}]],
    ...     S + "instance.perturbation.name": [None, None]})
    >>> revealed_correctness(states)["correct"].tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import re
import string
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from magnet.protocol.corpus import variant_instance_values

RUN = "run_spec.name"
STATE = "scenario_state.request_states."

__all__ = [
    "METRIC_FUNCTIONS", "metric_function", "score_request", "request_scores", "revealed_correctness",
    "variant_values", "instance_table", "normalize_text",
]


# ------------------------------------------------------------ HELM metrics


def normalize_text(text: str, should_remove_articles: bool = True) -> str:
    """HELM's ``normalize_text``: lower case, no punctuation, no articles, single spaces.

    Example:
        >>> normalize_text("  The Cat, sat! ")
        'cat sat'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    if should_remove_articles:
        text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCT = set(string.punctuation)


def _exact_match(gold: str, pred: str) -> float:
    if not pred:
        return 0.0
    return 1.0 if gold.strip() == pred.strip() else 0.0


def _quasi_exact_match(gold: str, pred: str) -> float:
    if not pred:
        return 0.0
    return 1.0 if normalize_text(gold) == normalize_text(pred) else 0.0


def _prefix_exact_match(gold: str, pred: str) -> float:
    if not pred:
        return 0.0
    return 1.0 if pred.strip().startswith(gold.strip()) else 0.0


def _quasi_prefix_exact_match(gold: str, pred: str) -> float:
    if not pred:
        return 0.0
    return 1.0 if normalize_text(pred).startswith(normalize_text(gold)) else 0.0


def _exact_match_indicator(gold: str, pred: str, indicator: str = " ") -> float:
    if pred is None:
        return 0.0
    return _exact_match(gold.split(indicator)[-1].strip(), pred.split(indicator)[-1].strip())


def _extract_set(text: str) -> set:
    if text == "Nothing.":
        return set()
    return set(text.replace(".", "").split(" is ")[-1].split(" and "))


def _sets(gold: str, pred: str) -> tuple[set, set]:
    return _extract_set(gold), _extract_set((pred or "").split("\n")[0])


def _f1_set_match(gold: str, pred: str) -> float:
    g, p = _sets(gold, pred)
    if not g:
        return float(g == p)
    return 2 * len(g & p) / (len(g) + len(p))


def _iou_set_match(gold: str, pred: str) -> float:
    g, p = _sets(gold, pred)
    if not g:
        return float(g == p)
    return len(g & p) / len(g | p)


def _exact_set_match(gold: str, pred: str) -> float:
    g, p = _sets(gold, pred)
    return float(g == p)


def _f1_score(gold: str, pred: str) -> float:
    g, p = set(normalize_text(gold).split()), set(normalize_text(pred or "").split())
    if not g or not p:
        return 0.0
    tp = len(g & p)
    if tp == 0:
        return 0.0
    precision, recall = tp / len(p), tp / len(g)
    return 2 * precision * recall / (precision + recall)


#: Metric name -> ``f(gold, pred) -> float``, as in HELM's ``compute_reference_metrics``.
METRIC_FUNCTIONS: dict[str, Callable[[str, str], float]] = {
    "exact_match": _exact_match,
    "quasi_exact_match": _quasi_exact_match,
    "prefix_exact_match": _prefix_exact_match,
    "quasi_prefix_exact_match": _quasi_prefix_exact_match,
    "exact_match_indicator": _exact_match_indicator,
    "f1_set_match": _f1_set_match,
    "iou_set_match": _iou_set_match,
    "exact_set_match": _exact_set_match,
    "f1_score": _f1_score,
}


def metric_function(name: str) -> Callable[[str, str], float]:
    """The scoring function of a HELM metric; exact match for metrics not mirrored here (an approximation).

    Example:
        >>> metric_function("exact_match_indicator")("the answer is 7", "so it is 7")
        1.0
        >>> metric_function("rouge_l") is metric_function("exact_match")
        True
    """
    return METRIC_FUNCTIONS.get(name, _exact_match)


# ------------------------------------------------------------ one request


def _first_completion(completions) -> tuple[str | None, float]:
    """Text and logprob of the completion HELM scores (the one with the highest logprob)."""
    if not isinstance(completions, (list, tuple)) or not completions:
        return None, float("nan")
    best = max(completions, key=lambda c: (c.get("logprob") if c.get("logprob") is not None else -np.inf))
    lp = best.get("logprob")
    return best.get("text"), float(lp) if lp is not None else float("nan")


def _golds(references) -> list[str]:
    if not isinstance(references, (list, tuple)):
        return []
    return [((r.get("output") or {}).get("text") or "") for r in references if "correct" in (r.get("tags") or [])]


def _apply_mapping(pred: str | None, output_mapping, pattern: str | None) -> str | None:
    if pred is None or not isinstance(output_mapping, dict):
        return pred
    if pattern:
        m = re.search(pattern, pred)
        pred = "" if not m else (m.group(1) if m.groups() else m.group(0))
    return output_mapping.get(pred)


def score_request(metric: str, references, output_mapping, completions, pattern: str | None = None) -> float:
    """HELM's per-instance value of ``metric`` for one request state (NaN without a correct reference).

    Example:
        >>> refs = [{"output": {"text": "X = a"}, "tags": ["correct"]}]
        >>> score_request("exact_match", refs, None, [{"text": " X = b", "logprob": -2.0}])
        0.0
        >>> score_request("f1_set_match", [{"output": {"text": "The dog is sad and big."}, "tags": ["correct"]}],
        ...               None, [{"text": "The dog is sad.", "logprob": -1.0}])
        0.6666666666666666
    """
    golds = _golds(references)
    if not golds:
        return float("nan")
    text, _ = _first_completion(completions)
    pred = text.strip() if isinstance(text, str) else None
    pred = _apply_mapping(pred, output_mapping, pattern)
    fn = metric_function(metric)
    return float(max(fn(g, pred) if pred is not None else 0.0 for g in golds))


# ------------------------------------------------------------ many requests


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype=object)


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x))


def request_scores(states: pd.DataFrame, metrics: "dict[str, Iterable[str]] | Iterable[str]",
                   patterns: dict[str, str] | None = None) -> pd.DataFrame:
    """Per-request values of the given metrics.

    ``metrics`` is either a list of metric names (for every run) or a dict
    run -> metric names. Returns one row per (request state, metric) with
    columns ``run_spec.name``, ``instance_id``, ``perturbation`` (None for
    the original instance), ``robustness``, ``fairness``, ``metric``,
    ``value`` and ``logprob`` (of the scored completion), plus ``split``.
    """
    cols = [RUN, "instance_id", "split", "perturbation", "robustness", "fairness", "metric", "value", "logprob"]
    if states is None or not len(states):
        return pd.DataFrame(columns=cols)
    patterns = patterns or {}
    per_run = metrics if isinstance(metrics, dict) else None
    every = None if per_run is not None else list(metrics)
    rows = []
    for run, iid, split, refs, mapping, comps, pert, rob, fair in zip(
            states[RUN], _col(states, STATE + "instance.id"), _col(states, STATE + "instance.split"),
            _col(states, STATE + "instance.references"), _col(states, STATE + "output_mapping"),
            _col(states, STATE + "result.completions"), _col(states, STATE + "instance.perturbation.name"),
            _col(states, STATE + "instance.perturbation.robustness"),
            _col(states, STATE + "instance.perturbation.fairness")):
        names = every if every is not None else list(per_run.get(run, ()))
        if not names:
            continue
        _, logprob = _first_completion(comps)
        pert = None if _is_missing(pert) else pert
        for name in names:
            rows.append((run, iid, split, pert, rob, fair, name,
                         score_request(name, refs, mapping, comps, patterns.get(run)), logprob))
    return pd.DataFrame(rows, columns=cols)


def revealed_correctness(states: pd.DataFrame, metric: "str | dict[str, str]" = "exact_match") -> pd.DataFrame:
    """Per-instance value of ``metric`` for the unperturbed request states: ``run_spec.name, instance_id, correct``.

    ``metric`` is one name or a dict run -> name (e.g. each eval run's
    ``magnet.target_names[0]``). Works on the eval runs' revealed states
    and on train scenario states alike. ``correct`` is 0/1 for the
    match-type metrics and in [0, 1] for set/F1 metrics; several request
    states of one instance (train trials) are averaged.
    """
    metrics = {r: [m] for r, m in metric.items()} if isinstance(metric, dict) else [metric]
    if states is None or not len(states):
        return pd.DataFrame(columns=[RUN, "instance_id", "correct"])
    orig = states[_col(states, STATE + "instance.perturbation.name").map(_is_missing).astype(bool)]
    scores = request_scores(orig, metrics)
    out = scores.groupby([RUN, "instance_id"], sort=False)["value"].mean().rename("correct").reset_index()
    return out


# ------------------------------------------------------------ target variants


def variant_values(scores: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    """Aggregate :func:`request_scores` rows into per-instance values of target variants.

    ``variants`` has columns ``run_spec.name``, ``metric``, ``key``,
    ``pert_name`` and ``computed_on`` (None for the unperturbed stat), and
    optionally ``split`` (only request states of that instance split count).
    Returns ``run_spec.name, key, instance_id, value``.

    Example:
        >>> s = pd.DataFrame({"run_spec.name": ["r"] * 3, "instance_id": ["a", "a", "b"],
        ...                   "perturbation": [None, "typos", None], "robustness": [None, True, None],
        ...                   "fairness": [None, False, None], "metric": ["exact_match"] * 3, "value": [1.0, 0.0, 1.0]})
        >>> v = pd.DataFrame({"run_spec.name": ["r", "r"], "metric": ["exact_match"] * 2,
        ...                   "key": ["exact_match", "exact_match@robustness/worst"],
        ...                   "pert_name": [None, "robustness"], "computed_on": [None, "worst"]})
        >>> variant_values(s, v).groupby("key")["value"].mean().to_dict()
        {'exact_match': 1.0, 'exact_match@robustness/worst': 0.5}
    """
    cols = [RUN, "key", "instance_id", "value"]
    if not len(scores) or not len(variants):
        return pd.DataFrame(columns=cols)
    out = []
    grouped = {k: g for k, g in scores.groupby([RUN, "metric"], sort=False)}
    has_split = "split" in variants and "split" in scores
    for (run, metric), vs in variants.groupby([RUN, "metric"], sort=False):
        g = grouped.get((run, metric))
        if g is None:
            continue
        if has_split and not _is_missing(vs["split"].iloc[0]):
            g = g[g["split"] == vs["split"].iloc[0]]
        is_orig = g["perturbation"].map(_is_missing).astype(bool)
        orig = g[is_orig].groupby("instance_id")["value"].mean()
        pert = g[~is_orig]
        for key, pname, computed_on in zip(vs["key"], vs["pert_name"], vs["computed_on"]):
            values = variant_instance_values(orig, pert, pname if not _is_missing(pname) else None, computed_on)
            if values is not None and len(values):
                out.append(pd.DataFrame({RUN: run, "key": key, "instance_id": values.index,
                                         "value": values.to_numpy(dtype=float)}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def instance_table(states: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    """Per-instance values of the requested target variants, from request states: ``run, key, instance_id, value``.

    ``variants`` as in :func:`variant_values`. Only the states of the
    listed runs are scored, each against its own metric names.
    """
    if states is None or not len(states) or not len(variants):
        return pd.DataFrame(columns=[RUN, "key", "instance_id", "value"])
    wanted = variants.groupby(RUN)["metric"].agg(lambda s: sorted(set(s))).to_dict()
    sub = states[states[RUN].isin(wanted)]
    return variant_values(request_scores(sub, wanted), variants)
