"""benchmarks/bench_benchpred.py: the held-out matrices are refused without --final, "best peer" is the best of
ALL peers (the slow ones run on fewer repeats), and the final run reads med_qa/legalbench from --heldout-dir."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_benchpred.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_benchpred", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_out_matrices_are_refused_without_final(bench, tmp_path):
    got = subprocess.run([sys.executable, str(SCRIPT), "--matrices", "gsm,legalbench", "--sizes", "50"],
                         capture_output=True, text=True, cwd=ROOT)
    assert got.returncode != 0
    assert got.stderr.strip().splitlines() == ["error: legalbench: held-out matrix (issue 32's final check); "
                                               "refused without --final"]
    assert got.stdout == ""  # refused before any work
    np.save(tmp_path / "med_qa.npy", np.eye(4, dtype=np.int8))
    with pytest.raises(SystemExit, match="med_qa: held-out matrix"):  # even when the file is at hand
        bench.load_matrix("med_qa", heldout_dir=tmp_path)


def test_final_reads_the_held_out_matrix_from_heldout_dir(bench, tmp_path):
    m = (np.random.default_rng(0).random((12, 30)) < 0.5).astype(np.int8)
    m[3] = 0  # a model with mean 0 is dropped, as benchpred's get_scores does
    np.save(tmp_path / "med_qa.npy", m)
    got = bench.load_matrix("med_qa", final=True, heldout_dir=tmp_path)
    assert got.shape == (11, 30) and got.dtype == float
    np.testing.assert_array_equal(got, np.delete(m, 3, axis=0))
    with pytest.raises(SystemExit, match="--heldout-dir"):
        bench.load_matrix("med_qa", final=True)
    with pytest.raises(SystemExit, match="legalbench.npy: no such file"):
        bench.load_matrix("legalbench", final=True, heldout_dir=tmp_path)
    np.save(tmp_path / "legalbench.npy", m * 2)
    with pytest.raises(SystemExit, match="expected a complete 0/1 matrix"):
        bench.load_matrix("legalbench", final=True, heldout_dir=tmp_path)


def test_seeds_parse_ranges_and_lists(bench):
    assert bench.parse_seeds("2000-2003,7") == [2000, 2001, 2002, 2003, 7]


def test_best_peer_is_the_best_of_all_peers_including_those_run_on_fewer_repeats(bench):
    """A slow peer ran on 2 of 4 repeats and is the best: it is the best peer, and ratios to it are paired on
    the 2 repeats both ran."""
    rows = []
    for r in range(4):
        rows += [("gsm", "interpolation", 50, r, "magnet:ensemble_select", 0.04 + 0.001 * r, 0.0),
                 ("gsm", "interpolation", 50, r, "peer:aipw", 0.05, 0.0)]
        if r < 2:
            rows.append(("gsm", "interpolation", 50, r, "peer:lasso", 0.03, 0.0))
    gaps = pd.DataFrame(rows, columns=["benchmark", "split", "k", "repeat", "method", "gap", "seconds"])
    s = bench.summarize(gaps, n_boot=50).set_index("method")
    assert set(s["best_peer"]) == {"peer:lasso"}
    assert s.loc["magnet:ensemble_select", "n"] == 4 and s.loc["magnet:ensemble_select", "n_paired"] == 2
    assert s.loc["magnet:ensemble_select", "ratio_to_best_peer"] == pytest.approx(0.0405 / 0.03)
