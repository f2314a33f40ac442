r"""Download published HELM results from the public ``crfm-helm-public`` bucket.

Brings exactly the requested runs into a local directory laid out like HELM's
own ``benchmark_output`` (``DEST/runs/<suite>/<run>/<file>.json`` and
``DEST/releases/<release>/...``), so magnet's loader can read it, together
with the suite-level files of their suites (``runs/<suite>/schema.json``,
``summary.json``, ``run_specs.json``, ``runs.json``,
``runs_to_run_suites.json``, ``groups.json``, ``groups_metadata.json``,
``costs.json``, ``groups/``; never ``eval_cache/``) or, with ``--release``,
the release-level files.  Downloads
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
    python -m magnet.backends.helm.download_helm_results --download-dir DIR \
        --benchmark=lite --version=v1.0.0      # MAGNET: DIR/lite/benchmark_output/runs/v1.0.0/
    magnet download helm DEST --benchmark=lite --version=latest   # the same command

``--files`` restricts every level: it is matched against the path inside each
run directory and inside the suite (or release) directory, so
``--files stats.json,run_spec.json`` fetches no suite-level file and
``--files stats.json,run_spec.json,schema.json`` adds the suite's
``schema.json``.  ``--suite-files`` / ``--release-files`` (globs of paths
under ``runs/<suite>/`` / ``releases/<R>/``, e.g. ``schema.json,groups/*``)
override it for their level.

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
each gets ``DEST/<benchmark>/runs/...``.  ``--download-dir DIR`` (MAGNET's
spelling; also ``--layout magnet``) writes ``DIR/<benchmark>/benchmark_output/...``
for every benchmark, and defaults to ``--benchmark lite --version latest``.

Errors: a user mistake prints one line ``error: <what>: <why>`` on stderr
(``--debug`` or ``MAGNET_DEBUG=1`` adds the traceback); anything else is a bug
and prints its traceback and a line asking to report it.  Exit codes: 0
success; 1 some files failed (e.g. checksum mismatch); 2 bad arguments,
missing benchmark/version/release/runs, bad or unwritable ``DEST``, unsafe
object names, or the server unreachable; 70 internal error (a bug); 130
interrupted (rerun to resume).

Example:
    >>> match_pattern('regex:mmlu.*llama.*', 'mmlu:subject=anatomy,model=meta_llama-2-7b')
    True
    >>> pick_latest(['v1.0.0', 'v1.10.0', 'v1.9.0', 'v1.10.0-canary'])
    'v1.10.0'
    >>> str(safe_relpath('runs/v1.0.0/mmlu:subject=anatomy,model=a_b/stats.json'))
    'runs/v1.0.0/mmlu:subject=anatomy,model=a_b/stats.json'
"""

from __future__ import annotations

import sys

from magnet.backends.helm.download.api import download_helm_results
from magnet.backends.helm.download.bucket import BULK_LIST_FRACTION, BULK_LIST_MIN_RUNS, HelmBucket
from magnet.backends.helm.download.cli import add_arguments, build_parser, main, register, run
from magnet.backends.helm.download.errors import DownloadError, UnsafePathError
from magnet.backends.helm.download.execute import DownloadResult, ProgressSink, execute_plan
from magnet.backends.helm.download.layout import (
    BENCHMARK_OUTPUT,
    CORE_RUN_FILES,
    LEGACY_ROOT_BENCHMARK,
    NON_RUN_DIRS,
    STANDARD_RUN_FILES,
    SUITE_DIRS,
    SUITE_FILES,
    Benchmark,
    ReleaseRef,
    RunRef,
    SuiteRef,
)
from magnet.backends.helm.download.names import (
    format_bytes,
    check_pattern,
    is_literal,
    match_pattern,
    matches_any,
    natural_key,
    pick_latest,
    select_names,
    split_list,
)
from magnet.backends.helm.download.paths import check_component, prepare_dest, safe_join, safe_relpath
from magnet.backends.helm.download.plan import (
    Plan,
    PlannedFile,
    Selection,
    bench_prefix,
    plan_download,
    select_runs,
    suite_file_patterns,
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
    "ProgressSink",
    "HelmBucket",
    "match_pattern",
    "matches_any",
    "check_pattern",
    "is_literal",
    "natural_key",
    "pick_latest",
    "select_names",
    "split_list",
    "check_component",
    "safe_relpath",
    "safe_join",
    "prepare_dest",
    "format_bytes",
    "Selection",
    "select_runs",
    "plan_download",
    "bench_prefix",
    "suite_file_patterns",
    "execute_plan",
    "download_helm_results",
    "build_parser",
    "add_arguments",
    "main",
    "run",
    "register",
    "BENCHMARK_OUTPUT",
    "CORE_RUN_FILES",
    "STANDARD_RUN_FILES",
    "SUITE_FILES",
    "SUITE_DIRS",
    "LEGACY_ROOT_BENCHMARK",
    "NON_RUN_DIRS",
    "BULK_LIST_MIN_RUNS",
    "BULK_LIST_FRACTION",
]

if __name__ == "__main__":
    sys.exit(main())
