"""Planning: from benchmark/version/run/file patterns to the exact objects to fetch."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence

from magnet.backends.helm.download.bucket import HelmBucket
from magnet.backends.helm.download.errors import DownloadError
from magnet.backends.helm.download.layout import (
    BENCHMARK_OUTPUT,
    CORE_RUN_FILES,
    LAYOUTS,
    SUITE_FILES,
    ReleaseRef,
    RunRef,
    SuiteRef,
)
from magnet.backends.helm.download.names import is_literal, matches_any, natural_key
from magnet.backends.helm.download.paths import check_component, safe_relpath
from magnet.backends.helm.gcs import GCSObject


@dataclasses.dataclass(frozen=True)
class PlannedFile:
    """One object to fetch and where it goes (relative to DEST).

    Example:
        >>> from magnet.backends.helm.gcs import GCSObject
        >>> PlannedFile(GCSObject('lite/benchmark_output/runs/v1/schema.json', 2),
        ...             PurePosixPath('runs/v1/schema.json')).rel.name
        'schema.json'
    """

    obj: GCSObject
    rel: PurePosixPath
    run: Optional[RunRef] = None  # None for suite- and release-level files
    suite: Optional[SuiteRef] = None  # set for suite-level files


@dataclasses.dataclass
class Plan:
    """What a download will fetch; built by :func:`plan_download`.

    Example:
        >>> Plan(Path('out'), files=[], runs=[], missing={}).total_bytes
        0
    """

    dest: Path
    files: list[PlannedFile]
    runs: list[RunRef]
    missing: dict[str, list[str]]  # run key -> expected files it lacks
    suites: list[SuiteRef] = dataclasses.field(default_factory=list)
    releases: list[ReleaseRef] = dataclasses.field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(pf.obj.size for pf in self.files)


def bench_prefix(benchmark: str, *, multi: bool, layout: str = "benchmark_output") -> str:
    """Where a benchmark's ``benchmark_output`` tree goes, relative to DEST.

    ``benchmark_output`` layout: DEST itself for one benchmark, ``DEST/<benchmark>``
    for several.  ``magnet`` layout (MAGNET's ``--download-dir``): always
    ``DEST/<benchmark>/benchmark_output``.

    Example:
        >>> bench_prefix('lite', multi=False), bench_prefix('lite', multi=True)
        ('', 'lite')
        >>> bench_prefix('lite', multi=False, layout='magnet')
        'lite/benchmark_output'
    """
    if layout not in LAYOUTS:
        raise DownloadError(f"layout {layout!r}: unknown; expected one of {', '.join(LAYOUTS)}")
    if layout == "magnet":
        return f"{benchmark}/{BENCHMARK_OUTPUT}"
    return benchmark if multi else ""


def suite_file_patterns(
    files: Optional[Sequence[str]], suite_files: Optional[Sequence[str]]
) -> tuple[Optional[list[str]], list[str]]:
    """Patterns for suite- or release-level files, and the names to report when absent.

    Their own patterns (``--suite-files``/``--release-files``) win; else
    ``--files`` applies to them too (matched against the path under the suite
    or release directory); else everything.  Absent files are reported for
    the literal names asked for, and ``schema.json`` (magnet's targets need it)
    when nothing was asked for.

    Example:
        >>> suite_file_patterns(None, None)
        (None, ['schema.json'])
        >>> suite_file_patterns(['stats.json', 'schema.json'], None)
        (['stats.json', 'schema.json'], ['schema.json'])
        >>> suite_file_patterns(['stats.json'], ['groups/*', 'costs.json'])
        (['groups/*', 'costs.json'], ['costs.json'])
    """
    if suite_files:
        patterns = list(suite_files)
        return patterns, [p for p in patterns if is_literal(p)]
    if files:
        patterns = list(files)
        return patterns, [p for p in patterns if is_literal(p) and p in SUITE_FILES]
    return None, ["schema.json"]


def _rel_for(bench_prefix: str, base: str, obj_name: str) -> PurePosixPath:
    rel = safe_relpath(obj_name[len(base):], context=f"object {obj_name!r}")
    return PurePosixPath(bench_prefix, rel) if bench_prefix else rel


@dataclasses.dataclass
class Selection:
    """Runs (and releases) chosen by :func:`select_runs`, before listing their files.

    Example:
        >>> Selection(runs=[], missing={}, suites=[], releases=[], multi=False).multi
        False
    """

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

    Example:
        >>> from magnet.backends.helm.gcs import GCSClient
        >>> with GCSClient(endpoint='http://127.0.0.1:9') as client:  # refused before any request
        ...     select_runs(HelmBucket(client), benchmarks=['lite'], versions=['v1'], releases=['v1'])
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.DownloadError: specify exactly one of --version or --release
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
    suite_files: Optional[Sequence[str]] = None,
    layout: str = "benchmark_output",
) -> Plan:
    """Resolve patterns against the bucket into the exact list of objects to fetch.

    Runs are chosen by :func:`select_runs`.  *files* filters file paths
    inside each run directory (default: all).  With *versions*, each suite
    holding a selected run also brings its suite-level files
    (``runs/<suite>/schema.json``, ``summary.json``, ... and ``groups/``;
    never ``eval_cache/``); with *releases*, each release brings its
    release-level files.  Those are filtered by *suite_files* /
    *release_files* when given, else by *files*, else all are fetched (see
    :func:`suite_file_patterns`).  Runs and suites lacking an expected file
    (the literal names asked for, else :data:`CORE_RUN_FILES` for runs and
    ``schema.json`` for suites) are recorded in ``plan.missing``.  *layout*
    places each benchmark under DEST (:func:`bench_prefix`).  Every
    destination path is checked with :func:`safe_relpath`.

    Example:
        >>> from magnet.backends.helm.gcs import GCSClient
        >>> with GCSClient(endpoint='http://127.0.0.1:9') as client:  # refused before any request
        ...     plan_download(HelmBucket(client), 'out', benchmarks=['lite'], versions=['v1'], layout='flat')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.DownloadError: layout 'flat': unknown; expected one of benchmark_output, magnet
    """
    bench_prefix("", multi=False, layout=layout)  # an unknown layout fails before any listing
    sel = select_runs(bucket, benchmarks=benchmarks, versions=versions,
                      releases=releases, runs=runs)

    def prefix_of(benchmark: str) -> str:
        return bench_prefix(benchmark, multi=sel.multi, layout=layout)

    file_patterns = list(files or ())
    expected = [f for f in file_patterns if is_literal(f)] if file_patterns else list(CORE_RUN_FILES)
    planned: dict[str, PlannedFile] = {}
    missing = dict(sel.missing)

    rel_patterns, _ = suite_file_patterns(file_patterns, release_files)
    for rel in sel.releases:
        for obj in bucket.release_objects(rel):
            if obj.name.endswith("/"):
                continue  # "folder" placeholder objects
            if matches_any(rel_patterns, obj.name[len(rel.prefix):]):
                planned[obj.name] = PlannedFile(obj, _rel_for(prefix_of(rel.benchmark), rel.base, obj.name))

    objects = bucket.run_objects(sel.runs)

    suite_patterns, suite_expected = suite_file_patterns(file_patterns, suite_files)
    used = {(r.benchmark, r.base, r.suite) for r in sel.runs}
    suites = [s for s in sel.suites if (s.benchmark, s.base, s.name) in used]
    for suite in suites:
        present = set()
        for obj in bucket.suite_objects(suite):
            if obj.name.endswith("/"):
                continue
            inner = obj.name[len(suite.prefix):]
            present.add(inner)
            if matches_any(suite_patterns, inner):
                planned[obj.name] = PlannedFile(
                    obj, _rel_for(prefix_of(suite.benchmark), suite.base, obj.name), suite=suite)
        lacking = [f for f in suite_expected if f not in present]
        if lacking:
            missing[f"{suite.benchmark}/{suite.name} (suite-level files)"] = lacking

    for ref in sel.runs:
        present = set()
        for obj in objects[ref]:
            if obj.name.endswith("/"):
                continue
            inner = obj.name[len(ref.prefix):]
            present.add(inner)
            if matches_any(file_patterns, inner):
                planned[obj.name] = PlannedFile(obj, _rel_for(prefix_of(ref.benchmark), ref.base, obj.name), ref)
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
