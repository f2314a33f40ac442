""":class:`HelmBucket`: listing HELM projects, suites, releases and runs in the bucket."""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections import defaultdict
from typing import Optional, Sequence

from magnet.backends.helm.download.errors import DownloadError
from magnet.backends.helm.download.layout import (
    BENCHMARK_OUTPUT,
    LEGACY_ROOT_BENCHMARK,
    NON_RUN_DIRS,
    SUITE_DIRS,
    Benchmark,
    ReleaseRef,
    RunRef,
    SuiteRef,
)
from magnet.backends.helm.download.names import is_literal, match_pattern, natural_key, preview, select_names
from magnet.backends.helm.gcs import GCSClient, GCSError, GCSObject, Listing

# Selecting at least this many runs, and at least this fraction of a suite,
# lists the whole suite in one paginated call instead of once per run.
BULK_LIST_MIN_RUNS = 32
BULK_LIST_FRACTION = 0.25


class HelmBucket:
    """HELM layout knowledge on top of a :class:`GCSClient` (listing results cached).

    Lists projects (:meth:`benchmarks`), their suites and releases, the runs of
    a suite, a release's run index and the objects of runs, suites and
    releases; *workers* bounds the parallel listings.

    Example:
        >>> from magnet.backends.helm.gcs import GCSClient
        >>> with GCSClient(endpoint='http://127.0.0.1:9') as client:
        ...     print(HelmBucket(client).where)
        gs://crfm-helm-public
    """

    def __init__(self, client: GCSClient, *, workers: int = 8):
        self.client = client
        self.workers = max(1, int(workers))
        self._benchmarks: Optional[list[Benchmark]] = None
        self._suites: dict[str, dict[str, SuiteRef]] = {}
        self._releases: dict[str, dict[str, ReleaseRef]] = {}
        self._runs: dict[SuiteRef, list[str]] = {}
        self._suite_listings: dict[SuiteRef, Listing] = {}
        self._suite_level: dict[SuiteRef, list[GCSObject]] = {}
        self._lock = threading.Lock()

    def _map(self, fn, items):
        items = list(items)
        if len(items) <= 1 or self.workers == 1:
            return [fn(item) for item in items]
        with concurrent.futures.ThreadPoolExecutor(min(self.workers, len(items))) as pool:
            return list(pool.map(fn, items))

    @property
    def where(self) -> str:
        return f"gs://{self.client.bucket}"

    # -- benchmarks ---------------------------------------------------------
    def benchmarks(self) -> list[Benchmark]:
        """Every top-level prefix holding ``benchmark_output/`` (plus the Classic root)."""
        if self._benchmarks is not None:
            return self._benchmarks
        top = self.client.list_objects("", "/")
        names = [p[:-1] for p in top.prefixes if p.endswith("/") and p != f"{BENCHMARK_OUTPUT}/"]
        present = self._map(
            lambda n: self.client.prefix_exists(f"{n}/{BENCHMARK_OUTPUT}/"), names
        )
        found = {n: (f"{n}/{BENCHMARK_OUTPUT}/",) for n, ok in zip(names, present) if ok}
        if f"{BENCHMARK_OUTPUT}/" in top.prefixes:
            legacy = (f"{BENCHMARK_OUTPUT}/",)
            found[LEGACY_ROOT_BENCHMARK] = found.get(LEGACY_ROOT_BENCHMARK, ()) + legacy
        self._benchmarks = [Benchmark(n, found[n]) for n in sorted(found, key=natural_key)]
        return self._benchmarks

    def benchmark(self, name: str) -> Optional[Benchmark]:
        """Look one project up directly (no full listing)."""
        if self._benchmarks is not None:
            return next((b for b in self._benchmarks if b.name == name), None)
        if "/" in name or not name:
            return None
        candidates = Benchmark.candidate_bases(name)
        present = self._map(self.client.prefix_exists, candidates)
        bases = tuple(b for b, ok in zip(candidates, present) if ok)
        return Benchmark(name, bases) if bases else None

    def find_benchmarks(self, patterns: Sequence[str]) -> list[Benchmark]:
        """Projects selected by *patterns*; :class:`DownloadError` lists what exists."""
        if not patterns:
            return self.benchmarks()
        chosen: dict[str, Benchmark] = {}
        for pattern in patterns:
            if is_literal(pattern):
                bench = self.benchmark(pattern)
                hits = [bench] if bench else []
            else:
                hits = [b for b in self.benchmarks() if match_pattern(pattern, b.name)]
            if not hits:
                available = [b.name for b in self.benchmarks()]
                raise DownloadError(
                    f"benchmark {pattern!r} not found in {self.where}; "
                    f"available: {preview(available, 60)}"
                )
            for bench in hits:
                chosen[bench.name] = bench
        return [chosen[n] for n in sorted(chosen, key=natural_key)]

    # -- suites and releases ------------------------------------------------
    def _collect(self, bench: Benchmark, sub: str, cls):
        found: dict = {}
        listings = self._map(lambda base: self.client.list_objects(f"{base}{sub}/", "/"), bench.bases)
        for base, listing in zip(bench.bases, listings):
            start = len(f"{base}{sub}/")
            for prefix in listing.prefixes:
                name = prefix[start:].rstrip("/")
                if name and name not in found:  # the first base wins (Classic quirk)
                    found[name] = cls(bench.name, name, base)
        return dict(sorted(found.items(), key=lambda kv: natural_key(kv[0])))

    def suites(self, bench: Benchmark) -> dict[str, SuiteRef]:
        """Suites (``runs/<suite>/``) of *bench*, naturally sorted."""
        with self._lock:
            cached = self._suites.get(bench.name)
        if cached is None:
            cached = self._collect(bench, "runs", SuiteRef)
            with self._lock:
                self._suites[bench.name] = cached
        return cached

    def releases(self, bench: Benchmark) -> dict[str, ReleaseRef]:
        """Releases (``releases/<release>/``) of *bench*, naturally sorted."""
        with self._lock:
            cached = self._releases.get(bench.name)
        if cached is None:
            cached = self._collect(bench, "releases", ReleaseRef)
            with self._lock:
                self._releases[bench.name] = cached
        return cached

    def select_suites(self, bench: Benchmark, patterns: Sequence[str]) -> list[SuiteRef]:
        suites = self.suites(bench)
        if not suites:
            raise DownloadError(f"benchmark {bench.name!r} has no suites (runs/) in {self.where}")
        names = select_names(suites, patterns, what="version",
                             where=f"benchmark {bench.name!r}")
        return [suites[n] for n in names]

    def select_releases(self, bench: Benchmark, patterns: Sequence[str]) -> list[ReleaseRef]:
        releases = self.releases(bench)
        if not releases:
            suites = list(self.suites(bench))
            raise DownloadError(
                f"benchmark {bench.name!r} has no releases (suites only: "
                f"{preview(suites)}); use --version"
            )
        names = select_names(releases, patterns, what="release",
                             where=f"benchmark {bench.name!r}")
        return [releases[n] for n in names]

    # -- runs ---------------------------------------------------------------
    def _suite_listing(self, suite: SuiteRef) -> Listing:
        """One level of ``runs/<suite>/``: its files and its subdirectories (cached)."""
        with self._lock:
            cached = self._suite_listings.get(suite)
        if cached is None:
            cached = self.client.list_objects(suite.prefix, "/")
            with self._lock:
                self._suite_listings[suite] = cached
        return cached

    def runs(self, suite: SuiteRef) -> list[str]:
        """Run directory names of *suite* (not ``groups``/``eval_cache``), sorted."""
        with self._lock:
            cached = self._runs.get(suite)
        if cached is None:
            listing = self._suite_listing(suite)
            start = len(suite.prefix)
            names = {p[start:].rstrip("/") for p in listing.prefixes}
            cached = sorted(n for n in names if n and n not in NON_RUN_DIRS)
            with self._lock:
                self._runs[suite] = cached
        return cached

    def release_index(self, release: ReleaseRef) -> dict[str, str]:
        """Run name -> suite for *release* (``runs_to_run_suites.json``).

        Falls back to the ``suites`` list of ``summary.json`` (a later suite
        wins, like ``helm-summarize``) when the index file is absent.
        """
        name = f"{release.prefix}runs_to_run_suites.json"
        try:
            data = json.loads(self.client.read_bytes(name))
        except GCSError as ex:
            if ex.status != 404:
                raise
            data = None
        except ValueError as ex:
            raise DownloadError(f"invalid JSON in gs://{self.client.bucket}/{name}: {ex}") from None
        if data is not None:
            if not isinstance(data, dict):
                raise DownloadError(f"unexpected content in gs://{self.client.bucket}/{name}")
            return {str(k): str(v) for k, v in data.items()}
        summary_name = f"{release.prefix}summary.json"
        try:
            summary = json.loads(self.client.read_bytes(summary_name))
        except GCSError as ex:
            if ex.status != 404:
                raise
            raise DownloadError(
                f"release {release.name!r} of {release.benchmark!r} has neither "
                f"runs_to_run_suites.json nor summary.json"
            ) from None
        with self._lock:
            suites = self._suites.get(release.benchmark)
        if suites is None:
            suites = self.suites(self._bench(release.benchmark))
        mapping: dict[str, str] = {}
        for suite_name in summary.get("suites") or ():
            suite = suites.get(suite_name)
            if suite is None:
                continue
            for run in self.runs(suite):
                mapping[run] = suite_name
        return mapping

    def _bench(self, name: str) -> Benchmark:
        bench = self.benchmark(name)
        if bench is None:  # pragma: no cover - only after a concurrent deletion
            raise DownloadError(f"benchmark {name!r} vanished from {self.where}")
        return bench

    def run_objects(self, runs: Sequence[RunRef]) -> dict[RunRef, list[GCSObject]]:
        """Objects under each run directory, listed per run or per suite in bulk."""
        by_suite: dict[tuple, list[RunRef]] = defaultdict(list)
        for run in runs:
            by_suite[(run.benchmark, run.base, run.suite)].append(run)
        result: dict[RunRef, list[GCSObject]] = {run: [] for run in runs}
        single: list[RunRef] = []
        bulk: list[tuple[SuiteRef, list[RunRef]]] = []
        for (bench, base, suite_name), group in by_suite.items():
            suite = SuiteRef(bench, suite_name, base)
            total = len(self.runs(suite))
            if len(group) >= BULK_LIST_MIN_RUNS and len(group) >= BULK_LIST_FRACTION * total:
                bulk.append((suite, group))
            else:
                single.extend(group)

        def list_suite(item):
            suite, group = item
            wanted = {run.name: run for run in group}
            listing = self.client.list_objects(suite.prefix)
            start = len(suite.prefix)
            suite_level = []
            for obj in listing.objects:
                run_name, sep, _ = obj.name[start:].partition("/")
                if sep and run_name in wanted:
                    result[wanted[run_name]].append(obj)
                elif not sep or run_name in SUITE_DIRS:
                    suite_level.append(obj)
            with self._lock:  # suite_objects() need not list again
                self._suite_level[suite] = suite_level

        def list_run(run):
            result[run].extend(self.client.list_objects(run.prefix).objects)

        self._map(list_suite, bulk)
        self._map(list_run, single)
        return result

    def suite_objects(self, suite: SuiteRef) -> list[GCSObject]:
        """Suite-level objects of *suite*: its files and ``groups/``, not runs, not ``eval_cache/``.

        Reuses a suite-wide listing made by :meth:`run_objects`; otherwise one
        listing of each suite-level directory the suite has.
        """
        with self._lock:
            cached = self._suite_level.get(suite)
        if cached is not None:
            return cached
        listing = self._suite_listing(suite)
        dirs = [f"{suite.prefix}{d}/" for d in SUITE_DIRS if f"{suite.prefix}{d}/" in listing.prefixes]
        found = list(listing.objects)
        for objects in self._map(lambda prefix: self.client.list_objects(prefix).objects, dirs):
            found.extend(objects)
        with self._lock:
            self._suite_level[suite] = found
        return found

    def release_objects(self, release: ReleaseRef) -> list[GCSObject]:
        """Every object under ``releases/<release>/``."""
        return self.client.list_objects(release.prefix).objects
