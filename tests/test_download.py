"""End-to-end tests of the HELM results downloader against a real gcp-storage-emulator.

The emulator (in-memory, 127.0.0.1, free port) is started once per session and
loaded with a small tree in HELM's published layout (tests/gcs_fake_bucket.py);
a fault-injecting proxy in front of it serves 503s, corrupt or truncated
bodies, ignores Range, throttles, paginates listings and injects hostile
listing entries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import gcs_fake_bucket as fb  # noqa: E402
from magnet.backends.helm import download_helm_results as dl  # noqa: E402
from magnet.backends.helm.download import bucket as dl_bucket  # noqa: E402
from magnet.backends.helm.gcs import (  # noqa: E402
    GCSClient,
    GCSError,
    md5_b64,
    resolve_endpoint,
)

REPO = Path(__file__).resolve().parents[1]
LITE = "lite/benchmark_output/"


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tree():
    return fb.build_helm_tree()


@pytest.fixture(scope="session")
def emulator(tree):
    emu = fb.Emulator(fb.BUCKET).start()
    try:
        fb.upload_tree(emu.endpoint, fb.BUCKET, tree)
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def _proxy(emulator):
    proxy = fb.FaultProxy(emulator.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(_proxy):
    _proxy.reset()
    yield _proxy
    _proxy.reset()


def fast_client(endpoint, **kw):
    """A client with millisecond backoff so retry tests stay fast."""
    kw.setdefault("max_attempts", 4)
    return GCSClient(fb.BUCKET, endpoint, backoff_base=0.01, backoff_max=0.05, **kw)


def fetch(endpoint, dest, **kw):
    client = kw.pop("client", None) or fast_client(endpoint)
    with client:
        return dl.download_helm_results(dest, client=client, **kw), client


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def expected(tree, base, rel_prefix, dest_prefix=""):
    """Objects of *tree* under base+rel_prefix, keyed by their expected DEST path."""
    out = {}
    for name, data in tree.items():
        if name.startswith(base + rel_prefix):
            out[dest_prefix + name[len(base):]] = data
    return out


def run_cli(capsys, *argv):
    code = dl.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------
# The GCS client
# ---------------------------------------------------------------------------
def test_endpoint_resolution(monkeypatch):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    assert resolve_endpoint() == "https://storage.googleapis.com"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "localhost:9023")
    assert resolve_endpoint() == "http://localhost:9023"
    assert resolve_endpoint("http://127.0.0.1:1/") == "http://127.0.0.1:1"


def test_client_uses_storage_emulator_host(emulator, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.endpoint)
    with GCSClient(fb.BUCKET) as client:
        assert client.endpoint == emulator.endpoint
        assert client.prefix_exists(LITE)


def test_list_objects_prefixes_and_pagination(emulator, proxy, tree):
    prefix = f"{LITE}runs/v1.0.0/"
    with fast_client(emulator.endpoint) as direct:
        want = direct.list_objects(prefix, "/")
    proxy.paginate(2)
    with fast_client(proxy.endpoint) as client:
        got = client.list_objects(prefix, "/", page_size=2)
        flat = client.list_objects(prefix)
    assert got.prefixes == want.prefixes
    assert [o.name for o in got.objects] == [o.name for o in want.objects] == [prefix + "summary.json"]
    assert got.pages > 3  # 5 runs + groups/ + summary.json in pages of 2
    assert len(proxy.requests_for(prefix, "list")) >= got.pages
    names = {o.name for o in flat.objects}
    assert names == {n for n in tree if n.startswith(prefix)}
    obj = next(o for o in flat.objects if o.name == fb.BIG_FILE)
    assert obj.size == len(tree[fb.BIG_FILE]) and obj.md5 == md5_b64(tree[fb.BIG_FILE])


def test_gcs_error_is_one_line(emulator, tmp_path):
    with fast_client(emulator.endpoint) as client:
        with pytest.raises(GCSError) as info:
            client.download("lite/no/such\nobject.json", tmp_path / "x.json", size=3)
    text = str(info.value)
    assert "\n" not in text and "HTTP 404" in text and "gs://crfm-helm-public/" in text
    assert not (tmp_path / "x.json").exists()


def test_backoff_is_bounded_and_jittered():
    client = GCSClient(fb.BUCKET, "http://127.0.0.1:9", backoff_base=1.0, backoff_max=8.0)
    delays = [client.backoff_delay(n) for n in range(1, 10)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert delays[-1] >= 4.0  # capped, not growing forever
    assert client.backoff_delay(1, retry_after="3") == 3.0
    assert len({client.backoff_delay(3) for _ in range(20)}) > 1  # jitter
    client.close()


# ---------------------------------------------------------------------------
# Discovery: benchmarks, versions, runs
# ---------------------------------------------------------------------------
def test_list_benchmarks_and_classic_quirk(emulator):
    with fast_client(emulator.endpoint) as client:
        helm = dl.HelmBucket(client)
        benches = {b.name: b for b in helm.benchmarks()}
        assert {"lite", "classic", "mmlu", "heim"} <= set(benches)
        assert "source_datasets" not in benches and "benchmark_output" not in benches
        assert benches["classic"].bases == ("classic/benchmark_output/", "benchmark_output/")
        suites = helm.suites(benches["classic"])
        # v0.3.0 exists in both places: classic/benchmark_output wins; v0.2.4 only at the root.
        assert suites["v0.3.0"].base == "classic/benchmark_output/"
        assert suites["v0.2.4"].base == "benchmark_output/"


def test_versions_latest_is_natural_order(emulator):
    with fast_client(emulator.endpoint) as client:
        helm = dl.HelmBucket(client)
        lite = helm.find_benchmarks(["lite"])[0]
        assert list(helm.suites(lite)) == ["v1.0.0", "v1.1.0", "v1.10.0"]
        assert [s.name for s in helm.select_suites(lite, ["latest"])] == ["v1.10.0"]
        assert [s.name for s in helm.select_suites(lite, ["regex:v1\\.1.*"])] == ["v1.1.0", "v1.10.0"]
        assert list(helm.releases(lite)) == ["v1.0.0", "v1.1.0"]
        assert [r.name for r in helm.select_releases(lite, ["latest"])] == ["v1.1.0"]


def test_cli_list_versions_and_runs(emulator, capsys):
    code, out, _ = run_cli(capsys, "--list-versions", "--benchmark", "lite", "--endpoint", emulator.endpoint)
    assert code == 0
    assert "v1.10.0" in out and "latest" in out and "release" in out

    code, out, _ = run_cli(capsys, "--list-runs", "--benchmark", "lite", "--version", "v1.0.0",
                           "--runs", "mmlu:*", "--endpoint", emulator.endpoint)
    assert code == 0
    for run in (fb.R_ANAT_LLAMA7, fb.R_ANAT_GPT4, fb.R_CHEM_LLAMA13):
        assert run in out
    assert fb.R_GSM_LLAMA7 not in out

    code, out, _ = run_cli(capsys, "--list-runs", "--benchmark", "lite", "--version", "v1.0.0",
                           "--runs", "regex:mmlu.*llama.*", "--endpoint", emulator.endpoint)
    assert code == 0
    assert fb.R_ANAT_LLAMA7 in out and fb.R_CHEM_LLAMA13 in out and fb.R_ANAT_GPT4 not in out


def test_cli_list_runs_of_a_release(emulator, proxy, capsys):
    code, out, err = run_cli(capsys, "--list-runs", "--benchmark", "lite", "--release", "latest",
                             "--endpoint", proxy.endpoint)
    assert code == 0, err
    assert "Runs (7)" in out and fb.R_ANAT_GPT4 in out and fb.R_MATH in out
    assert fb.R_GHOST in out and "(run directory not found)" in out
    # Names only: no per-run listings, no downloads.
    assert all(e["kind"] == "list" and e["prefix"].count("/") <= 4 for e in proxy.log
               if e["kind"] != "media") and len(proxy.requests_for("", "media")) == 1


def test_list_runs_excludes_suite_level_dirs(emulator):
    with fast_client(emulator.endpoint) as client:
        helm = dl.HelmBucket(client)
        suite = helm.suites(helm.find_benchmarks(["lite"])[0])["v1.0.0"]
        assert helm.runs(suite) == sorted(fb.LITE_V100)


def test_subprocess_list_benchmarks(emulator):
    proc = subprocess.run(
        [sys.executable, "-m", "magnet.backends.helm.download_helm_results",
         "--list-benchmarks", "--endpoint", emulator.endpoint],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "lite" in proc.stdout and "classic" in proc.stdout
    assert "gs://crfm-helm-public/benchmark_output/" in proc.stdout  # the Classic root


# ---------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------
def test_full_suite_download_is_byte_identical_then_rerun_is_free(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "out"
    result, _ = fetch(proxy.endpoint, dest, benchmark="lite", version="v1.0.0")
    want = {k: v for k, v in expected(tree, LITE, "runs/v1.0.0/").items()
            if "/groups/" not in k and not k.endswith("v1.0.0/summary.json")}
    assert files_under(dest) == want  # exactly the runs, byte for byte, no .part left
    assert result.ok and result.downloaded == len(want) and result.skipped == 0
    assert result.bytes_transferred == sum(len(v) for v in want.values()) == result.total_bytes
    assert (dest / "runs" / "v1.0.0" / fb.R_PERCENT / "stats.json").is_file()
    key = f"lite/v1.0.0/{fb.R_CHEM_LLAMA13}"
    assert result.missing == {key: ["scenario_state.json"]}  # reported, not failed

    proxy.reset()
    again, client = fetch(proxy.endpoint, dest, benchmark="lite", version="v1.0.0")
    assert again.ok and again.bytes_transferred == 0 and again.downloaded == 0
    assert again.skipped == len(want)
    assert client.stats.bytes_downloaded == 0
    assert not [e for e in proxy.log if e["kind"] == "media"]  # no object was requested


def test_cli_download_regex_runs_and_summary(emulator, tree, tmp_path, capsys):
    dest = tmp_path / "helm"
    code, out, err = run_cli(capsys, dest, "--benchmark=lite", "--version=v1.0.0",
                             "--runs", "regex:mmlu.*llama.*", "--endpoint", emulator.endpoint, "--workers", 3)
    assert code == 0, err
    got = files_under(dest)
    want = {}
    for run in (fb.R_ANAT_LLAMA7, fb.R_CHEM_LLAMA13):
        want.update(expected(tree, LITE, f"runs/v1.0.0/{run}/"))
    assert got == want
    assert "Downloaded 15 files" in out and "scenario_state.json" in out and fb.R_CHEM_LLAMA13 in out


def test_files_restriction(emulator, tree, tmp_path):
    dest = tmp_path / "out"
    result, _ = fetch(emulator.endpoint, dest, benchmark="lite", version="v1.0.0",
                      runs="mmlu:*", files="stats.json, run_spec.json")
    got = files_under(dest)
    assert len(got) == 6 and {Path(k).name for k in got} == {"stats.json", "run_spec.json"}
    assert result.missing == {}
    result, _ = fetch(emulator.endpoint, tmp_path / "ss", benchmark="lite", version="v1.0.0",
                      runs="mmlu:*", files=["scenario_state.json"])
    assert result.downloaded == 2
    assert result.missing == {f"lite/v1.0.0/{fb.R_CHEM_LLAMA13}": ["scenario_state.json"]}


def test_dry_run_writes_nothing_and_reports_bytes(emulator, tree, tmp_path, capsys):
    dest = tmp_path / "never"
    want = sum(len(v) for k, v in expected(tree, LITE, "runs/v1.1.0/").items())
    code, out, err = run_cli(capsys, dest, "--benchmark", "lite", "--version", "v1.1.0",
                             "--dry-run", "--endpoint", emulator.endpoint)
    assert code == 0, err
    assert not dest.exists()
    assert f"total {want} bytes" in out
    result, _ = fetch(emulator.endpoint, dest, benchmark="lite", version="v1.1.0", dry_run=True)
    assert result.total_bytes == want == result.bytes_to_fetch and result.bytes_transferred == 0
    assert not dest.exists()


def test_release_pulls_runs_from_two_suites_and_release_files(emulator, tree, tmp_path):
    dest = tmp_path / "rel"
    result, _ = fetch(emulator.endpoint, dest, benchmark="lite", release="v1.1.0", runs="mmlu:*")
    got = files_under(dest)
    want = expected(tree, LITE, "releases/v1.1.0/")
    for run in (fb.R_ANAT_GPT4, fb.R_CHEM_LLAMA13):
        want.update(expected(tree, LITE, f"runs/v1.0.0/{run}/"))
    want.update(expected(tree, LITE, f"runs/v1.1.0/{fb.R_ANAT_LLAMA7}/"))  # mapped to v1.1.0
    assert got == want
    assert {r.suite for r in result.plan.runs} == {"v1.0.0", "v1.1.0"}
    assert not (dest / "runs" / "v1.0.0" / fb.R_ANAT_LLAMA7).exists()
    assert json.loads((dest / "releases/v1.1.0/summary.json").read_bytes())["release"] == "v1.1.0"
    assert (dest / "releases/v1.1.0/groups/json/mmlu_mmlu.json").is_file()
    assert (dest / "releases/v1.1.0/groups/latex/empty_table.tex").read_bytes() == b""

    # Whole release: the index's run without a directory is reported, not failed.
    result, _ = fetch(emulator.endpoint, tmp_path / "all", benchmark="lite", release="v1.1.0",
                      release_files="summary.json,runs_to_run_suites.json")
    assert result.ok
    assert result.missing[f"lite/v1.1.0/{fb.R_GHOST}"] == ["(run directory not found)"]
    rel_files = sorted(p.name for p in (tmp_path / "all/releases/v1.1.0").iterdir())
    assert rel_files == ["runs_to_run_suites.json", "summary.json"]
    assert len(result.plan.runs) == 7


def test_classic_fallback_to_bucket_root(emulator, tree, tmp_path):
    old, _ = fetch(emulator.endpoint, tmp_path / "old", benchmark="classic", version="v0.2.4")
    assert files_under(tmp_path / "old") == expected(tree, "benchmark_output/", "runs/v0.2.4/")
    new, _ = fetch(emulator.endpoint, tmp_path / "new", benchmark="classic", version="v0.3.0",
                   runs=fb.C_BOOLQ, files="stats.json")
    data = (tmp_path / "new/runs/v0.3.0" / fb.C_BOOLQ / "stats.json").read_bytes()
    assert data == tree[f"classic/benchmark_output/runs/v0.3.0/{fb.C_BOOLQ}/stats.json"]
    assert b"classic-root-stale" not in data
    assert old.ok and new.ok


def test_several_benchmarks_get_their_own_subdirectories(emulator, tree, tmp_path):
    dest = tmp_path / "multi"
    fetch(emulator.endpoint, dest, benchmark="regex:lite|mmlu", version="v1.0.0",
          runs=fb.R_ANAT_LLAMA7, files="stats.json")
    got = files_under(dest)
    assert got == {
        f"lite/runs/v1.0.0/{fb.R_ANAT_LLAMA7}/stats.json":
            tree[f"{LITE}runs/v1.0.0/{fb.R_ANAT_LLAMA7}/stats.json"],
        f"mmlu/runs/v1.0.0/{fb.R_ANAT_LLAMA7}/stats.json":
            tree[f"mmlu/benchmark_output/runs/v1.0.0/{fb.R_ANAT_LLAMA7}/stats.json"],
    }


def test_bulk_suite_listing_and_paginated_listings(emulator, proxy, tree, tmp_path, monkeypatch):
    monkeypatch.setattr(dl_bucket, "BULK_LIST_MIN_RUNS", 2)
    proxy.paginate(7)
    result, _ = fetch(proxy.endpoint, tmp_path / "bulk", benchmark="lite", version="v1.1.0")
    assert files_under(tmp_path / "bulk") == expected(tree, LITE, "runs/v1.1.0/")
    run_listings = [e for e in proxy.log if e["kind"] == "list" and e["prefix"]
                    and e["prefix"].count("/") == 5]  # lite/benchmark_output/runs/v1.1.0/<run>/
    assert run_listings == []  # one suite-wide (paginated) listing instead of one per run
    assert any(e["prefix"] == f"{LITE}runs/v1.1.0/" and e["kind"] == "list" for e in proxy.log)
    assert result.ok


# ---------------------------------------------------------------------------
# Resume, verification, retries
# ---------------------------------------------------------------------------
def _one_run(endpoint, dest, **kw):
    return fetch(endpoint, dest, benchmark="lite", version="v1.0.0", runs=fb.R_GSM_LLAMA7, **kw)


def test_resume_from_truncated_part_uses_range(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "res"
    first, _ = _one_run(emulator.endpoint, dest)
    final = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "scenario_state.json"
    data = tree[fb.BIG_FILE]
    half = len(data) // 3
    final.unlink()
    Path(str(final) + ".part").write_bytes(data[:half])
    result, client = _one_run(proxy.endpoint, dest)
    assert final.read_bytes() == data and not Path(str(final) + ".part").exists()
    assert result.resumed == 1 and result.downloaded == 1 and result.skipped == first.downloaded - 1
    assert result.bytes_transferred == len(data) - half
    assert [e["range"] for e in proxy.requests_for("scenario_state.json", "media")] == [f"bytes={half}-"]


def test_resume_restarts_when_server_ignores_range(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "norange"
    _one_run(emulator.endpoint, dest, files="scenario_state.json")
    final = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "scenario_state.json"
    data = tree[fb.BIG_FILE]
    final.unlink()
    Path(str(final) + ".part").write_bytes(data[:1000])
    proxy.ignore_range()
    result, client = _one_run(proxy.endpoint, dest, files="scenario_state.json")
    assert final.read_bytes() == data
    assert result.resumed == 0 and result.bytes_transferred == len(data)
    assert client.stats.restarts == 1


def test_stale_part_from_other_content_is_refetched(emulator, tree, tmp_path):
    dest = tmp_path / "stale"
    final = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "stats.json"
    final.parent.mkdir(parents=True)
    Path(str(final) + ".part").write_bytes(b"X" * 10)  # not a prefix of the object
    result, client = _one_run(emulator.endpoint, dest, files="stats.json")
    assert result.ok and final.read_bytes() == tree[f"{LITE}runs/v1.0.0/{fb.R_GSM_LLAMA7}/stats.json"]
    assert client.stats.checksum_failures == 1


def test_connection_cut_mid_body_resumes(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "cut"
    proxy.cut("scenario_state.json", after=300_000, times=1)
    result, client = _one_run(proxy.endpoint, dest, files="scenario_state.json")
    final = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "scenario_state.json"
    assert result.ok and final.read_bytes() == tree[fb.BIG_FILE]
    assert result.resumed == 1 and client.stats.retries >= 1
    ranges = [e["range"] for e in proxy.requests_for("scenario_state.json", "media")]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"


def test_kill_mid_download_then_resume(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "killed"
    proxy.throttle("scenario_state.json", chunk=16 * 1024, delay=0.02)
    proc = subprocess.Popen(
        [sys.executable, "-m", "magnet.backends.helm.download_helm_results", str(dest),
         "--benchmark", "lite", "--version", "v1.0.0", "--runs", fb.R_GSM_LLAMA7,
         "--files", "scenario_state.json", "--endpoint", proxy.endpoint, "--quiet"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    part = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "scenario_state.json.part"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if part.exists() and part.stat().st_size > 200_000:
                break
            assert proc.poll() is None, "download finished before it could be interrupted"
            time.sleep(0.02)
        else:
            pytest.fail("no .part file appeared")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    partial = part.stat().st_size
    data = tree[fb.BIG_FILE]
    assert 0 < partial < len(data)
    assert not part.with_name("scenario_state.json").exists()

    proxy.reset()
    result, _ = _one_run(proxy.endpoint, dest, files="scenario_state.json")
    assert result.ok and result.resumed == 1
    assert part.with_name("scenario_state.json").read_bytes() == data
    assert result.bytes_transferred == len(data) - partial


def test_ctrl_c_keeps_part_and_exits_130(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "sigint"
    proxy.throttle("scenario_state.json", chunk=16 * 1024, delay=0.02)
    proc = subprocess.Popen(
        [sys.executable, "-m", "magnet.backends.helm.download_helm_results", str(dest),
         "--benchmark", "lite", "--version", "v1.0.0", "--runs", fb.R_GSM_LLAMA7,
         "--endpoint", proxy.endpoint, "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    part = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "scenario_state.json.part"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 100_000):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "rerun to resume" in err and "Traceback" not in err
    assert part.exists() and not part.with_name("scenario_state.json").exists()


def test_checksum_mismatch_leaves_no_file(emulator, proxy, tree, tmp_path, capsys):
    dest = tmp_path / "bad"
    proxy.corrupt(f"{fb.R_GSM_LLAMA7}/stats.json")
    result, client = _one_run(proxy.endpoint, dest)
    run_dir = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7
    assert not (run_dir / "stats.json").exists() and not (run_dir / "stats.json.part").exists()
    assert [name for name, _ in result.failed] == [f"{LITE}runs/v1.0.0/{fb.R_GSM_LLAMA7}/stats.json"]
    assert "checksum mismatch" in result.failed[0][1]
    assert result.downloaded == 7  # every other file is fine
    assert client.stats.checksum_failures == 2  # first try + one full re-download

    code, out, err = run_cli(capsys, tmp_path / "bad2", "--benchmark", "lite", "--version", "v1.0.0",
                             "--runs", fb.R_GSM_LLAMA7, "--files", "stats.json",
                             "--endpoint", proxy.endpoint)
    assert code == 1
    assert "checksum mismatch" in err and "stats.json" in err
    assert not (tmp_path / "bad2/runs/v1.0.0" / fb.R_GSM_LLAMA7 / "stats.json").exists()


def test_crc32c_verification_when_md5_is_absent(emulator, proxy, tree, tmp_path):
    proxy.drop_md5_from_listings()
    result, client = _one_run(proxy.endpoint, tmp_path / "crc", files="stats.json,run_spec.json")
    assert result.ok and result.downloaded == 2
    assert all(pf.obj.md5 is None and pf.obj.crc32c for pf in result.plan.files)
    proxy.corrupt(f"{fb.R_GSM_LLAMA7}/stats.json")
    result, client = _one_run(proxy.endpoint, tmp_path / "crc2", files="stats.json")
    assert len(result.failed) == 1 and "crc32c" in result.failed[0][1]
    assert not list((tmp_path / "crc2").rglob("stats.json*"))


def test_retries_after_injected_server_errors(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "retry"
    target = f"{fb.R_GSM_LLAMA7}/run_spec.json"
    proxy.fail(target, times=2, status=503)
    proxy.fail(f"?prefix={LITE}runs/v1.0.0/", times=1, status=429, kind="list")  # a listing too
    result, client = _one_run(proxy.endpoint, dest)
    assert result.ok
    assert (dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "run_spec.json").read_bytes() == \
        tree[f"{LITE}runs/v1.0.0/{target}"]
    statuses = [e["status"] for e in proxy.requests_for(target, "media")]
    assert statuses == [503, 503, 200]
    assert client.stats.retries >= 3 and result.retries >= 2


def test_retries_are_bounded(emulator, proxy, tmp_path):
    proxy.fail(f"{fb.R_GSM_LLAMA7}/stats.json", times=100, status=500)
    result, client = _one_run(proxy.endpoint, tmp_path / "bounded", files="stats.json")
    assert len(result.failed) == 1
    message = result.failed[0][1]
    assert "after 4 attempts" in message and "(HTTP 500)" in message and "\n" not in message
    assert f"gs://crfm-helm-public/{LITE}runs/v1.0.0/{fb.R_GSM_LLAMA7}/stats.json" in message
    assert len(proxy.requests_for(f"{fb.R_GSM_LLAMA7}/stats.json", "media")) == 4


# ---------------------------------------------------------------------------
# Refusals and one-line errors
# ---------------------------------------------------------------------------
def _assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


def test_release_index_escaping_dest_is_refused(emulator, tmp_path, capsys):
    dest = tmp_path / "esc"
    code, out, err = run_cli(capsys, dest, "--benchmark", "badproj", "--release", "r1",
                             "--endpoint", emulator.endpoint)
    _assert_one_line_error(code, err, "refusing unsafe name", "../../../../tmp")
    assert not dest.exists()


def test_listing_names_escaping_dest_are_refused(emulator, proxy, tmp_path):
    run_prefix = f"{LITE}runs/v1.0.0/{fb.R_GSM_LLAMA7}/"
    evil = {"name": run_prefix + "../../../../evil.json", "size": "2", "md5Hash": md5_b64(b"{}")}
    proxy.inject_listing(run_prefix, items=[evil])
    with pytest.raises(dl.UnsafePathError, match="would escape DEST"):
        _one_run(proxy.endpoint, tmp_path / "e1")
    proxy.reset()
    proxy.inject_listing(f"{LITE}runs/v1.0.0/", prefixes=[f"{LITE}runs/v1.0.0/../"])
    with pytest.raises(dl.UnsafePathError):
        fetch(proxy.endpoint, tmp_path / "e2", benchmark="lite", version="v1.0.0")
    assert not (tmp_path / "evil.json").exists() and not list(tmp_path.rglob("evil.json"))


def test_unknown_benchmark_version_release(emulator, tmp_path, capsys):
    ep = ("--endpoint", emulator.endpoint)
    code, _, err = run_cli(capsys, tmp_path / "d", "--benchmark", "nope", "--version", "v1", *ep)
    _assert_one_line_error(code, err, "benchmark 'nope' not found", "lite", "classic")
    code, _, err = run_cli(capsys, tmp_path / "d", "--benchmark", "lite", "--version", "v9.9.9", *ep)
    _assert_one_line_error(code, err, "version 'v9.9.9' not found", "v1.0.0, v1.1.0, v1.10.0")
    code, _, err = run_cli(capsys, tmp_path / "d", "--benchmark", "lite", "--release", "v7", *ep)
    _assert_one_line_error(code, err, "release 'v7' not found", "v1.1.0")
    code, _, err = run_cli(capsys, tmp_path / "d", "--benchmark", "heim", "--release", "latest", *ep)
    _assert_one_line_error(code, err, "has no releases", "v1.0.0")
    code, _, err = run_cli(capsys, tmp_path / "d", "--benchmark", "lite", "--version", "v1.0.0",
                           "--runs", "nothing:*", *ep)
    _assert_one_line_error(code, err, "no runs match", "--list-runs")
    code, _, err = run_cli(capsys, tmp_path / "d", "--benchmark", "lite", *ep)
    _assert_one_line_error(code, err, "--version or --release", "v1.10.0")
    code, _, err = run_cli(capsys, "--list-versions", "--benchmark", "nope*", *ep)
    _assert_one_line_error(code, err, "not found", "lite")
    assert not (tmp_path / "d").exists()


def test_bad_destination(emulator, tmp_path, capsys):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    args = ("--benchmark", "lite", "--version", "v1.0.0", "--endpoint", emulator.endpoint)
    code, _, err = run_cli(capsys, afile, *args)
    _assert_one_line_error(code, err, "exists and is not a directory")
    code, _, err = run_cli(capsys, afile / "sub", *args)
    _assert_one_line_error(code, err, "is not a directory")
    code, _, err = run_cli(capsys, "--benchmark", "lite", "--version", "v1.0.0",
                           "--endpoint", emulator.endpoint)
    _assert_one_line_error(code, err, "DEST is required")


def test_unreachable_endpoint_is_one_line(tmp_path, capsys):
    port = fb.free_port()  # nothing listens there
    client = GCSClient(fb.BUCKET, f"http://127.0.0.1:{port}", max_attempts=2, backoff_base=0.01)
    with pytest.raises(GCSError, match="after 2 attempts"):
        dl.HelmBucket(client).benchmarks()
    client.close()
