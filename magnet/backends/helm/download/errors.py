"""The downloader's user-facing errors (one line, exit status 2)."""

from __future__ import annotations



class DownloadError(Exception):
    """A user-facing problem (bad argument, nothing matched, bad DEST): one line, exit 2."""


class UnsafePathError(DownloadError):
    """An object or run name that would escape DEST or is not a plain path."""
