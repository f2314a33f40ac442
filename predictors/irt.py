"""IRT: a joint item-response-theory model of every train and revealed outcome, tinyBenchmarks style.

Idea (Polo et al. 2024, "tinyBenchmarks: evaluating LLMs with fewer
examples", its IRT and p-IRT estimators; Lord 1980 for the 2PL/3PL
models): an instance's difficulty is shared across models, so the train
runs' per-instance outcomes tell how hard every instance of a scenario is,
and a model's answers to a few instances tell how able it is.

* Fit :class:`predictors._models.JointIRT`,
  ``P(correct) = g_c + (1 - g_c) sigmoid(u_model . v_cell - d_item)``, on
  all the train runs' per-instance outcomes (recomputed from the train
  request states, :mod:`predictors._revealed`) **and** the eval runs'
  revealed outcomes. The ability vector ``u`` is shared across scenarios,
  so an eval model's ability comes from its train runs on other scenarios
  and from its revealed instances in every eval run (in
  leave-one-model-out, from the revealed instances alone). ``g_c`` is the
  multiple-choice guessing floor (1 / options).
* The actual stat covers all ``n`` instances, ``k`` of them revealed, so
  the prediction is ``(sum of revealed outcomes + sum over the unrevealed
  instances of P(correct)) / n`` (tinyBenchmarks' p-IRT uses the same
  split). An unrevealed instance whose outcome for this model is already
  known (the same prompt in a train run of the same model, e.g. the
  original instances of a data-augmented sibling run) counts with its
  known outcome.

Perturbation variants: the unperturbed prediction plus an offset estimated
from train runs of the same configuration and the revealed instances.

Run it::

    python -m predictors.irt --split kfold

Example:
    >>> from magnet.backends.helm.outputs import HelmOutputs
    >>> from magnet.protocol.corpus import Corpus
    >>> from magnet.protocol.runner import run_protocol
    >>> corpus = Corpus.load(HelmOutputs.demo(preset="small"))
    >>> result = run_protocol(IRT(), corpus, split="kfold", num_eval_samples=5, progress=False)
    >>> p = result.predictions
    >>> p["run_spec.name"].nunique() == len(corpus.run_specs) and bool(p["stats.mean"].between(0, 1).all())
    True
"""

from __future__ import annotations

from magnet.predictor import Predictor

from predictors._common import FoldData, prepare, trust_revealed, with_variants, write_predictions
from predictors._irt_data import full_run_estimate, item_data, run_items
from predictors._models import JointIRT


def fit_irt(data: FoldData, dim: int = 2, lam_u: float = 0.3, lam_v: float = 0.3, sigma_d: float = 1.5,
            seed: int = 0, exclude_revealed_runs: set | None = None, include_revealed: bool = True):
    """Fit the joint IRT model on a fold: ``(model, items)``."""
    items = item_data(data, exclude_revealed_runs=exclude_revealed_runs, include_revealed=include_revealed)
    m, c, i, y = items.codes()
    model = JointIRT(dim=dim, lam_u=lam_u, lam_v=lam_v, sigma_d=sigma_d, seed=seed).fit(
        m, c, i, y, n_models=len(items.models), n_cells=len(items.cells), n_items=len(items.items),
        item_cell=items.item_cell, guess=items.guess)
    return model, items


def irt_estimates(data: FoldData, model: JointIRT, items) -> tuple:
    """Per eval main target: the full-run estimate, and the per-item table with ``p`` (model probabilities)."""
    table = run_items(data, items)
    ok = table["i"].to_numpy() >= 0
    p_item = model.prob(table["m"], table["c"], table["i"].where(ok, 0))
    p_new = model.prob_new_item(table["m"], table["c"])
    table = table.assign(p=p_item * ok + p_new * ~ok)
    return full_run_estimate(table, p_item, p_new), table


class IRT(Predictor):
    """Joint multidimensional IRT over train and revealed outcomes; unrevealed instances by P(correct)."""

    def __init__(self, dim: int = 2, lam_u: float = 0.3, lam_v: float = 0.3, sigma_d: float = 1.5, seed: int = 0):
        self.dim = dim
        self.lam_u = lam_u
        self.lam_v = lam_v
        self.sigma_d = sigma_d
        self.seed = seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df, train_per_instance_stats_df=None,
                eval_per_instance_stats_df=None):
        data = prepare(train_run_specs_df, train_scenario_states_df, train_stats_df, eval_run_specs_df,
                       eval_scenario_states_df, train_per_instance_stats_df, eval_per_instance_stats_df)
        if not len(item_data(data).responses):  # no per-instance value of any target: train-run means, no model fit
            return write_predictions(data, None)
        model, items = fit_irt(data, self.dim, self.lam_u, self.lam_v, self.sigma_d, self.seed)
        est, _ = irt_estimates(data, model, items)
        return write_predictions(data, with_variants(data, trust_revealed(data, est)))


if __name__ == "__main__":
    from magnet.cli.predict import predictor_main

    raise SystemExit(predictor_main(IRT))
