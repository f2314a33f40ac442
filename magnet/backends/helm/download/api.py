"""The library entry point: plan and run a download in one call."""

from __future__ import annotations

import os
from typing import Optional, Sequence

from magnet.backends.helm.download.bucket import HelmBucket
from magnet.backends.helm.download.execute import DownloadResult, ProgressSink, execute_plan
from magnet.backends.helm.download.names import split_list
from magnet.backends.helm.download.paths import prepare_dest
from magnet.backends.helm.download.plan import plan_download
from magnet.backends.helm.gcs import DEFAULT_BUCKET, GCSClient


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or ())


def download_helm_results(
    dest: os.PathLike | str,
    *,
    benchmark: str | Sequence[str],
    version: str | Sequence[str] | None = None,
    release: str | Sequence[str] | None = None,
    runs: str | Sequence[str] | None = None,
    files: str | Sequence[str] | None = None,
    release_files: str | Sequence[str] | None = None,
    suite_files: str | Sequence[str] | None = None,
    layout: str = "benchmark_output",
    workers: int = 8,
    endpoint: Optional[str] = None,
    bucket: str = DEFAULT_BUCKET,
    dry_run: bool = False,
    client: Optional[GCSClient] = None,
    progress: Optional[ProgressSink] = None,
) -> DownloadResult:
    """Plan and run a download; the library entry point behind the CLI.

    String arguments may be single patterns; ``files``, ``suite_files`` and
    ``release_files`` may be comma lists.  With *version*, the suite-level
    files of each suite holding a selected run come too; with *release*, the
    release-level files (both filtered as :func:`~.plan.plan_download`
    says).  ``layout="magnet"`` writes MAGNET's
    ``DEST/<benchmark>/benchmark_output/...``; the default makes ``DEST`` the
    ``benchmark_output`` itself.  Pass *client* to control retries/backoff
    or to count requests (``client.stats``).  Raises
    :class:`~.errors.DownloadError` for user mistakes before any network
    traffic where it can.

    Example:
        >>> from magnet.backends.helm.download.api import download_helm_results
        >>> download_helm_results('/proc/no/such/dir', benchmark='lite', version='latest')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.DownloadError: destination '/proc/no/such/dir': cannot be created in '/proc' (No such file or directory)
    """
    prepare_dest(dest, create=False)
    own = client is None
    client = client or GCSClient(bucket, endpoint, pool_size=max(16, workers * 2))
    try:
        helm = HelmBucket(client, workers=workers)
        plan = plan_download(
            helm,
            dest,
            benchmarks=_as_list(benchmark),
            versions=_as_list(version),
            releases=_as_list(release),
            runs=_as_list(runs),
            files=split_list(_as_list(files)),
            release_files=split_list(_as_list(release_files)),
            suite_files=split_list(_as_list(suite_files)),
            layout=layout,
        )
        return execute_plan(client, plan, workers=workers, dry_run=dry_run, progress=progress)
    finally:
        if own:
            client.close()
