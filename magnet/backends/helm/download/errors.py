"""The downloader's user-facing errors (one line, exit status 2)."""

from __future__ import annotations


class DownloadError(Exception):
    """A user-facing problem (bad argument, nothing matched, bad DEST): one line, exit 2.

    Example:
        >>> str(DownloadError("--workers 0: must be at least 1"))
        '--workers 0: must be at least 1'
    """


class UnsafePathError(DownloadError):
    """An object or run name that would escape DEST or is not a plain path.

    Example:
        >>> issubclass(UnsafePathError, DownloadError)
        True
    """
