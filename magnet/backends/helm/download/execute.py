"""Execution: fetch a :class:`~magnet.backends.helm.download.plan.Plan` in parallel, verified and resumable."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from pathlib import Path
from typing import Callable, Optional

from magnet.backends.helm.download.paths import prepare_dest
from magnet.backends.helm.download.plan import Plan, PlannedFile
from magnet.backends.helm.gcs import GCSClient, GCSError, verify_file


@dataclasses.dataclass
class DownloadResult:
    """Outcome of :func:`execute_plan`/:func:`~.api.download_helm_results`.

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


class ProgressSink:
    """Receives progress events from :func:`execute_plan` (default: ignore them).

    Example:
        >>> class Count(ProgressSink):
        ...     nbytes = 0
        ...     def advance(self, nbytes):
        ...         self.nbytes += nbytes
        >>> sink = Count(); sink.start(10, 1); sink.advance(10); sink.nbytes
        10
    """

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

    Example:
        >>> import tempfile
        >>> from pathlib import Path, PurePosixPath
        >>> from magnet.backends.helm.gcs import GCSClient, GCSObject, md5_b64
        >>> from magnet.backends.helm.download.plan import Plan, PlannedFile
        >>> dest = Path(tempfile.mkdtemp())
        >>> (dest / 'schema.json').write_bytes(b'{}')
        2
        >>> have = GCSObject('x/schema.json', 2, md5=md5_b64(b'{}'))
        >>> need = GCSObject('x/costs.json', 5, md5=md5_b64(b'{"a"}'))
        >>> plan = Plan(dest, [PlannedFile(have, PurePosixPath('schema.json')),
        ...                    PlannedFile(need, PurePosixPath('costs.json'))], runs=[], missing={})
        >>> with GCSClient(endpoint='http://127.0.0.1:9') as client:  # nothing is requested
        ...     result = execute_plan(client, plan, dry_run=True)
        >>> result.skipped, result.files_to_fetch, result.bytes_to_fetch
        (1, 1, 5)
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
