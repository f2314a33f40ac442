"""End to end: the real demo corpus, published in the bucket layout on a local GCS emulator,
downloaded by download_helm_results and loaded by magnet, equals the original."""

from __future__ import annotations

import pandas as pd
import pytest

import gcs_fake_bucket as fb
from magnet.backends.helm.download_helm_results import main as download_main
from magnet.backends.helm.outputs import HelmOutputs
from magnet.cli.main import main as magnet_main

FILES = ("run_spec.json", "stats.json", "scenario_state.json", "per_instance_stats.json", "scenario.json")


@pytest.fixture(scope="module")
def published_small_demo(small_root):
    """The small demo corpus uploaded as project ``demo``, suite ``v1.0.0``."""
    suite = small_root / "runs" / "demo"
    objects = {}
    for run in sorted(p for p in suite.iterdir() if (p / "run_spec.json").exists()):
        for name in FILES:
            objects[f"demo/benchmark_output/runs/v1.0.0/{run.name}/{name}"] = (run / name).read_bytes()
    with fb.Emulator(fb.BUCKET) as emu:
        fb.upload_tree(emu.endpoint, fb.BUCKET, objects)
        yield emu, objects


def test_downloaded_demo_runs_load_like_the_originals(published_small_demo, small_root, tmp_path, capsys):
    emu, objects = published_small_demo
    dest = tmp_path / "dest"
    code = download_main([str(dest), "--benchmark", "demo", "--version", "latest", "--runs", "regex:simple_mcqa.*",
                          "--endpoint", emu.endpoint, "--bucket", fb.BUCKET, "--quiet"])
    assert code == 0
    got = HelmOutputs.coerce(dest, cache_dir=False)
    want_runs = sorted({k.split("/")[4] for k in objects if k.split("/")[4].startswith("simple_mcqa")})
    assert sorted(r.name for r in got.runs()) == want_runs
    original = HelmOutputs.coerce(small_root, cache_dir=False).stats()
    original = original[original["run_spec.name"].isin(got.stats()["run_spec.name"])]
    pd.testing.assert_frame_equal(got.stats().drop(columns="suite").reset_index(drop=True),
                                  original.drop(columns="suite").reset_index(drop=True))
    assert magnet_main(["ls", str(dest)]) == 0
    assert "v1.0.0" in capsys.readouterr().out
