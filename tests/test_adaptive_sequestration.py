"""Sequestration under ``--reveal adaptive``: scrambling every outcome an eval run did not ask for changes
neither the instances asked nor a single prediction.

The world is a real 2PL score matrix imported with ``import_scores``; the scrambled twin differs from it in
every unrequested eval cell (flipped for interpolation; permuted within each eval row for extrapolation,
where the eval models are chosen by their full mean, so the folds stay the same). ``Peeker`` is a
predictor that uses *everything* it is handed (every per-instance row of its ``state`` and of
``eval_per_instance_stats_df``), so any leak of an unrequested outcome would move its choices or its
predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from magnet.backends.helm.import_scores import import_scores
from magnet.protocol.corpus import Corpus
from magnet.protocol.runner import run_protocol
from predictors.adaptive_testing import ActiveTesting, AdaptiveIrt, PrototypeTesting

P = "per_instance_stats."


def _digest(pis: pd.DataFrame) -> float:
    """A number that moves with any value of any instance in ``pis`` (a permutation of values too)."""
    if not len(pis):
        return 0.0
    position = pis[P + "instance_id"].map(lambda i: sum(map(ord, str(i))) % 97 + 1)
    return float((pis[P + "stats.mean"] * position).sum() + len(pis))


class Peeker(ActiveTesting):
    """Asks by a hash of every value it is shown; predicts the mean of every eval row it is given."""

    def next_instances(self, state, candidates, remaining):
        return [candidates[int(_digest(state.per_instance_stats) * 7919) % len(candidates)]]

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                eval_scenario_states_df, train_per_instance_stats_df=None, eval_per_instance_stats_df=None):
        from magnet.helm_objects import make_stat

        pis = eval_per_instance_stats_df
        out = {}
        for run in eval_run_specs_df["run_spec.name"]:
            rows = pis[(pis["run_spec.name"] == run) & (pis[P + "stats.name.name"] == "exact_match")]
            value = float(rows[P + "stats.mean"].mean()) + 1e-3 * _digest(rows) + 1e-6 * len(eval_scenario_states_df)
            out[run] = [make_stat("predicted_exact_match", value)]
        return out


def _world(seed: int = 5):
    rng = np.random.default_rng(seed)
    ability, difficulty = np.linspace(-1.5, 0.5, 14), rng.normal(size=48)
    return (rng.random((14, 48)) < 1 / (1 + np.exp(-(ability[:, None] - difficulty)))).astype(float)


def _run(matrix, directory, predictor, split):
    import_scores(matrix, str(directory), scenario="toy", metric="exact_match")
    corpus = Corpus.load(str(directory), errors="skip")
    return run_protocol(predictor, corpus, split=split, num_eval_samples=6, seed=0, reveal_mode="adaptive",
                        progress=False)


def _scrambled(matrix, revealed: dict, split: str, seed: int = 11):
    """``matrix`` with the unrequested cells of every eval run changed (rows ``model<i>``, items ``id<j>``),
    and the fewest cells changed in one run."""
    rng = np.random.default_rng(seed)
    out = matrix.copy()
    changed = []
    for run, ids in revealed.items():
        row = int(run.split("model=model")[1])
        asked = {int(i[2:]) for i in ids}
        rest = np.array([j for j in range(matrix.shape[1]) if j not in asked])
        if split == "interpolation":
            out[row, rest] = 1 - matrix[row, rest]
        else:  # keep the row's mean: the extrapolation split ranks models by it
            out[row, rest] = matrix[row, rng.permutation(rest)]
        changed.append(int((out[row, rest] != matrix[row, rest]).sum()))
    return out, min(changed)


def _predictions(result) -> pd.Series:
    return result.predictions.set_index("run_spec.name")["stats.mean"].sort_index()


@pytest.mark.parametrize("split", ["interpolation", "extrapolation"])
@pytest.mark.parametrize("make", [Peeker, ActiveTesting, AdaptiveIrt, PrototypeTesting])
def test_scrambling_every_unrequested_outcome_changes_nothing(tmp_path, split, make):
    matrix = _world()
    first = _run(matrix, tmp_path / "a", make(), split)
    assert all(f.status == "ok" for f in first.folds)
    twin, changed = _scrambled(matrix, first.revealed, split)
    assert changed >= 10  # the scrambled world really differs, in every eval run
    second = _run(twin, tmp_path / "b", make(), split)
    assert dict(second.revealed) == dict(first.revealed)  # the same instances, asked in the same order
    pd.testing.assert_series_equal(_predictions(second), _predictions(first))
