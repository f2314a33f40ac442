"""A benchmark whose eval runs are almost wholly revealed runs to the end (issue 27).

With 19 of 20 instances revealed, most runs have nothing left to predict and the absolute errors of a row are
almost all zero or nearly equal between models: the log-scale bootstrap-t of the MAE overflowed there
(``OverflowError: math range error``) and no leaderboard was written. Now such an interval falls back to a stated
method (``interval_notes``) or is NaN with a reason.
"""

from __future__ import annotations

import json
import math

from magnet.cli.main import main as magnet_main

# Additive's rows at 19 of 20 revealed have almost all absolute errors equal: its MAE interval needs the fallback.
PREDICTORS = ["predictors.shrinkage:Shrinkage", "predictors.additive:Additive",
              "predictors.example_random_predictor:ExampleRandomPredictor"]


def test_benchmark_of_almost_revealed_runs_completes_under_both_splits(small_root, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["benchmark", "--root-dir", str(small_root), "--no-builtin", "--num-eval-samples", "19",
            "--split", "kfold", "--split", "leave-one-model-out", "--quiet", "--out", str(out)]
    for p in PREDICTORS:
        args += ["--predictor", p]
    assert magnet_main(args) == 0
    printed = capsys.readouterr().out
    assert "Shrinkage" in printed and "Traceback" not in printed
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    assert {(r["split"], r["stat"]) for r in rows if r["stat"] == "main"} == {("kfold", "main"),
                                                                              ("leave-one-model-out", "main")}
    assert {r["predictor"] for r in rows} == {"Shrinkage", "Additive", "ExampleRandomPredictor"}
    for r in rows:  # every interval is a pair of finite bounds around the estimate, or undefined with a reason
        lo, hi = r["mae_ci"]
        if lo is None or hi is None:
            assert r["n"] < 2 or r["interval_notes"].get("mae"), r
        else:
            assert lo <= r["mae"] + 1e-12 and r["mae"] <= hi + 1e-12 and math.isfinite(hi), r
    assert any(("percentile cluster bootstrap" in (r["interval_notes"].get("mae") or ""))
               or ("cluster-robust t(" in (r["interval_notes"].get("mae") or "")) for r in rows)
    assert (out / "report.html").exists()
