"""Planning: from benchmark/version/run/file patterns to the exact objects to fetch."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence

from magnet.backends.helm.download.bucket import HelmBucket
from magnet.backends.helm.download.errors import DownloadError
from magnet.backends.helm.download.layout import CORE_RUN_FILES, ReleaseRef, RunRef, SuiteRef
from magnet.backends.helm.download.names import is_literal, matches_any, natural_key
from magnet.backends.helm.download.paths import check_component, safe_relpath
from magnet.backends.helm.gcs import GCSObject


@dataclasses.dataclass(frozen=True)
class PlannedFile:
    """One object to fetch and where it goes (relative to DEST)."""

    obj: GCSObject
    rel: PurePosixPath
    run: Optional[RunRef] = None


@dataclasses.dataclass
class Plan:
    """What a download will fetch; built by :func:`plan_download`."""

    dest: Path
    files: list[PlannedFile]
    runs: list[RunRef]
    missing: dict[str, list[str]]  # run key -> expected files it lacks
    suites: list[SuiteRef] = dataclasses.field(default_factory=list)
    releases: list[ReleaseRef] = dataclasses.field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(pf.obj.size for pf in self.files)




def _rel_for(bench_prefix: str, base: str, obj_name: str) -> PurePosixPath:
    rel = safe_relpath(obj_name[len(base):], context=f"object {obj_name!r}")
    return PurePosixPath(bench_prefix, rel) if bench_prefix else rel


@dataclasses.dataclass
class Selection:
    """Runs (and releases) chosen by :func:`select_runs`, before listing their files."""

    runs: list[RunRef]
    missing: dict[str, list[str]]
    suites: list[SuiteRef]
    releases: list[ReleaseRef]
    multi: bool  # several benchmarks: each goes to DEST/<benchmark>/


def select_runs(
    bucket: HelmBucket,
    *,
    benchmarks: Sequence[str],
    versions: Optional[Sequence[str]] = None,
    releases: Optional[Sequence[str]] = None,
    runs: Optional[Sequence[str]] = None,
) -> Selection:
    """Resolve benchmark/version-or-release/run patterns into run directories.

    Exactly one of *versions* (suite patterns) or *releases* is required.  In
    release mode each run comes from the suite named by the release index;
    index entries whose suite or run directory does not exist are reported in
    ``missing``.  Raises :class:`DownloadError` when something matches nothing
    and :class:`UnsafePathError` for names that are not plain path components.
    """
    if bool(versions) == bool(releases):
        raise DownloadError("specify exactly one of --version or --release")
    benches = bucket.find_benchmarks(list(benchmarks))
    selected: dict[str, RunRef] = {}
    missing: dict[str, list[str]] = {}
    all_suites: list[SuiteRef] = []
    all_releases: list[ReleaseRef] = []
    run_patterns = list(runs or ())
    available_runs = 0

    for bench in benches:
        if versions:
            suites = bucket.select_suites(bench, list(versions))
            all_suites.extend(suites)
            for suite in suites:
                check_component(suite.name, context=f"suite of {bench.name}")
                names = bucket.runs(suite)
                available_runs += len(names)
                for name in names:
                    if matches_any(run_patterns, name):
                        check_component(name, context=f"run in {bench.name}/{suite.name}")
                        ref = RunRef(bench.name, suite.name, name, suite.base)
                        selected.setdefault(ref.key, ref)
            continue
        rels = bucket.select_releases(bench, list(releases))
        all_releases.extend(rels)
        suites = bucket.suites(bench)
        for rel in rels:
            check_component(rel.name, context=f"release of {bench.name}")
            index = bucket.release_index(rel)
            available_runs += len(index)
            for name, suite_name in index.items():
                if not matches_any(run_patterns, name):
                    continue
                check_component(name, context=f"run in release {rel.name}")
                check_component(suite_name, context=f"suite of run {name!r} in release {rel.name}")
                suite = suites.get(suite_name)
                key = f"{bench.name}/{suite_name}/{name}"
                if suite is None:
                    missing[key] = [f"(suite {suite_name!r} not found)"]
                elif name not in set(bucket.runs(suite)):
                    missing[key] = ["(run directory not found)"]
                else:
                    ref = RunRef(bench.name, suite_name, name, suite.base)
                    selected.setdefault(ref.key, ref)

    if not selected and not missing and run_patterns:
        where = ", ".join(f"{s.benchmark}/{s.name}" for s in all_suites) or ", ".join(
            f"{r.benchmark} release {r.name}" for r in all_releases
        )
        raise DownloadError(
            f"no runs match {', '.join(repr(p) for p in run_patterns)} in {where} "
            f"({available_runs} runs available; see --list-runs)"
        )
    return Selection(
        runs=sorted(selected.values(), key=lambda r: (r.benchmark, natural_key(r.suite), r.name)),
        missing=missing,
        suites=all_suites,
        releases=all_releases,
        multi=len(benches) > 1,
    )


def plan_download(
    bucket: HelmBucket,
    dest: os.PathLike | str,
    *,
    benchmarks: Sequence[str],
    versions: Optional[Sequence[str]] = None,
    releases: Optional[Sequence[str]] = None,
    runs: Optional[Sequence[str]] = None,
    files: Optional[Sequence[str]] = None,
    release_files: Optional[Sequence[str]] = None,
) -> Plan:
    """Resolve patterns against the bucket into the exact list of objects to fetch.

    Runs are chosen by :func:`select_runs`.  *files* filters file paths
    inside each run directory (default: all); *release_files* filters the
    release-level files (default: all).  Runs lacking an expected file (the
    literal names in *files*, else :data:`CORE_RUN_FILES`) are recorded in
    ``plan.missing``.  Every destination path is checked with
    :func:`safe_relpath`.
    """
    sel = select_runs(bucket, benchmarks=benchmarks, versions=versions,
                      releases=releases, runs=runs)
    file_patterns = list(files or ())
    expected = [f for f in file_patterns if is_literal(f)] if file_patterns else list(CORE_RUN_FILES)
    planned: dict[str, PlannedFile] = {}
    missing = dict(sel.missing)

    for rel in sel.releases:
        bench_prefix = rel.benchmark if sel.multi else ""
        for obj in bucket.release_objects(rel):
            if obj.name.endswith("/"):
                continue  # "folder" placeholder objects
            if matches_any(release_files, obj.name[len(rel.prefix):]):
                planned[obj.name] = PlannedFile(obj, _rel_for(bench_prefix, rel.base, obj.name))

    objects = bucket.run_objects(sel.runs)
    for ref in sel.runs:
        bench_prefix = ref.benchmark if sel.multi else ""
        present = set()
        for obj in objects[ref]:
            if obj.name.endswith("/"):
                continue
            inner = obj.name[len(ref.prefix):]
            present.add(inner)
            if matches_any(file_patterns, inner):
                planned[obj.name] = PlannedFile(obj, _rel_for(bench_prefix, ref.base, obj.name), ref)
        lacking = [f for f in expected if f not in present]
        if not present:
            lacking = ["(run directory is empty)"]
        if lacking:
            missing[ref.key] = lacking

    return Plan(
        dest=Path(dest),
        files=sorted(planned.values(), key=lambda pf: pf.rel.as_posix()),
        runs=sel.runs,
        missing=dict(sorted(missing.items())),
        suites=sel.suites,
        releases=sel.releases,
    )
