"""report.html and its plots: the loader's warnings are in the report, and 12 models get 12 distinct looks."""

from __future__ import annotations

import json
import warnings

import pandas as pd

from magnet.backends.helm.errors import HelmOutputWarning
from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.benchmark import benchmark
from magnet.protocol.corpus import Corpus
from magnet.report.html import predicted_vs_actual_figure
from predictors.revealed_sample_mean import RevealedSampleMean


def test_loader_warnings_reach_the_json_and_the_html_report(small_copy, tmp_path):
    run = sorted(p for p in small_copy.iterdir() if p.is_dir())[0]
    (run / "scenario_state.json").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = Corpus.load(HelmOutputs.coerce(small_copy, cache_dir=False))
    assert any(issubclass(w.category, HelmOutputWarning) and "rebuilt" in str(w.message) for w in caught)
    assert len(corpus.load_warnings) == 1 and "rebuilt" in corpus.load_warnings[0]
    board = benchmark([RevealedSampleMean()], corpus, splits=["leave-one-model-out"], num_eval_samples=2,
                      progress=False, n_boot=50)
    board.write(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "leaderboard.json").read_text())["load_warnings"] == corpus.load_warnings
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Loading the corpus" in page and str(run / "scenario_state.json") in page


def test_twelve_models_get_twelve_distinct_looks():
    joined = pd.DataFrame({"predictor": "P", "split": "s", "target.key": "m", "target.name": "m",
                           "model": [f"org/model-{i}" for i in range(12)], "actual": 0.5, "predicted": 0.5})
    fig = predicted_vs_actual_figure(joined, "P", "s")
    looks = {(tuple(c.get_facecolor()[0]), c.get_paths()[0].vertices.tobytes()) for c in fig.axes[0].collections}
    assert len(fig.axes[0].collections) == 12 and len(looks) == 12
