# %% [markdown]
# # What a predictor sees: the four tables, one split, and the MBE check
#
# magnet turns HELM outputs into four flat tables, splits runs into folds, gives a
# predictor the train runs in full and only a small revealed sample of each eval
# run, and scores its predictions, always with the MBE (Marginal Baseline
# Evaluation) check. This notebook walks through each step on the built-in demo
# corpus: real `helm-run` outputs answered by simulated models.

# %%
import pandas as pd
from magnet.backends.helm.outputs import HelmOutputs

outputs = HelmOutputs.demo()          # built with the real HELM pipeline on first use, then cached
print(outputs.root)
print(len(outputs.runs()), "runs in suites", [s.name for s in outputs.suites()])

# %% [markdown]
# ## The four flat tables
#
# Columns are HELM's JSON paths joined by dots, prefixed by the file's object
# name; every table has `suite` and `run_spec.name` to join on.

# %%
tables = {name: outputs.table(name) for name in ("run_specs", "scenario_states", "stats", "per_instance_stats")}
pd.DataFrame({name: {"rows": len(df), "columns": df.shape[1]} for name, df in tables.items()}).T

# %%
tables["run_specs"][["run_spec.name", "run_spec.adapter_spec.model", "run_spec.scenario_spec.class_name",
                     "run_spec.groups"]].head()

# %%
stats = tables["stats"]
stats[stats["stats.name.name"] == "exact_match"][
    ["run_spec.name", "stats.name.name", "stats.name.split", "stats.name.perturbation.name",
     "stats.name.perturbation.computed_on", "stats.mean"]].head(8)

# %%
states = tables["scenario_states"]
states[["run_spec.name", "scenario_state.request_states.instance.id",
        "scenario_state.request_states.instance.references",
        "scenario_state.request_states.result.completions"]].head(3)

# %% [markdown]
# ## Targets and one split
#
# A `Corpus` adds the target stats (each run's main metric and split, from the
# suite's `schema.json`) and the per-instance values behind them. A fold strategy
# decides which runs are train and which are eval; `fold_inputs` is the single
# place that decides what a predictor may see.

# %%
from magnet.protocol.corpus import Corpus
from magnet.protocol.splits import fold_inputs, make_folds, reveal

corpus = Corpus.load(outputs)
folds = make_folds(corpus.run_specs, "leave-one-model-out")
revealed = reveal(corpus, num_eval_samples=10, seed=0)
fold = folds[0]
inputs = fold_inputs(corpus, fold, revealed)
print("held-out model:", fold.label, "| train runs:", len(fold.train_runs), "| eval runs:", len(fold.eval_runs))
{name: frame.shape for name, frame in vars(inputs).items() if frame is not None}

# %% [markdown]
# For the eval runs the predictor gets their run_specs (with the number of eval
# instances, how many are revealed, and which stats to predict) and the request
# states of the revealed instances only. Their stats and per-instance stats stay
# with magnet.

# %%
eval_specs = inputs.eval_run_specs_df
eval_specs[["run_spec.name", "magnet.num_eval_instances", "magnet.num_revealed_instances",
            "magnet.target_names", "magnet.target_split"]].head()

# %%
eval_runs = set(fold.eval_runs)
assert not inputs.train_stats_df["run_spec.name"].isin(eval_runs).any()        # no eval stats
per_run = inputs.eval_scenario_states_df.groupby("run_spec.name")["scenario_state.request_states.instance.id"].nunique()
assert (per_run <= 10).all()                                                  # only the revealed sample
print("revealed instances per eval run:", per_run.describe()[["min", "max"]].to_dict())

# %% [markdown]
# ## A tiny predictor, written inline
#
# It predicts each eval run's target as the mean of the same scenario's train
# runs, nudged towards the revealed sample. Subclass `Predictor`, implement
# `predict`, return `Stat`s named `predicted_<stat>`.

# %%
from magnet.helm_objects import make_stat
from magnet.predictor import Predictor
from magnet.protocol.splits import scenario_of


class ScenarioMeanPlusRevealed(Predictor):
    def __init__(self, weight=0.5, seed=0):
        self.weight, self.seed = weight, seed

    def predict(self, train_run_specs_df, train_scenario_states_df, train_stats_df,
                eval_run_specs_df, eval_scenario_states_df):
        scenario = dict(zip(train_run_specs_df["run_spec.name"], scenario_of(train_run_specs_df)))
        s = train_stats_df[train_stats_df["stats.name.perturbation.name"].isna()]
        s = s.assign(scenario=s["run_spec.name"].map(scenario))
        means = s.groupby(["scenario", "stats.name.name"])["stats.mean"].mean()
        overall = s.groupby("stats.name.name")["stats.mean"].mean()
        out = {}
        for run, sc, names, split in zip(eval_run_specs_df["run_spec.name"], scenario_of(eval_run_specs_df),
                                         eval_run_specs_df["magnet.target_names"],
                                         eval_run_specs_df["magnet.target_split"]):
            out[run] = [make_stat(f"predicted_{n}", means.get((sc, n), overall.get(n, 0.5)), split=split)
                        for n in names]
        return out

# %% [markdown]
# ## Scoring, with the MBE check
#
# `benchmark` runs predictors on the same folds and scores them: MAE with a
# cluster-bootstrap CI (resampling models), the noise floor, the share of the
# attainable gain over the revealed-sample mean, and the MBE verdict: does the
# prediction carry information beyond the revealed sample's own mean and loss?

# %%
from magnet.protocol.benchmark import benchmark
from magnet.report.terminal import leaderboard_table
from predictors.example_random_predictor import ExampleRandomPredictor
from rich.console import Console

board = benchmark([ScenarioMeanPlusRevealed(), ExampleRandomPredictor()], corpus,
                  splits=["leave-one-model-out"], progress=False, n_boot=300)
Console(width=160).print(leaderboard_table(board))

# %%
row = next(r for r in board.main_rows() if r.predictor == "ScenarioMeanPlusRevealed")
print(row.mbe["verdict"], "-", row.mbe["reason"])

# %% [markdown]
# ## Plots
#
# Predicted vs actual (one colour per model), and the MBE residual plot: what is
# left of predictions and truth once the baselines are regressed out. A flat
# cloud means the predictor knows nothing beyond the revealed sample.

# %%
%matplotlib inline
from magnet.report.html import predicted_vs_actual_figure, residual_figure

predicted_vs_actual_figure(board.joined, "ScenarioMeanPlusRevealed", "leave-one-model-out");
residual_figure(board.joined, "ScenarioMeanPlusRevealed", "leave-one-model-out", board.controls);
