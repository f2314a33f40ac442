r"""Download published HELM results from the public ``crfm-helm-public`` bucket.

Brings exactly the requested runs into a local directory laid out like HELM's
own ``benchmark_output`` (``DEST/runs/<suite>/<run>/<file>.json`` and
``DEST/releases/<release>/...``), so magnet's loader can read it.  Downloads
are parallel, verified (MD5/CRC32C from the listing, checked before an atomic
rename) and resumable: a rerun skips files whose size and hash already match
and finishes half-done ``.part`` files with HTTP Range requests.

Usage::

    python -m magnet.backends.helm.download_helm_results --list-benchmarks
    python -m magnet.backends.helm.download_helm_results --benchmark=lite --list-versions
    python -m magnet.backends.helm.download_helm_results DEST --benchmark=lite \
        --version=v1.0.0 --runs "regex:mmlu.*llama.*" --files stats.json,run_spec.json
    python -m magnet.backends.helm.download_helm_results DEST --benchmark=lite \
        --release=v1.1.0 --runs "mmlu:*" --dry-run

Patterns (``--benchmark``, ``--version``, ``--release``, ``--runs``,
``--files``) are shell globs (:func:`fnmatch.fnmatchcase`, case-sensitive) or,
with a ``regex:`` prefix, Python regular expressions that must match the
*whole* name (:func:`re.fullmatch`).  ``latest`` selects the newest suite or
release by natural version order (:func:`pick_latest`).  Run names contain
commas, so ``--runs`` is not comma-split; repeat the option instead.

Bucket layout
-------------
Gathered from HELM's "Downloading Raw Results" documentation
(``docs/downloading_raw_results.md`` in stanford-crfm/helm, which lists the
``gs://crfm-helm-public/<project>/benchmark_output`` paths and the
``gcloud storage rsync .../releases/$RELEASE_VERSION`` and
``.../runs/$SUITE_VERSION`` steps), from ``helm-summarize``
(``helm/benchmark/presentation/summarize.py`` in crfm-helm 0.5.x, which writes
the release and suite files and skips ``groups``/``eval_cache`` when reading
runs) and from the directory index of HELM's web mirror of the same tree
(``nlp.stanford.edu/helm/benchmark_output/releases/v1.x.0/``)::

    gs://crfm-helm-public/
      <project>/benchmark_output/           one per HELM project ("benchmark"):
                                            lite, classic, mmlu, capabilities,
                                            safety, air-bench, instruct, medhelm,
                                            heim, vhelm, audio, image2struct, ...
        runs/<suite>/                       a suite = one helm-run --suite (v1.0.0, ...)
          <run_name>/                       run_spec name with "/" -> "_", e.g.
                                            mmlu:subject=anatomy,method=multiple_choice_joint,model=meta_llama-2-7b
            run_spec.json scenario.json scenario_state.json stats.json
            per_instance_stats.json         written by helm-run
            instances.json display_predictions.json display_requests.json
                                            written by helm-summarize (may be absent)
            encryption_data.json            only for encrypted scenarios
          summary.json schema.json runs.json run_specs.json groups.json ...
          groups/ (and eval_cache/)         suite-level helm-summarize output, not runs
        releases/<release>/                 a release bundles runs of SEVERAL suites
          summary.json                      {"release": ..., "suites": [...], "date": ...}
          runs_to_run_suites.json           run name -> suite holding it
          run_specs.json runs.json (~100 MB) schema.json groups.json
          groups_metadata.json costs.json groups/{*.json,json/,latex/}
      benchmark_output/                     the bucket root: HELM Classic's historical
                                            home (HELM's docs still list
                                            gs://crfm-helm-public/benchmark_output);
                                            Classic is now under classic/benchmark_output
      source_datasets/ ...                  other prefixes without benchmark_output/
                                            are not benchmarks

Notes that shape the code:

* Not every project has releases (HELM's docs: Classic before v0.3.0, VHELM,
  AHELM, Image2Struct have suites only).  ``--release R`` reads
  ``releases/R/runs_to_run_suites.json`` (falling back to the ``suites`` of
  ``summary.json``, later suites winning, as ``helm-summarize`` does) and
  fetches each selected run from the suite that holds it, plus the
  release-level files.
* Classic: ``classic/benchmark_output`` is tried first, then the bucket root
  ``benchmark_output``; suites and releases are the union, the first location
  winning when both have the same name.
* Not every run has every file (some lack ``scenario_state.json``); such runs
  are listed in the summary, not failed.
* Object names are percent-encoded in full in URLs (see
  :func:`magnet.backends.helm.gcs.encode_object_name`); every path component
  taken from the bucket is checked before use (:func:`safe_relpath`) so no
  name can write outside ``DEST``.

Output layout: with one benchmark selected, ``DEST`` *is* its
``benchmark_output`` (``DEST/runs/...``, ``DEST/releases/...``); with several,
each gets ``DEST/<benchmark>/runs/...``.

Exit codes: 0 success; 1 some files failed (e.g. checksum mismatch); 2 bad
arguments, missing benchmark/version/release/runs, bad ``DEST``, unsafe object
names, or the bucket unreachable; 130 interrupted (rerun to resume).

Example:
    >>> match_pattern('regex:mmlu.*llama.*', 'mmlu:subject=anatomy,model=meta_llama-2-7b')
    True
    >>> pick_latest(['v1.0.0', 'v1.10.0', 'v1.9.0', 'v1.10.0-canary'])
    'v1.10.0'
    >>> str(safe_relpath('runs/v1.0.0/mmlu:subject=anatomy,model=a_b/stats.json'))
    'runs/v1.0.0/mmlu:subject=anatomy,model=a_b/stats.json'
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import fnmatch
import json
import os
import re
import sys
import threading
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Optional, Sequence

from magnet.backends.helm.gcs import (
    DEFAULT_BUCKET,
    GCSClient,
    GCSError,
    GCSObject,
    verify_file,
)

__all__ = [
    "DownloadError",
    "UnsafePathError",
    "Benchmark",
    "SuiteRef",
    "ReleaseRef",
    "RunRef",
    "PlannedFile",
    "Plan",
    "DownloadResult",
    "HelmBucket",
    "match_pattern",
    "matches_any",
    "natural_key",
    "pick_latest",
    "select_names",
    "split_list",
    "check_component",
    "safe_relpath",
    "safe_join",
    "format_bytes",
    "Selection",
    "select_runs",
    "plan_download",
    "execute_plan",
    "download_helm_results",
    "main",
]

BENCHMARK_OUTPUT = "benchmark_output"
LEGACY_ROOT_BENCHMARK = "classic"
NON_RUN_DIRS = frozenset({"groups", "eval_cache"})
CORE_RUN_FILES = (
    "run_spec.json",
    "scenario.json",
    "scenario_state.json",
    "stats.json",
    "per_instance_stats.json",
)
STANDARD_RUN_FILES = CORE_RUN_FILES + (
    "instances.json",
    "display_predictions.json",
    "display_requests.json",
)
# Selecting at least this many runs, and at least this fraction of a suite,
# lists the whole suite in one paginated call instead of once per run.
BULK_LIST_MIN_RUNS = 32
BULK_LIST_FRACTION = 0.25


class DownloadError(Exception):
    """A user-facing problem (bad argument, nothing matched, bad DEST): one line, exit 2."""


class UnsafePathError(DownloadError):
    """An object or run name that would escape DEST or is not a plain path."""


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------
_GLOB_CHARS = re.compile(r"[*?\[]")


def is_literal(pattern: str) -> bool:
    """Whether *pattern* names exactly one thing (no glob characters, no ``regex:``).

    Example:
        >>> is_literal('lite'), is_literal('li*'), is_literal('regex:lite'), is_literal('latest')
        (True, False, False, False)
    """
    return not (
        pattern.startswith("regex:") or pattern == "latest" or _GLOB_CHARS.search(pattern)
    )


def match_pattern(pattern: str, name: str) -> bool:
    """Match *name* against a glob, or a whole-name regex when prefixed ``regex:``.

    Example:
        >>> match_pattern('mmlu:*', 'mmlu:subject=anatomy,model=x')
        True
        >>> match_pattern('regex:v1\\.[0-9]+\\.0', 'v1.10.0'), match_pattern('regex:v1', 'v1.10.0')
        (True, False)
        >>> match_pattern('lite', 'lite'), match_pattern('lite', 'lite2')
        (True, False)
    """
    if pattern == name:
        return True  # literal names may hold glob characters such as "["
    if pattern.startswith("regex:"):
        try:
            return re.fullmatch(pattern[len("regex:"):], name) is not None
        except re.error as ex:
            raise DownloadError(f"invalid regular expression {pattern!r}: {ex}") from None
    return fnmatch.fnmatchcase(name, pattern)


def matches_any(patterns: Optional[Sequence[str]], name: str) -> bool:
    """True when *patterns* is empty/None or any of them matches *name*.

    Example:
        >>> matches_any(None, 'x'), matches_any(['a*', 'b*'], 'bee'), matches_any(['a*'], 'bee')
        (True, True, False)
    """
    return not patterns or any(match_pattern(p, name) for p in patterns)


def natural_key(text: str) -> tuple:
    """Sort key that orders digit runs numerically (``v1.10.0`` after ``v1.9.0``).

    Example:
        >>> sorted(['v1.10.0', 'v1.2.0', 'v1.9.0'], key=natural_key)
        ['v1.2.0', 'v1.9.0', 'v1.10.0']
    """
    return tuple(
        (0, int(tok), "") if tok.isdigit() else (1, 0, tok)
        for tok in re.findall(r"\d+|\D+", text)
    )


_PLAIN_VERSION = re.compile(r"v?\d+(?:\.\d+)*")


def pick_latest(names: Iterable[str]) -> Optional[str]:
    """The newest name by natural version order.

    Plain versions (``v1.2.3``) are preferred over suffixed ones
    (``v1.3.0-canary``, ``v1.8.0-nemotron``) when any exist; returns ``None``
    for no names.

    Example:
        >>> pick_latest(['v0.2.4', 'v0.3.0', 'v0.3.0-canary'])
        'v0.3.0'
        >>> pick_latest(['alpha', 'beta']), pick_latest([])
        ('beta', None)
    """
    names = list(names)
    plain = [n for n in names if _PLAIN_VERSION.fullmatch(n)]
    pool = plain or names
    return max(pool, key=natural_key) if pool else None


def select_names(
    available: Iterable[str], patterns: Sequence[str], *, what: str, where: str
) -> list[str]:
    """Names in *available* selected by *patterns* (``latest`` allowed), naturally sorted.

    A literal ``latest`` that exists as a name (HELM has a release called
    ``latest``) selects that name.  Raises :class:`DownloadError` naming what
    exists when a pattern selects nothing.

    Example:
        >>> select_names(['v1.0.0', 'v1.1.0', 'v1.10.0'], ['latest', 'v1.0*'], what='version', where='lite')
        ['v1.0.0', 'v1.10.0']
        >>> select_names(['v1.0.0'], ['v9'], what='version', where='lite')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download_helm_results.DownloadError: version 'v9' not found in lite; available: v1.0.0
    """
    available = sorted(set(available), key=natural_key)
    chosen: set = set()
    for pattern in patterns:
        if pattern == "latest" and "latest" not in available:
            hits = [pick_latest(available)] if available else []
        else:
            hits = [n for n in available if match_pattern(pattern, n)]
        if not hits:
            raise DownloadError(
                f"{what} {pattern!r} not found in {where}; available: {_preview(available)}"
            )
        chosen.update(hits)
    return [n for n in available if n in chosen]


def split_list(values: Optional[Sequence[str]]) -> list[str]:
    """Flatten repeatable comma-separated option values, dropping blanks.

    Example:
        >>> split_list(['stats.json, run_spec.json', 'scenario.json'])
        ['stats.json', 'run_spec.json', 'scenario.json']
        >>> split_list(None)
        []
    """
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def check_component(part: str, *, context: str = "") -> str:
    """Return *part* if it is safe as one path component, else raise :class:`UnsafePathError`.

    Refused: empty, ``.``, ``..``, anything containing ``/``, ``\\`` or NUL.
    HELM's ``:``, ``,``, ``=`` and ``%`` are fine.

    Example:
        >>> check_component('mmlu:subject=anatomy,model=a_b%20c')
        'mmlu:subject=anatomy,model=a_b%20c'
        >>> check_component('..')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download_helm_results.UnsafePathError: refusing unsafe name '..': would escape DEST
    """
    if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
        where = f" ({context})" if context else ""
        raise UnsafePathError(f"refusing unsafe name {part!r}{where}: would escape DEST")
    return part


def safe_relpath(rel: str, *, context: str = "") -> PurePosixPath:
    """Validate a ``/``-separated relative path taken from the bucket.

    Absolute paths, ``..``/``.``/empty components and backslashes are refused.

    Example:
        >>> safe_relpath('releases/v1.1.0/groups/json/mmlu.json').parts[-1]
        'mmlu.json'
        >>> safe_relpath('runs/v1/../../../etc/passwd')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download_helm_results.UnsafePathError: refusing unsafe name 'runs/v1/../../../etc/passwd': would escape DEST
        >>> safe_relpath('/etc/passwd')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download_helm_results.UnsafePathError: refusing unsafe name '/etc/passwd': would escape DEST
    """
    parts = rel.split("/")
    try:
        for part in parts:
            check_component(part)
    except UnsafePathError:
        where = f" ({context})" if context else ""
        raise UnsafePathError(f"refusing unsafe name {rel!r}{where}: would escape DEST") from None
    return PurePosixPath(*parts)


def safe_join(root: os.PathLike | str, rel: str) -> Path:
    """Join a bucket-relative path under *root* after :func:`safe_relpath` checks.

    Example:
        >>> safe_join('/data/helm', 'runs/v1.0.0/gsm:model=a_b/stats.json').as_posix()
        '/data/helm/runs/v1.0.0/gsm:model=a_b/stats.json'
    """
    return Path(root).joinpath(*safe_relpath(rel).parts)


def format_bytes(n: int) -> str:
    """Human-readable byte count (binary units).

    Example:
        >>> format_bytes(0), format_bytes(1536), format_bytes(5 * 1024 ** 3)
        ('0 B', '1.5 KiB', '5.0 GiB')
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _preview(names: Sequence[str], limit: int = 30) -> str:
    names = list(names)
    if not names:
        return "(none)"
    text = ", ".join(names[:limit])
    if len(names) > limit:
        text += f", ... ({len(names) - limit} more)"
    return text


# ---------------------------------------------------------------------------
# Bucket model
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A HELM project and the object prefixes (``.../benchmark_output/``) that hold it."""

    name: str
    bases: tuple[str, ...]

    @staticmethod
    def candidate_bases(name: str) -> tuple[str, ...]:
        """Where a project may live, in order of preference.

        Example:
            >>> Benchmark.candidate_bases('lite')
            ('lite/benchmark_output/',)
            >>> Benchmark.candidate_bases('classic')
            ('classic/benchmark_output/', 'benchmark_output/')
        """
        bases = (f"{name}/{BENCHMARK_OUTPUT}/",)
        if name == LEGACY_ROOT_BENCHMARK:
            bases += (f"{BENCHMARK_OUTPUT}/",)
        return bases


@dataclasses.dataclass(frozen=True)
class SuiteRef:
    benchmark: str
    name: str
    base: str

    @property
    def prefix(self) -> str:
        return f"{self.base}runs/{self.name}/"


@dataclasses.dataclass(frozen=True)
class ReleaseRef:
    benchmark: str
    name: str
    base: str

    @property
    def prefix(self) -> str:
        return f"{self.base}releases/{self.name}/"


@dataclasses.dataclass(frozen=True)
class RunRef:
    benchmark: str
    suite: str
    name: str
    base: str

    @property
    def prefix(self) -> str:
        return f"{self.base}runs/{self.suite}/{self.name}/"

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.suite}/{self.name}"


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


@dataclasses.dataclass
class DownloadResult:
    """Outcome of :func:`execute_plan`/:func:`download_helm_results`.

    ``bytes_transferred`` counts object-content bytes received over the
    network (listings and the small release index are not counted): a rerun
    after a complete download reports 0.
    """

    plan: Plan
    dry_run: bool = False
    downloaded: int = 0
    skipped: int = 0  # already present with matching size and hash
    resumed: int = 0  # finished from a .part via a Range request
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    bytes_transferred: int = 0
    bytes_to_fetch: int = 0  # dry run: bytes of files not yet present and verified
    files_to_fetch: int = 0
    retries: int = 0

    @property
    def total_bytes(self) -> int:
        return self.plan.total_bytes

    @property
    def missing(self) -> dict[str, list[str]]:
        return self.plan.missing

    @property
    def ok(self) -> bool:
        return not self.failed


class HelmBucket:
    """HELM layout knowledge on top of a :class:`GCSClient` (listing results cached)."""

    def __init__(self, client: GCSClient, *, workers: int = 8):
        self.client = client
        self.workers = max(1, int(workers))
        self._benchmarks: Optional[list[Benchmark]] = None
        self._suites: dict[str, dict[str, SuiteRef]] = {}
        self._releases: dict[str, dict[str, ReleaseRef]] = {}
        self._runs: dict[SuiteRef, list[str]] = {}
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
                    f"available: {_preview(available, 60)}"
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
                f"{_preview(suites)}); use --version"
            )
        names = select_names(releases, patterns, what="release",
                             where=f"benchmark {bench.name!r}")
        return [releases[n] for n in names]

    # -- runs ---------------------------------------------------------------
    def runs(self, suite: SuiteRef) -> list[str]:
        """Run directory names of *suite* (not ``groups``/``eval_cache``), sorted."""
        with self._lock:
            cached = self._runs.get(suite)
        if cached is None:
            listing = self.client.list_objects(suite.prefix, "/")
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
            for obj in listing.objects:
                run_name, sep, _ = obj.name[start:].partition("/")
                if sep and run_name in wanted:
                    result[wanted[run_name]].append(obj)

        def list_run(run):
            result[run].extend(self.client.list_objects(run.prefix).objects)

        self._map(list_suite, bulk)
        self._map(list_run, single)
        return result

    def release_objects(self, release: ReleaseRef) -> list[GCSObject]:
        return self.client.list_objects(release.prefix).objects


# ---------------------------------------------------------------------------
# Planning and execution
# ---------------------------------------------------------------------------
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


def prepare_dest(dest: os.PathLike | str, *, create: bool) -> Path:
    """Check that *dest* is (or can become) a writable directory; create it if asked."""
    path = Path(dest).expanduser()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise DownloadError(f"destination {str(path)!r} exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise DownloadError(f"destination {str(path)!r} is not writable")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DownloadError(f"destination {str(path)!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DownloadError(f"destination {str(path)!r} cannot be created: {str(parent)!r} is not writable")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as ex:
            raise DownloadError(f"cannot create destination {str(path)!r}: {ex.strerror or ex}") from None
    return path


class ProgressSink:
    """Receives progress events from :func:`execute_plan` (default: ignore them)."""

    def start(self, total_bytes: int, total_files: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def file_done(self) -> None: ...

    def stop(self) -> None: ...


def execute_plan(
    client: GCSClient,
    plan: Plan,
    *,
    workers: int = 8,
    dry_run: bool = False,
    progress: Optional[ProgressSink] = None,
    stop_event: Optional[threading.Event] = None,
) -> DownloadResult:
    """Fetch every planned file into ``plan.dest`` with a thread pool.

    Files already present with the listed size and MD5/CRC32C are skipped
    without any request; everything else goes through
    :meth:`GCSClient.download` (resuming ``.part`` files).  Per-file failures
    are collected in ``result.failed``, not raised.  With *dry_run* nothing is
    written: the result tells how many files/bytes would be fetched.
    """
    result = DownloadResult(plan=plan, dry_run=dry_run)
    sink = progress or ProgressSink()
    lock = threading.Lock()
    stop_event = stop_event or threading.Event()
    retries_before = client.stats.retries

    def present(pf: PlannedFile, path: Path) -> bool:
        if pf.obj.content_encoding == "gzip":
            # Stored compressed, kept decompressed: the listing hash cannot be
            # checked against the local file, so presence has to do.
            return path.is_file()
        return verify_file(path, pf.obj) is None

    if dry_run:
        for pf in plan.files:
            path = plan.dest.joinpath(*pf.rel.parts)
            if path.exists() and present(pf, path):
                result.skipped += 1
            else:
                result.files_to_fetch += 1
                result.bytes_to_fetch += pf.obj.size
        return result

    prepare_dest(plan.dest, create=True)
    sink.start(plan.total_bytes, len(plan.files))

    def work(pf: PlannedFile) -> None:
        if stop_event.is_set():
            return
        path = plan.dest.joinpath(*pf.rel.parts)
        finished = True
        try:
            if path.exists() and present(pf, path):
                sink.advance(pf.obj.size)
                with lock:
                    result.skipped += 1
                return
            outcome = client.download(
                pf.obj.name,
                path,
                expected_md5=pf.obj.md5,
                expected_crc32c=pf.obj.crc32c,
                size=pf.obj.size,
                content_encoding=pf.obj.content_encoding,
                on_bytes=_stoppable(sink.advance, stop_event),
            )
            with lock:
                result.downloaded += 1
                result.bytes_transferred += outcome.bytes_transferred
                result.resumed += 1 if outcome.resumed_from else 0
        except _Stopped:
            finished = False
        except GCSError as ex:
            with lock:
                result.failed.append((pf.obj.name, str(ex)))
        except OSError as ex:
            with lock:
                result.failed.append((pf.obj.name, f"local I/O error: {ex}"))
        finally:
            if finished:
                sink.file_done()

    bytes_before = client.stats.bytes_downloaded
    pool = concurrent.futures.ThreadPoolExecutor(max(1, int(workers)))
    try:
        futures = [pool.submit(work, pf) for pf in plan.files]
        for fut in concurrent.futures.as_completed(futures):
            fut.result()
    except BaseException:
        stop_event.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        sink.stop()
    # Count failed attempts' bytes too (a checksum failure still moved data).
    result.bytes_transferred = max(result.bytes_transferred, client.stats.bytes_downloaded - bytes_before)
    result.retries = client.stats.retries - retries_before
    result.failed.sort()
    return result


class _Stopped(Exception):
    pass


def _stoppable(fn: Callable[[int], None], stop_event: threading.Event) -> Callable[[int], None]:
    def on_bytes(n: int) -> None:
        if stop_event.is_set():
            raise _Stopped()
        fn(n)

    return on_bytes


def download_helm_results(
    dest: os.PathLike | str,
    *,
    benchmark: str | Sequence[str],
    version: str | Sequence[str] | None = None,
    release: str | Sequence[str] | None = None,
    runs: str | Sequence[str] | None = None,
    files: str | Sequence[str] | None = None,
    release_files: str | Sequence[str] | None = None,
    workers: int = 8,
    endpoint: Optional[str] = None,
    bucket: str = DEFAULT_BUCKET,
    dry_run: bool = False,
    client: Optional[GCSClient] = None,
    progress: Optional[ProgressSink] = None,
) -> DownloadResult:
    """Plan and run a download; the library entry point behind the CLI.

    String arguments may be single patterns; ``files``/``release_files`` may
    be comma lists.  Pass *client* to control retries/backoff or to count
    requests (``client.stats``).
    """
    as_list = lambda v: [v] if isinstance(v, str) else list(v or ())  # noqa: E731
    prepare_dest(dest, create=False)
    own = client is None
    client = client or GCSClient(bucket, endpoint, pool_size=max(16, workers * 2))
    try:
        helm = HelmBucket(client, workers=workers)
        plan = plan_download(
            helm,
            dest,
            benchmarks=as_list(benchmark),
            versions=as_list(version),
            releases=as_list(release),
            runs=as_list(runs),
            files=split_list(as_list(files)),
            release_files=split_list(as_list(release_files)),
        )
        return execute_plan(client, plan, workers=workers, dry_run=dry_run, progress=progress)
    finally:
        if own:
            client.close()


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m magnet.backends.helm.download_helm_results",
        description=(
            "Download published HELM results from the public GCS bucket into a "
            "benchmark_output-style directory (DEST/runs/<suite>/<run>/...). "
            "Patterns are globs, or regular expressions with a 'regex:' prefix; "
            "'latest' picks the newest version."
        ),
    )
    parser.add_argument("dest", nargs="?", metavar="DEST",
                        help="destination directory (acts as benchmark_output)")
    parser.add_argument("--benchmark", action="append", metavar="PATTERN",
                        help="HELM project(s): lite, classic, mmlu, ... (glob/regex:, repeatable)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", action="append", metavar="PATTERN",
                       help="suite(s) under runs/ (glob/regex:/latest, repeatable)")
    which.add_argument("--release", action="append", metavar="PATTERN",
                       help="release(s) under releases/: runs come from the suites its "
                            "runs_to_run_suites.json names, plus release-level files")
    parser.add_argument("--runs", action="append", metavar="PATTERN",
                        help="run names to fetch (glob/regex:, repeatable; default: all)")
    parser.add_argument("--files", action="append", metavar="LIST",
                        help="comma list of per-run file names/globs (default: all), "
                             "e.g. stats.json,run_spec.json to skip scenario_state.json")
    parser.add_argument("--release-files", action="append", metavar="LIST",
                        help="comma list of globs of release-level files (paths under "
                             "releases/<R>/; default: all)")
    parser.add_argument("--list-benchmarks", action="store_true", help="list projects and exit")
    parser.add_argument("--list-versions", action="store_true",
                        help="list suites and releases of the selected (default: all) benchmarks")
    parser.add_argument("--list-runs", action="store_true",
                        help="list runs selected by --benchmark/--version|--release/--runs")
    parser.add_argument("--dry-run", action="store_true",
                        help="show the plan and total bytes; write nothing")
    parser.add_argument("--workers", type=int, default=8, metavar="N",
                        help="parallel downloads (default: 8)")
    parser.add_argument("--endpoint", metavar="URL",
                        help="API endpoint (default: $STORAGE_EMULATOR_HOST or "
                             "https://storage.googleapis.com)")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET, help=f"bucket (default: {DEFAULT_BUCKET})")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar or summary (errors still go to stderr)")
    return parser


def _console(file):
    from rich.console import Console

    is_tty = hasattr(file, "isatty") and file.isatty()
    # Run names are long: never wrap them when the output is piped or captured.
    return Console(file=file, width=None if is_tty else 400, highlight=False, soft_wrap=not is_tty)


def _table(title: str, columns: Sequence[str]):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


class _RichProgress(ProgressSink):
    def __init__(self, console):
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]downloading"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None
        self.done = 0
        self.total_files = 0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, total_files: int) -> None:
        self.total_files = total_files
        self.progress.start()
        self.task = self.progress.add_task("files", total=total_bytes,
                                           files=f"0/{total_files} files")

    def advance(self, nbytes: int) -> None:
        self.progress.update(self.task, advance=nbytes)

    def file_done(self) -> None:
        with self._lock:
            self.done += 1
            done = self.done
        self.progress.update(self.task, files=f"{done}/{self.total_files} files")

    def stop(self) -> None:
        self.progress.stop()


def _print_missing(console, missing: dict[str, list[str]]) -> None:
    if not missing:
        return
    table = _table(f"Runs missing some files ({len(missing)}; listed, not failed)",
                   ["Run", "Missing"])
    for key, names in missing.items():
        table.add_row(key, ", ".join(names))
    console.print(table)


def _print_plan(console, plan: Plan, result: DownloadResult) -> None:
    per_run: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    other = [0, 0]
    for pf in plan.files:
        slot = per_run[pf.run.key] if pf.run else other
        slot[0] += 1
        slot[1] += pf.obj.size
    table = _table(f"Plan: {len(plan.runs)} runs, {len(plan.files)} files into {plan.dest}",
                   ["Run", "Files", "Bytes"])
    limit = 50
    for key, (count, size) in list(per_run.items())[:limit]:
        table.add_row(key, str(count), format_bytes(size))
    if len(per_run) > limit:
        table.add_row(f"... {len(per_run) - limit} more runs", "", "")
    if other[0]:
        names = ", ".join(f"{r.benchmark}/{r.name}" for r in plan.releases)
        table.add_row(f"release-level files ({names})", str(other[0]), format_bytes(other[1]))
    console.print(table)
    console.print(
        f"Dry run: {len(plan.files)} files, total {plan.total_bytes} bytes "
        f"({format_bytes(plan.total_bytes)}); {result.skipped} already present and verified; "
        f"would fetch {result.files_to_fetch} files, {result.bytes_to_fetch} bytes "
        f"({format_bytes(result.bytes_to_fetch)}). Nothing written."
    )
    _print_missing(console, plan.missing)


def _print_summary(console, result: DownloadResult) -> None:
    console.print(
        f"Downloaded {result.downloaded} files ({result.resumed} resumed), "
        f"skipped {result.skipped} already verified, {len(result.failed)} failed; "
        f"transferred {result.bytes_transferred} bytes ({format_bytes(result.bytes_transferred)}) "
        f"into {result.plan.dest}"
        + (f"; {result.retries} retries" if result.retries else "")
    )
    _print_missing(console, result.missing)


def _run_cli(args, out, err) -> int:
    if args.workers < 1:
        raise DownloadError("--workers must be at least 1")
    listing_mode = args.list_benchmarks or args.list_versions or args.list_runs
    if not listing_mode and not args.dest:
        raise DownloadError("DEST is required (or use --list-benchmarks/--list-versions/--list-runs)")
    if args.dest and not listing_mode:
        prepare_dest(args.dest, create=False)  # fail early, before any network traffic

    client = GCSClient(args.bucket, args.endpoint, pool_size=max(16, args.workers * 2))
    try:
        helm = HelmBucket(client, workers=args.workers)
        if args.list_benchmarks:
            table = _table(f"HELM benchmarks in {helm.where}", ["Benchmark", "Location"])
            for bench in helm.benchmarks():
                table.add_row(bench.name, ", ".join(f"{helm.where}/{b}" for b in bench.bases))
            out.print(table)
            return 0

        if args.list_versions:
            benches = helm.find_benchmarks(args.benchmark or [])
            table = _table(f"Suites and releases in {helm.where}",
                           ["Benchmark", "Kind", "Name", "Latest", "Location"])
            for bench in benches:
                suites, releases = helm.suites(bench), helm.releases(bench)
                for kind, items in (("suite", suites), ("release", releases)):
                    latest = pick_latest(items)
                    for name, ref in items.items():
                        table.add_row(bench.name, kind, name, "latest" if name == latest else "",
                                      f"{helm.where}/{ref.base}")
            out.print(table)
            return 0

        if not args.benchmark:
            names = [b.name for b in helm.benchmarks()]
            raise DownloadError(f"--benchmark is required; available: {_preview(names, 60)}")
        if not args.version and not args.release:
            benches = helm.find_benchmarks(args.benchmark)
            hints = "; ".join(
                f"{b.name}: suites {_preview(list(helm.suites(b)), 10)}, "
                f"releases {_preview(list(helm.releases(b)), 10)}"
                for b in benches
            )
            raise DownloadError(f"specify --version or --release ({hints})")

        if args.list_runs:
            sel = select_runs(helm, benchmarks=args.benchmark, versions=args.version,
                              releases=args.release, runs=args.runs)
            table = _table(f"Runs ({len(sel.runs)})", ["Benchmark", "Suite", "Run"])
            for run in sel.runs:
                table.add_row(run.benchmark, run.suite, run.name)
            out.print(table)
            _print_missing(out, sel.missing)
            return 0

        plan = plan_download(
            helm,
            args.dest,
            benchmarks=args.benchmark,
            versions=args.version,
            releases=args.release,
            runs=args.runs,
            files=split_list(args.files),
            release_files=split_list(args.release_files),
        )

        if args.dry_run:
            result = execute_plan(client, plan, workers=args.workers, dry_run=True)
            _print_plan(out, plan, result)
            return 0

        progress = None if args.quiet else _RichProgress(err)
        result = execute_plan(client, plan, workers=args.workers, progress=progress)
        for name, reason in result.failed:
            err.print(f"error: {reason}", markup=False, highlight=False)
        if not args.quiet:
            _print_summary(out, result)
        return 0 if result.ok else 1
    finally:
        client.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = _console(sys.stdout)
    err = _console(sys.stderr)
    try:
        return _run_cli(args, out, err)
    except (DownloadError, GCSError) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: partial downloads kept as *.part; rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
