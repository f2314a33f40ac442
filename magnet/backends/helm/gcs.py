"""A minimal, anonymous client for the Google Cloud Storage JSON API.

Only what :mod:`magnet.backends.helm.download_helm_results` needs to read a
public bucket such as ``crfm-helm-public``: listing objects (with prefixes,
delimiters and page tokens), reading small objects into memory, and
downloading objects to disk with verification, resumption and retries.
No credentials are used or looked for.

Endpoints (https://cloud.google.com/storage/docs/request-endpoints):

* listing: ``GET {endpoint}/storage/v1/b/{bucket}/o?prefix=...&delimiter=/``
  returns ``items`` (object resources: ``name``, ``size`` as a *string*,
  ``md5Hash`` and ``crc32c`` base64-encoded, ...), ``prefixes`` and
  ``nextPageToken``; empty keys are omitted by GCS (some emulators send empty
  lists instead, both are accepted).
* media download: ``GET {endpoint}/download/storage/v1/b/{bucket}/o/{name}?alt=media``
  where ``name`` is fully percent-encoded (``/`` becomes ``%2F``).  This form is
  served both by real GCS and by ``gcp-storage-emulator``.

The endpoint is the constructor argument, else the ``STORAGE_EMULATOR_HOST``
environment variable (the convention of Google's own client libraries), else
``https://storage.googleapis.com``.

Downloads stream into ``<dest>.part`` in the destination directory, are
verified against the listing's MD5 (or CRC32C when the object has no MD5, as
for composite objects) and only then atomically renamed with
:func:`os.replace`, so a final file is never partial or corrupt.  A leftover
``.part`` file is continued with an HTTP ``Range`` request when the server
honours it (``206`` with a matching ``Content-Range``), otherwise the download
restarts from zero.  Transient failures (connection errors, timeouts, HTTP 408,
429 and 5xx — the set Google's retry-strategy guide calls retryable) are
retried with truncated exponential backoff and jitter, for a bounded number of
attempts.

Example:
    >>> encode_object_name('lite/benchmark_output/runs/v1.0.0/mmlu:subject=anatomy,model=a_b/stats.json')
    'lite%2Fbenchmark_output%2Fruns%2Fv1.0.0%2Fmmlu%3Asubject%3Danatomy%2Cmodel%3Da_b%2Fstats.json'
    >>> resolve_endpoint('http://127.0.0.1:9023/')
    'http://127.0.0.1:9023'
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import http.client
import os
import random
import shutil
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Iterator, Optional

import requests
import urllib3
from requests.adapters import HTTPAdapter

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_ENDPOINT",
    "GCSError",
    "ChecksumMismatch",
    "GCSObject",
    "Listing",
    "DownloadOutcome",
    "ClientStats",
    "GCSClient",
    "resolve_endpoint",
    "encode_object_name",
    "md5_b64",
    "crc32c_b64",
    "file_digests",
]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
DEFAULT_BUCKET = "crfm-helm-public"
PART_SUFFIX = ".part"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
CHUNK_SIZE = 256 * 1024

# Network-level failures worth retrying.  ``urllib3`` errors can surface
# unwrapped because bodies are read from ``response.raw``.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class GCSError(RuntimeError):
    """A failed GCS request, rendered as one line naming bucket, object and status.

    Example:
        >>> str(GCSError('download failed', bucket='b', name='a/x.json', status=503))
        'download failed: gs://b/a/x.json (HTTP 503)'
        >>> str(GCSError('listing failed', bucket='b', name='a/', status=404, detail='bucket not found'))
        'listing failed: gs://b/a/ (HTTP 404): bucket not found'
    """

    def __init__(
        self,
        message: str,
        *,
        bucket: Optional[str] = None,
        name: Optional[str] = None,
        status: Optional[int] = None,
        detail: Optional[str] = None,
    ):
        self.message = message
        self.bucket = bucket
        self.name = name
        self.status = status
        self.detail = detail
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.bucket is not None:
            text += f": gs://{self.bucket}/{self.name or ''}"
        if self.status is not None:
            text += f" (HTTP {self.status})"
        if self.detail:
            text += f": {self.detail}"
        return " ".join(text.split())  # always one line


class ChecksumMismatch(GCSError):
    """The downloaded bytes do not match the object's MD5/CRC32C."""


@dataclasses.dataclass(frozen=True)
class GCSObject:
    """The parts of a GCS object resource that downloads need.

    Example:
        >>> obj = GCSObject.from_json({'name': 'a/b.json', 'size': '12', 'md5Hash': 'x', 'bucket': 'q'})
        >>> obj.name, obj.size, obj.md5, obj.crc32c
        ('a/b.json', 12, 'x', None)
    """

    name: str
    size: int
    md5: Optional[str] = None
    crc32c: Optional[str] = None
    content_encoding: Optional[str] = None
    generation: Optional[str] = None

    @classmethod
    def from_json(cls, data: dict) -> "GCSObject":
        size = data.get("size")
        return cls(
            name=data["name"],
            size=int(size) if size not in (None, "") else 0,
            md5=data.get("md5Hash") or None,
            crc32c=data.get("crc32c") or None,
            content_encoding=data.get("contentEncoding") or None,
            generation=str(data["generation"]) if data.get("generation") else None,
        )


@dataclasses.dataclass
class Listing:
    """Result of :meth:`GCSClient.list_objects`: objects and (with a delimiter) prefixes."""

    objects: list[GCSObject] = dataclasses.field(default_factory=list)
    prefixes: list[str] = dataclasses.field(default_factory=list)
    pages: int = 0


@dataclasses.dataclass
class DownloadOutcome:
    """What one :meth:`GCSClient.download` call did."""

    name: str
    path: Path
    bytes_transferred: int = 0  # body bytes received over the network, all attempts
    resumed_from: int = 0  # offset of the first successful Range resume (0: none)
    attempts: int = 0
    restarted: bool = False  # a .part was discarded (no Range support, bad checksum, ...)


@dataclasses.dataclass
class ClientStats:
    """Thread-safe counters of what a :class:`GCSClient` did."""

    requests: int = 0
    retries: int = 0
    bytes_downloaded: int = 0
    resumes: int = 0
    restarts: int = 0
    checksum_failures: int = 0
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def add(self, **deltas: int) -> None:
        with self._lock:
            for key, value in deltas.items():
                setattr(self, key, getattr(self, key) + value)


def resolve_endpoint(endpoint: Optional[str] = None) -> str:
    """The API endpoint: *endpoint*, else ``$STORAGE_EMULATOR_HOST``, else real GCS.

    A bare ``host:port`` gets ``http://`` (as Google's clients do for emulators).

    Example:
        >>> resolve_endpoint('localhost:9023')
        'http://localhost:9023'
        >>> resolve_endpoint('https://storage.googleapis.com')
        'https://storage.googleapis.com'
    """
    value = endpoint or os.environ.get("STORAGE_EMULATOR_HOST") or DEFAULT_ENDPOINT
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = "http://" + value
    return value


def encode_object_name(name: str) -> str:
    """Percent-encode an object name for use as one URL path segment.

    Every reserved character is encoded, including ``/`` (``%2F``) and ``%``
    itself, so names like HELM run names (``:``, ``,``, ``=``, ``%``) survive.

    Example:
        >>> encode_object_name('runs/v1/a:b=c,d=50%/x.json')
        'runs%2Fv1%2Fa%3Ab%3Dc%2Cd%3D50%25%2Fx.json'
    """
    return urllib.parse.quote(name, safe="")


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def md5_b64(data: bytes) -> str:
    """Base64 MD5 of *data*, in the form GCS reports as ``md5Hash``.

    Example:
        >>> md5_b64(b'{"a": 1}')
        'Qre08pIXiOoU2sVWbm8G0A=='
    """
    return _b64(hashlib.md5(data).digest())


try:  # the C implementation ships with google-crc32c (a dev dependency here)
    import google_crc32c as _google_crc32c
except Exception:  # pragma: no cover - exercised only without google-crc32c
    _google_crc32c = None

_CRC32C_TABLE: list[int] = []


def _crc32c_table() -> list[int]:
    if not _CRC32C_TABLE:
        for i in range(256):
            crc = i
            for _ in range(8):
                crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
            _CRC32C_TABLE.append(crc)
    return _CRC32C_TABLE


class _Crc32c:
    """Incremental CRC32C (Castagnoli); C-accelerated when google-crc32c is installed."""

    def __init__(self) -> None:
        self._impl = _google_crc32c.Checksum() if _google_crc32c is not None else None
        self._crc = 0

    def update(self, data: bytes) -> None:
        if self._impl is not None:
            self._impl.update(data)
            return
        table = _crc32c_table()
        crc = self._crc ^ 0xFFFFFFFF
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc ^ 0xFFFFFFFF

    def digest(self) -> bytes:
        if self._impl is not None:
            return self._impl.digest()
        return self._crc.to_bytes(4, "big")


def crc32c_b64(data: bytes) -> str:
    """Base64 big-endian CRC32C of *data*, in the form GCS reports as ``crc32c``.

    Example:
        >>> crc32c_b64(b'{"a": 1}')
        'b0yMlA=='
        >>> crc32c_b64(b'123456789')  # the standard CRC-32C check value 0xE3069283
        '4waSgw=='
    """
    crc = _Crc32c()
    crc.update(data)
    return _b64(crc.digest())


def file_digests(path: os.PathLike | str, *, md5: bool = True, crc32c: bool = False) -> dict:
    """Base64 digests of a file's content, read in chunks: ``{'md5': ..., 'crc32c': ...}``."""
    hashers: dict = {}
    if md5:
        hashers["md5"] = hashlib.md5()
    if crc32c:
        hashers["crc32c"] = _Crc32c()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {key: _b64(hasher.digest()) for key, hasher in hashers.items()}


def verify_file(path: os.PathLike | str, obj: GCSObject) -> Optional[str]:
    """Check a local file against *obj*; return ``None`` if it matches, else why not.

    Size is compared first (cheap); then MD5, or CRC32C when the object has no
    MD5.  An object with neither hash is accepted on size alone.
    """
    try:
        size = os.path.getsize(path)
    except OSError:
        return "missing"
    if size != obj.size:
        return f"size {size} != {obj.size}"
    if obj.md5:
        got = file_digests(path, md5=True)["md5"]
        return None if got == obj.md5 else f"md5 {got} != {obj.md5}"
    if obj.crc32c:
        got = file_digests(path, md5=False, crc32c=True)["crc32c"]
        return None if got == obj.crc32c else f"crc32c {got} != {obj.crc32c}"
    return None


class GCSClient:
    """Anonymous GCS JSON API client for one bucket, safe to share between threads.

    Args:
        bucket: bucket name (default ``crfm-helm-public``).
        endpoint: API root; default from ``STORAGE_EMULATOR_HOST`` or real GCS.
        pool_size: max pooled connections per host (size it >= worker threads).
        timeout: ``(connect, read)`` seconds per request.
        max_attempts: attempts per request/download before giving up (>= 1).
        backoff_base: first backoff delay in seconds; doubles per attempt.
        backoff_max: cap on one backoff delay (also caps ``Retry-After``).
        checksum_retries: full re-downloads allowed after a checksum mismatch
            (a stale ``.part`` from an older object generation fails once).
        session: an existing :class:`requests.Session` to use.

    Example:
        >>> client = GCSClient('crfm-helm-public', endpoint='http://127.0.0.1:9')
        >>> client.media_url('a/b c.json')
        'http://127.0.0.1:9/download/storage/v1/b/crfm-helm-public/o/a%2Fb%20c.json?alt=media'
        >>> client.close()
    """

    def __init__(
        self,
        bucket: str = DEFAULT_BUCKET,
        endpoint: Optional[str] = None,
        *,
        pool_size: int = 16,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        checksum_retries: int = 1,
        session: Optional[requests.Session] = None,
    ):
        if not bucket or "/" in bucket:
            raise ValueError(f"invalid bucket name {bucket!r}")
        self.bucket = bucket
        self.endpoint = resolve_endpoint(endpoint)
        self.timeout = timeout
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.checksum_retries = max(0, int(checksum_retries))
        self.stats = ClientStats()
        self.session = session or requests.Session()
        # Our own retry loop handles failures; urllib3's would hide them.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.setdefault("User-Agent", "magnet-helm-downloader/1")
        self._sleep = time.sleep  # replaceable in tests

    # -- plumbing -----------------------------------------------------------
    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "GCSClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def list_url(self) -> str:
        return f"{self.endpoint}/storage/v1/b/{urllib.parse.quote(self.bucket, safe='')}/o"

    def media_url(self, name: str) -> str:
        bucket = urllib.parse.quote(self.bucket, safe="")
        return f"{self.endpoint}/download/storage/v1/b/{bucket}/o/{encode_object_name(name)}?alt=media"

    def backoff_delay(self, attempt: int, retry_after: Optional[str] = None) -> float:
        """Delay before retry number *attempt* (1-based): capped exponential with jitter."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), self.backoff_max))
            except ValueError:
                pass
        return delay

    def _get(self, url: str, *, what: str, name: str, params=None, headers=None, stream=False):
        """GET with retries on transient failures; returns a non-retryable response."""
        last_error = ""
        last_status = None
        for attempt in range(1, self.max_attempts + 1):
            retry_after = None
            try:
                self.stats.add(requests=1)
                resp = self.session.get(
                    url, params=params, headers=headers, stream=stream, timeout=self.timeout
                )
            except _TRANSIENT_ERRORS as ex:
                last_error, last_status = _one_line(ex), None
            else:
                if resp.status_code not in RETRYABLE_STATUS:
                    return resp
                retry_after = resp.headers.get("Retry-After")
                last_status = resp.status_code
                last_error = ""
                resp.close()
            if attempt < self.max_attempts:
                self.stats.add(retries=1)
                self._sleep(self.backoff_delay(attempt, retry_after))
        raise GCSError(
            f"{what} failed after {self.max_attempts} attempts",
            bucket=self.bucket,
            name=name,
            status=last_status,
            detail=last_error,
        )

    def _raise_for(self, resp, *, what: str, name: str) -> None:
        if resp.status_code == 404:
            raise GCSError(f"{what}: not found", bucket=self.bucket, name=name, status=404)
        if resp.status_code >= 400:
            detail = _error_message(resp)
            raise GCSError(f"{what} failed", bucket=self.bucket, name=name,
                           status=resp.status_code, detail=detail)

    # -- listing ------------------------------------------------------------
    def iter_list_pages(
        self, prefix: str = "", delimiter: Optional[str] = None, *, page_size: int = 1000,
        max_pages: Optional[int] = None,
    ) -> Iterator[dict]:
        """Yield the raw JSON pages of an ``objects.list`` call, following page tokens."""
        params = {"prefix": prefix, "maxResults": str(page_size)}
        if delimiter:
            params["delimiter"] = delimiter
        token = None
        seen_tokens: set = set()
        pages = 0
        while True:
            if token:
                params["pageToken"] = token
            resp = self._get(self.list_url(), what="listing", name=prefix, params=params)
            if resp.status_code == 404:
                raise GCSError("listing failed: bucket not found", bucket=self.bucket,
                               name=prefix, status=404)
            self._raise_for(resp, what="listing", name=prefix)
            try:
                data = resp.json()
            except ValueError as ex:
                raise GCSError("listing returned invalid JSON", bucket=self.bucket,
                               name=prefix, status=resp.status_code, detail=_one_line(ex))
            pages += 1
            yield data
            token = data.get("nextPageToken")
            if not token or (max_pages is not None and pages >= max_pages):
                return
            if token in seen_tokens:
                raise GCSError("listing returned a repeated page token", bucket=self.bucket,
                               name=prefix)
            seen_tokens.add(token)

    def list_objects(
        self, prefix: str = "", delimiter: Optional[str] = None, *, page_size: int = 1000
    ) -> Listing:
        """List objects under *prefix*; with a *delimiter*, also the "directory" prefixes.

        All pages are fetched.  Objects are sorted by name, prefixes sorted.
        """
        listing = Listing()
        prefixes: set = set()
        for page in self.iter_list_pages(prefix, delimiter, page_size=page_size):
            listing.pages += 1
            for item in page.get("items") or ():
                listing.objects.append(GCSObject.from_json(item))
            prefixes.update(page.get("prefixes") or ())
        listing.objects.sort(key=lambda o: o.name)
        listing.prefixes = sorted(prefixes)
        return listing

    def prefix_exists(self, prefix: str) -> bool:
        """Whether any object name starts with *prefix* (usually one small request).

        A page may come back empty with a ``nextPageToken`` (GCS counts
        de-duplicated prefixes against ``maxResults``), so a few pages are read.
        """
        for page in self.iter_list_pages(prefix, "/", page_size=5, max_pages=5):
            if page.get("items") or page.get("prefixes"):
                return True
        return False

    # -- reading ------------------------------------------------------------
    def read_bytes(self, name: str) -> bytes:
        """Fetch a (small) object into memory, verified with ``x-goog-hash`` when sent."""
        resp = self._get(self.media_url(name), what="download", name=name,
                         headers={"Accept-Encoding": "identity"})
        self._raise_for(resp, what="download", name=name)
        data = resp.content
        self.stats.add(bytes_downloaded=len(data))
        expected = _parse_goog_hash(resp.headers.get("x-goog-hash", ""))
        if "md5" in expected and not resp.headers.get("Content-Encoding"):
            if md5_b64(data) != expected["md5"]:
                raise ChecksumMismatch("checksum mismatch (md5)", bucket=self.bucket, name=name)
        return data

    def download(
        self,
        name: str,
        dest: os.PathLike | str,
        *,
        expected_md5: Optional[str] = None,
        expected_crc32c: Optional[str] = None,
        size: Optional[int] = None,
        content_encoding: Optional[str] = None,
        on_bytes: Optional[Callable[[int], None]] = None,
    ) -> DownloadOutcome:
        """Download object *name* to *dest*, verified, atomically, resuming a ``.part``.

        Bytes go to ``<dest>.part`` (same directory, so the final
        :func:`os.replace` is atomic).  An existing ``.part`` is continued with
        ``Range: bytes=<len>-``; a server answering ``200`` instead of ``206``
        restarts the file from zero.  After the body is complete the whole
        ``.part`` is hashed and compared with *expected_md5* (else
        *expected_crc32c*); on mismatch it is deleted (the final file is never
        created) and the object is fetched again from scratch up to
        ``checksum_retries`` times before :class:`ChecksumMismatch` is raised.

        *on_bytes* tracks how many bytes of the object are on disk, e.g. for a
        progress bar: it is called once with the size of an existing ``.part``,
        then with each chunk's length, and with a negative count when partial
        data is thrown away.
        """
        dest = Path(dest)
        part = dest.with_name(dest.name + PART_SUFFIX)
        dest.parent.mkdir(parents=True, exist_ok=True)
        outcome = DownloadOutcome(name=name, path=dest)
        report = on_bytes or (lambda n: None)
        failures = 0  # transient failures (count against max_attempts)
        checksum_failures = 0

        if part.exists():
            report(part.stat().st_size)

        def discard() -> None:  # throw the .part away: the next attempt starts at 0
            if part.exists():
                report(-part.stat().st_size)
                part.unlink()
            outcome.restarted = True
            self.stats.add(restarts=1)

        def finalized() -> bool:
            """Verify the complete .part: move it into place (True), or discard it and count the mismatch."""
            nonlocal checksum_failures
            problem = self._check(part, expected_md5, expected_crc32c)
            if problem is None:
                self._finalize(part, dest, content_encoding)
                return True
            checksum_failures += 1
            self.stats.add(checksum_failures=1)
            discard()
            if checksum_failures > self.checksum_retries:
                raise ChecksumMismatch("checksum mismatch", bucket=self.bucket, name=name, detail=problem)
            return False

        while True:
            offset = part.stat().st_size if part.exists() else 0
            if size is not None and offset > size:
                discard()
                offset = 0
            if size is not None and offset == size and (offset > 0 or size == 0):
                if size == 0 and not part.exists():
                    part.touch()
                if finalized():
                    return outcome
                continue
            if size is None and offset:
                # Without a known size we cannot tell a complete .part: refetch.
                discard()
                offset = 0

            outcome.attempts += 1
            headers = {"Accept-Encoding": "gzip"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                self.stats.add(requests=1)
                resp = self.session.get(self.media_url(name), headers=headers, stream=True,
                                        timeout=self.timeout)
            except _TRANSIENT_ERRORS as ex:
                last_error = _one_line(ex)
                failures = self._after_failure(failures, name, last_error)
                continue
            try:
                status = resp.status_code
                if status in RETRYABLE_STATUS:
                    failures = self._after_failure(failures, name, "",
                                                   resp.headers.get("Retry-After"), status=status)
                    continue
                if status == 416 and offset:
                    discard()  # our .part is longer than the object: start over
                    continue
                self._raise_for(resp, what="download", name=name)
                if offset and status == 206 and _range_start(resp) == offset:
                    mode = "ab"
                    if not outcome.resumed_from:
                        outcome.resumed_from = offset
                        self.stats.add(resumes=1)
                elif status == 200:
                    if offset:  # Range ignored: the server sent the whole object
                        discard()
                    mode = "wb"
                else:
                    last_error = f"unexpected HTTP {status} for Range bytes={offset}-"
                    discard()
                    failures = self._after_failure(failures, name, last_error)
                    continue
                try:
                    with open(part, mode) as fh:
                        for chunk in resp.raw.stream(CHUNK_SIZE, decode_content=False):
                            if not chunk:
                                continue
                            fh.write(chunk)
                            outcome.bytes_transferred += len(chunk)
                            self.stats.add(bytes_downloaded=len(chunk))
                            report(len(chunk))
                except _TRANSIENT_ERRORS as ex:
                    # Keep what arrived: the next attempt resumes from there.
                    last_error = _one_line(ex)
                    failures = self._after_failure(failures, name, last_error)
                    continue
            finally:
                resp.close()

            got = part.stat().st_size
            if size is None:
                if finalized():
                    return outcome
            elif got < size:
                last_error = f"body ended early ({got} of {size} bytes)"
                failures = self._after_failure(failures, name, last_error)
            elif got > size:
                last_error = f"body longer than the listed size ({got} > {size} bytes)"
                discard()
                failures = self._after_failure(failures, name, last_error)
            # got == size: the loop head verifies and finalizes.

    def _after_failure(self, failures: int, name: str, error: str,
                       retry_after: Optional[str] = None, status: Optional[int] = None) -> int:
        failures += 1
        if failures >= self.max_attempts:
            raise GCSError(f"download failed after {failures} attempts", bucket=self.bucket,
                           name=name, status=status, detail=error)
        self.stats.add(retries=1)
        self._sleep(self.backoff_delay(failures, retry_after))
        return failures

    @staticmethod
    def _check(path: Path, md5: Optional[str], crc32c: Optional[str]) -> Optional[str]:
        if md5:
            got = file_digests(path, md5=True)["md5"]
            return None if got == md5 else f"md5 of received bytes {got} != expected {md5}"
        if crc32c:
            got = file_digests(path, md5=False, crc32c=True)["crc32c"]
            return None if got == crc32c else f"crc32c of received bytes {got} != expected {crc32c}"
        return None

    @staticmethod
    def _finalize(part: Path, dest: Path, content_encoding: Optional[str]) -> None:
        if content_encoding == "gzip":
            # Stored gzip-compressed (hashes cover the compressed bytes, which
            # were verified above); keep the decompressed content on disk.
            tmp = part.with_name(part.name + ".gunzip")
            with gzip.open(part, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, dest)
            part.unlink()
            return
        os.replace(part, dest)


def _range_start(resp) -> Optional[int]:
    value = resp.headers.get("Content-Range", "")
    # "bytes 100-199/200"
    try:
        unit, rest = value.split(" ", 1)
        if unit.strip().lower() != "bytes":
            return None
        return int(rest.split("-", 1)[0])
    except ValueError:
        return None


def _parse_goog_hash(header: str) -> dict:
    """Parse ``x-goog-hash: crc32c=...,md5=...``.

    Example:
        >>> _parse_goog_hash('crc32c=b0yMlA==,md5=Qre08pIXiOoU2sVWbm8G0A==')
        {'crc32c': 'b0yMlA==', 'md5': 'Qre08pIXiOoU2sVWbm8G0A=='}
    """
    out = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep and value and value != "None":
            out[key.strip().lower()] = value.strip()
    return out


def _error_message(resp) -> str:
    try:
        data = resp.json()
        message = data.get("error", {}).get("message")
        if message:
            return _one_line(message)
    except Exception:
        pass
    return resp.reason or ""


def _one_line(value) -> str:
    text = f"{type(value).__name__}: {_root_reason(value)}" if isinstance(value, BaseException) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _root_reason(ex: BaseException) -> str:
    """The innermost reason of a wrapped network error (``[Errno 111] Connection refused``).

    requests wraps urllib3's ``MaxRetryError`` whose ``reason`` wraps the
    socket error; their messages repeat the URL and hide the cause.

    Example:
        >>> import urllib3
        >>> inner = urllib3.exceptions.NewConnectionError(None, 'Failed to establish a new connection: [Errno 111] Connection refused')
        >>> _root_reason(requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, '/x', inner)))
        'Failed to establish a new connection: [Errno 111] Connection refused'
    """
    seen = set()
    while id(ex) not in seen:
        seen.add(id(ex))
        nested = getattr(ex, "reason", None)
        if not isinstance(nested, BaseException) and ex.args and isinstance(ex.args[0], BaseException):
            nested = ex.args[0]
        if not isinstance(nested, BaseException):
            break
        ex = nested
    text = str(ex)
    start = text.find("Failed to establish")
    if start < 0:
        start = text.find("[Errno")
    return text[start:] if start > 0 else text
