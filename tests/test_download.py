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
    want = expected(tree, LITE, "runs/v1.0.0/")  # the runs and the suite-level summary.json, groups/
    assert files_under(dest) == want  # exactly the suite, byte for byte, no .part left
    assert result.ok and result.downloaded == len(want) and result.skipped == 0
    assert result.bytes_transferred == sum(len(v) for v in want.values()) == result.total_bytes
    assert (dest / "runs" / "v1.0.0" / fb.R_PERCENT / "stats.json").is_file()
    key = f"lite/v1.0.0/{fb.R_CHEM_LLAMA13}"
    assert result.missing == {key: ["scenario_state.json"],  # reported, not failed
                              "lite/v1.0.0 (suite-level files)": ["schema.json"]}

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
    want = {k: v for k, v in expected(tree, LITE, "runs/v1.0.0/").items()
            if k.count("/") == 2 or "/groups/" in k}  # the suite-level files
    assert set(want) == {"runs/v1.0.0/summary.json", "runs/v1.0.0/groups/mmlu.json"}
    for run in (fb.R_ANAT_LLAMA7, fb.R_CHEM_LLAMA13):
        want.update(expected(tree, LITE, f"runs/v1.0.0/{run}/"))
    assert got == want
    assert "Downloaded 17 files" in out and "scenario_state.json" in out and fb.R_CHEM_LLAMA13 in out


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
    # 2.5 MB at about 160 KB/s: the download lasts ~15 s, so the signal lands mid-file even on a busy machine
    proxy.throttle("scenario_state.json", chunk=8 * 1024, delay=0.05)
    proc = subprocess.Popen(
        [sys.executable, "-m", "magnet.backends.helm.download_helm_results", str(dest),
         "--benchmark", "lite", "--version", "v1.0.0", "--runs", fb.R_GSM_LLAMA7,
         "--endpoint", proxy.endpoint, "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a suite started in the background (nohup, `&`) inherits SIGINT ignored, and so would the downloader,
        # which then rightly finishes (exit 0): the test is about what Ctrl-C does, so the child gets the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    part = dest / "runs/v1.0.0" / fb.R_GSM_LLAMA7 / "scenario_state.json.part"

    def part_size() -> int:
        try:
            return part.stat().st_size
        except FileNotFoundError:
            return 0

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and part_size() <= 50_000 and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, f"the download ended before the signal (exit {proc.returncode}): {proc.stderr.read()}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
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
    assert result.downloaded == 7 + 2  # every other file of the run, and the suite's 2 files
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


# ---------------------------------------------------------------------------
# Suite-level files (issue 16.5)
# ---------------------------------------------------------------------------
V1100 = "runs/v1.10.0/"


def suite_level(tree, base=LITE, suite="v1.10.0"):
    """The suite-level objects of a suite as expected under DEST (files and groups/, no eval_cache/)."""
    out = {}
    for key, data in expected(tree, base, f"runs/{suite}/").items():
        inner = key[len(f"runs/{suite}/"):]
        if "/" not in inner or inner.startswith("groups/"):
            out[key] = data
    return out


def test_suite_level_files_arrive_byte_identical_and_rerun_is_free(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "suite"
    result, _ = fetch(proxy.endpoint, dest, benchmark="lite", version="v1.10.0")
    want = expected(tree, LITE, V1100)
    del want[V1100 + "eval_cache/cache.sqlite"]  # helm's cache, never fetched
    got = files_under(dest)
    assert got == want  # every run file and every suite-level file, byte for byte
    level = suite_level(tree)
    assert {k[len(V1100):] for k in level} >= set(fb.SUITE_LEVEL_FILES) | {
        "groups/json/gsm_gsm_.json", "groups/latex/empty.tex"}
    assert all(got[k] == v for k, v in level.items())
    assert not (dest / V1100 / "eval_cache").exists()
    assert result.ok and result.missing == {} and result.downloaded == len(want)
    assert sum(1 for pf in result.plan.files if pf.suite) == len(level)
    # Every non-empty object was fetched once (a zero-byte one needs no request).
    media = [e for e in proxy.log if e["kind"] == "media"]
    assert len(media) == sum(1 for v in want.values() if v)
    assert not [e for e in media if "eval_cache" in e["path"]]

    proxy.reset()
    again, client = fetch(proxy.endpoint, dest, benchmark="lite", version="v1.10.0")
    assert again.ok and again.downloaded == 0 and again.skipped == len(want)
    assert again.bytes_transferred == 0 and client.stats.bytes_downloaded == 0
    assert not [e for e in proxy.log if e["kind"] == "media"]


def test_suite_level_files_are_verified_and_resumed(emulator, proxy, tree, tmp_path):
    dest = tmp_path / "verify"
    schema = dest / V1100 / "schema.json"
    proxy.corrupt("v1.10.0/schema.json")
    result, client = fetch(proxy.endpoint, dest, benchmark="lite", version="v1.10.0")
    assert [name for name, _ in result.failed] == [f"{LITE}{V1100}schema.json"]
    assert "checksum mismatch" in result.failed[0][1]
    assert not schema.exists() and not schema.with_name("schema.json.part").exists()

    proxy.reset()
    runs_json = dest / V1100 / "runs.json"
    data = tree[f"{LITE}{V1100}runs.json"]
    runs_json.unlink()
    runs_json.with_name("runs.json.part").write_bytes(data[:100])
    result, client = fetch(proxy.endpoint, dest, benchmark="lite", version="v1.10.0")
    assert result.ok and result.downloaded == 2 and result.resumed == 1
    assert runs_json.read_bytes() == data and schema.read_bytes() == tree[f"{LITE}{V1100}schema.json"]
    assert [e["range"] for e in proxy.requests_for("v1.10.0/runs.json", "media")] == ["bytes=100-"]


def test_suite_level_files_come_from_the_bulk_listing(emulator, proxy, tree, tmp_path, monkeypatch):
    monkeypatch.setattr(dl_bucket, "BULK_LIST_MIN_RUNS", 1)
    monkeypatch.setattr(dl_bucket, "BULK_LIST_FRACTION", 0.0)
    result, _ = fetch(proxy.endpoint, tmp_path / "bulk", benchmark="lite", version="v1.10.0")
    assert files_under(tmp_path / "bulk") == {
        k: v for k, v in expected(tree, LITE, V1100).items() if "eval_cache" not in k}
    lists = [e["prefix"] for e in proxy.log if e["kind"] == "list"]
    assert f"{LITE}{V1100}groups/" not in lists  # no second listing for groups/
    assert result.ok


def test_files_option_restricts_suite_and_release_levels(emulator, tree, tmp_path):
    # --files names run files only: no suite-level file comes.
    result, _ = fetch(emulator.endpoint, tmp_path / "a", benchmark="lite", version="v1.10.0",
                      files="stats.json")
    assert set(files_under(tmp_path / "a")) == {f"{V1100}{fb.R_GSM_LLAMA3}/stats.json"}
    assert result.missing == {}
    # ... and applies to suite-level paths too when it names them.
    fetch(emulator.endpoint, tmp_path / "b", benchmark="lite", version="v1.10.0",
          files="stats.json,schema.json,groups/json/*")
    assert set(files_under(tmp_path / "b")) == {
        f"{V1100}{fb.R_GSM_LLAMA3}/stats.json", f"{V1100}schema.json", f"{V1100}groups/json/gsm_gsm_.json"}
    # --suite-files overrides --files for the suite level; an absent named file is reported.
    result, _ = fetch(emulator.endpoint, tmp_path / "c", benchmark="lite", version="v1.0.0",
                      runs=fb.R_GSM_LLAMA7, files="stats.json", suite_files="schema.json,groups/*")
    got = files_under(tmp_path / "c")
    assert set(got) == {f"runs/v1.0.0/{fb.R_GSM_LLAMA7}/stats.json", "runs/v1.0.0/groups/mmlu.json"}
    assert result.missing == {"lite/v1.0.0 (suite-level files)": ["schema.json"]}
    # Releases: --files restricts the release-level files as well; --release-files overrides.
    fetch(emulator.endpoint, tmp_path / "d", benchmark="lite", release="v1.1.0", runs=fb.R_ANAT_GPT4,
          files="stats.json,schema.json")
    assert set(files_under(tmp_path / "d")) == {
        f"runs/v1.0.0/{fb.R_ANAT_GPT4}/stats.json", "releases/v1.1.0/schema.json"}
    fetch(emulator.endpoint, tmp_path / "e", benchmark="lite", release="v1.1.0", runs=fb.R_ANAT_GPT4,
          files="stats.json", release_files="summary.json")
    assert set(files_under(tmp_path / "e")) == {
        f"runs/v1.0.0/{fb.R_ANAT_GPT4}/stats.json", "releases/v1.1.0/summary.json"}


def test_suite_without_selected_runs_brings_no_suite_files(emulator, tree, tmp_path):
    result, _ = fetch(emulator.endpoint, tmp_path / "x", benchmark="lite", version="regex:v1\\.10?\\.0",
                      runs=fb.R_GSM_LLAMA3, files="stats.json,summary.json")
    assert set(files_under(tmp_path / "x")) == {
        f"{V1100}{fb.R_GSM_LLAMA3}/stats.json", f"{V1100}summary.json"}  # not v1.0.0's summary.json


def test_dry_run_shows_suite_level_files(emulator, tree, tmp_path, capsys):
    code, out, err = run_cli(capsys, tmp_path / "dry", "--benchmark", "lite", "--version", "v1.10.0",
                             "--dry-run", "--endpoint", emulator.endpoint)
    assert code == 0, err
    level = suite_level(tree)
    row = next(line for line in out.splitlines() if "suite-level files (lite/v1.10.0)" in line)
    assert [cell.strip() for cell in row.split("\u2502")][1] == str(len(level))  # name | files | bytes
    assert not (tmp_path / "dry").exists()


# ---------------------------------------------------------------------------
# MAGNET spellings (issue 18.5): --download-dir, positionals, `magnet download helm`
# ---------------------------------------------------------------------------
def magnet_layout(tree, bench, base, suite):
    return {f"{bench}/benchmark_output/{k}": v for k, v in expected(tree, base, f"runs/{suite}/").items()
            if "eval_cache" not in k}


def test_download_dir_writes_magnets_layout(emulator, tree, tmp_path, capsys):
    ep = ("--endpoint", emulator.endpoint, "--quiet")
    code, _, err = run_cli(capsys, "--download-dir", tmp_path / "m1", "--benchmark", "lite",
                           "--version", "v1.10.0", *ep)
    assert code == 0, err
    assert files_under(tmp_path / "m1") == magnet_layout(tree, "lite", LITE, "v1.10.0")
    # MAGNET's defaults: --benchmark lite, --version latest (v1.10.0 here); --dir is an alias.
    code, _, err = run_cli(capsys, "--dir", tmp_path / "m2", *ep)
    assert code == 0, err
    assert files_under(tmp_path / "m2") == files_under(tmp_path / "m1")
    # MAGNET's positional form DEST BENCHMARK VERSION, with its layout asked for explicitly.
    code, _, err = run_cli(capsys, tmp_path / "m3", "lite", "v1.10.0", "--layout", "magnet", *ep)
    assert code == 0, err
    assert files_under(tmp_path / "m3") == files_under(tmp_path / "m1")
    # Positional DEST alone keeps benchmark_output layout (DEST is benchmark_output).
    code, _, err = run_cli(capsys, tmp_path / "p", "lite", "v1.10.0", *ep)
    assert code == 0, err
    assert set(files_under(tmp_path / "p")) == {
        k[len("lite/benchmark_output/"):] for k in files_under(tmp_path / "m1")}


def test_download_dir_several_benchmarks_and_releases(emulator, tree, tmp_path, capsys):
    code, _, err = run_cli(capsys, "--download-dir", tmp_path / "multi", "--benchmark", "regex:lite|mmlu",
                           "--version", "v1.0.0", "--runs", fb.R_ANAT_LLAMA7, "--files", "stats.json",
                           "--endpoint", emulator.endpoint, "--quiet")
    assert code == 0, err
    assert set(files_under(tmp_path / "multi")) == {
        f"lite/benchmark_output/runs/v1.0.0/{fb.R_ANAT_LLAMA7}/stats.json",
        f"mmlu/benchmark_output/runs/v1.0.0/{fb.R_ANAT_LLAMA7}/stats.json"}
    code, _, err = run_cli(capsys, "--download-dir", tmp_path / "rel", "--release", "v1.1.0",
                           "--runs", fb.R_NARR, "--release-files", "summary.json",
                           "--endpoint", emulator.endpoint, "--quiet")
    assert code == 0, err
    got = files_under(tmp_path / "rel")
    assert got["lite/benchmark_output/releases/v1.1.0/summary.json"] == tree[f"{LITE}releases/v1.1.0/summary.json"]
    assert f"lite/benchmark_output/runs/v1.1.0/{fb.R_NARR}/stats.json" in got


def test_download_dir_loads_with_magnet(emulator, tree, tmp_path, capsys):
    from magnet.backends.helm.outputs import HelmOutputs

    code, _, err = run_cli(capsys, "--download-dir", tmp_path / "dl", "--version", "v1.10.0",
                           "--endpoint", emulator.endpoint, "--quiet")
    assert code == 0, err
    outputs = HelmOutputs.coerce(tmp_path / "dl" / "lite" / "benchmark_output", cache_dir=False)
    assert [r.name for r in outputs.runs()] == [fb.R_GSM_LLAMA3]


def test_magnets_python_calls_run_unchanged(emulator, tree, tmp_path, capsys):
    """MAGNET's documented calls: main(argv=False, list_benchmarks=True), main(argv=False, download_dir=...)."""
    ep = emulator.endpoint
    assert dl.main(argv=False, list_benchmarks=True, endpoint=ep) == 0
    assert "lite" in capsys.readouterr().out
    assert dl.main(argv=False, list_runs=True, benchmark="lite", version="v1.10.0", endpoint=ep) == 0
    assert fb.R_GSM_LLAMA3 in capsys.readouterr().out
    dpath = tmp_path / "download_helm_list"
    assert dl.main(argv=False, download_dir=dpath, runs="bad-pattern", endpoint=ep) == 2
    assert capsys.readouterr().err.startswith("error: no runs match 'bad-pattern'")
    assert not dpath.exists()  # "should not have downloaded anything"
    assert dl.main(argv=False, download_dir=dpath, runs="gsm:model=meta_llama-3-70b*", version="v1.10.0",
                   endpoint=ep, quiet=True) == 0
    assert files_under(dpath) == magnet_layout(tree, "lite", LITE, "v1.10.0")


def test_magnet_download_helm_subcommand(emulator, tree, tmp_path, capsys):
    import argparse

    top = argparse.ArgumentParser(prog="magnet")
    dl.register(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["download", "helm", "--download-dir", str(tmp_path / "sub"), "--benchmark", "lite",
                           "--version", "v1.10.0", "--runs", "- gsm:*\n- nothing:*\n",
                           "--endpoint", emulator.endpoint, "--quiet"])
    assert args.func(args) == 0
    assert files_under(tmp_path / "sub") == magnet_layout(tree, "lite", LITE, "v1.10.0")
    args = top.parse_args(["download", "helm", str(tmp_path / "bad"), "--benchmark", "nope",
                           "--version", "v1", "--endpoint", emulator.endpoint])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: benchmark 'nope' not found")
    with pytest.raises(SystemExit) as info:  # argparse's refusals are one line too
        top.parse_args(["download", "helm", str(tmp_path / "bad"), "--workers", "x"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: argument --workers: invalid int value: 'x'")


# ---------------------------------------------------------------------------
# The error contract (issue 22): one line, exit 2, no traceback, nothing written
# ---------------------------------------------------------------------------
NON_UTF8 = os.fsdecode(b"caf\xe9-\xff")


def _bad_inputs(tmp_path, endpoint):
    afile = tmp_path / "a-file.txt"
    afile.write_text("x")
    odd = tmp_path / NON_UTF8
    odd.write_bytes(b"x")
    dest = str(tmp_path / "dest")
    ok = ("--benchmark", "lite", "--version", "v1.0.0")
    return [
        # (argv, needles on the error line, path that must not appear)
        ((dest, *ok, "--workers", "many"), ["argument --workers", "invalid int value: 'many'"]),
        ((dest, *ok, "--workers", "0"), ["--workers 0", "at least 1"]),
        ((dest, *ok, "--max-attempts", "0"), ["--max-attempts 0", "at least 1"]),
        ((dest, *ok, "--no-such-option"), ["unrecognized arguments: --no-such-option"]),
        ((dest, "--benchmark", "lite", "--version", "v1", "--release", "r"), ["--release", "not allowed with"]),
        ((dest, *ok, "--layout", "flat"), ["--layout", "invalid choice: 'flat'"]),
        (("/proc/x", *ok), ["destination '/proc/x'", "cannot be created"]),
        ((str(afile), *ok), [f"destination {str(afile)!r}", "exists and is not a directory"]),
        ((str(afile / "sub"), *ok), ["is not a directory"]),
        ((str(odd), *ok), ["exists and is not a directory", "caf"]),
        ((dest, "--benchmark", "nope", "--version", "v1"), ["benchmark 'nope' not found", "lite"]),
        ((dest, "--benchmark", "lite", "--version", "v9"), ["version 'v9' not found", "v1.10.0"]),
        ((dest, "--benchmark", "lite", "--release", "v9"), ["release 'v9' not found", "v1.1.0"]),
        ((dest, *ok, "--runs", "regex:(mmlu"), ["--runs 'regex:(mmlu'", "invalid regular expression"]),
        ((dest, "--benchmark", "regex:[", "--version", "v1"), ["--benchmark 'regex:['", "invalid regular"]),
        ((dest, *ok, "--files", "regex:*.json"), ["--files 'regex:*.json'", "invalid regular"]),
        ((dest, *ok, "--runs", ""), ["--runs ''", "empty pattern"]),
        ((dest, *ok, "--runs", "a\nb"), ["--runs", "'- PATTERN' lines"]),
        ((dest, *ok, "--runs", "nothing:*"), ["no runs match 'nothing:*'"]),
        ((dest, *ok, "--bucket", "a/b"), ["--bucket 'a/b'", "not a bucket name"]),
        ((dest, "--download-dir", dest + "2", *ok), ["--download-dir", "give one, not both"]),
        ((dest, "lite", "--benchmark", "lite", "--version", "v1.0.0"), ["BENCHMARK 'lite'", "not both"]),
        ((dest, *ok, "--endpoint", f"http://127.0.0.1:{fb.free_port()}", "--max-attempts", "1"),
         ["unreachable", "127.0.0.1"]),
        ((*ok,), ["DEST is required"]),
    ]


def test_bad_inputs_get_one_line_and_exit_2(emulator, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MAGNET_DEBUG", raising=False)
    cases = _bad_inputs(tmp_path, emulator.endpoint)
    before = sorted(p for p in tmp_path.rglob("*"))
    for argv, needles in cases:
        argv = [*argv] if "--endpoint" in argv else [*argv, "--endpoint", emulator.endpoint]
        code, out, err = run_cli(capsys, *argv)
        assert code == 2, (argv, err)
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        assert "Traceback" not in err, argv
        for needle in needles:
            assert needle in lines[0], (argv, lines[0])
        assert sorted(p for p in tmp_path.rglob("*")) == before, argv  # nothing written
    assert not Path("/proc/x").exists()


def test_bad_inputs_through_python_dash_m(emulator, tmp_path):
    def run(*argv, env=None):
        return subprocess.run([sys.executable, "-m", "magnet.backends.helm.download_helm_results", *argv],
                              cwd=REPO, capture_output=True, timeout=60,
                              env={**os.environ, "MAGNET_DEBUG": "", **(env or {})})

    ep = ("--endpoint", emulator.endpoint)
    odd = os.fsencode(tmp_path) + b"/caf\xe9"
    Path(os.fsdecode(odd)).write_bytes(b"x")
    for argv, needle in [(("/proc/x", "--benchmark", "lite", "--version", "v1.0.0", *ep), b"/proc/x"),
                         ((odd, "--benchmark", "lite", "--version", "v1.0.0", *ep), b"not a directory"),
                         (("--workers", "x"), b"--workers"),
                         ((str(tmp_path / "d"), "--benchmark", "lite", "--version", "v1.0.0",
                           "--runs", "regex:(", *ep), b"invalid regular expression")]:
        proc = run(*argv)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count(b"\n") == 1 and proc.stderr.startswith(b"error: ") and needle in proc.stderr
        assert b"Traceback" not in proc.stderr
    assert not (tmp_path / "d").exists()
    # --debug / MAGNET_DEBUG=1 show the traceback, still exit 2 with the one-line error last.
    for argv, env in [(("/proc/x", "--benchmark", "lite", "--version", "v1.0.0", "--debug", *ep), None),
                      (("/proc/x", "--benchmark", "lite", "--version", "v1.0.0", *ep), {"MAGNET_DEBUG": "1"})]:
        proc = run(*argv, env=env)
        assert proc.returncode == 2
        assert b"Traceback" in proc.stderr and b"DownloadError" in proc.stderr
        assert proc.stderr.splitlines()[-1].startswith(b"error: destination '/proc/x'")


def test_internal_error_prints_traceback_and_asks_for_a_report(emulator, tmp_path, capsys, monkeypatch):
    from magnet.backends.helm.download import cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "plan_download", broken)
    code, out, err = run_cli(capsys, tmp_path / "d", "--benchmark", "lite", "--version", "v1.0.0",
                             "--endpoint", emulator.endpoint)
    assert code == 70
    assert "Traceback" in err and "ZeroDivisionError" in err
    assert "this is a bug" in err.splitlines()[-1] and "please report it" in err.splitlines()[-1]
    assert not (tmp_path / "d").exists()
