"""Local paths: every name taken from the bucket is checked before it touches the disk.

Example:
    >>> safe_join('/data/helm', 'runs/v1.0.0/gsm:model=a_b/stats.json').as_posix()
    '/data/helm/runs/v1.0.0/gsm:model=a_b/stats.json'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from magnet.backends.helm.download.errors import DownloadError, UnsafePathError


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
        magnet.backends.helm.download.errors.UnsafePathError: refusing unsafe name '..': would escape DEST
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
        magnet.backends.helm.download.errors.UnsafePathError: refusing unsafe name 'runs/v1/../../../etc/passwd': would escape DEST
        >>> safe_relpath('/etc/passwd')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.UnsafePathError: refusing unsafe name '/etc/passwd': would escape DEST
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


def prepare_dest(dest: os.PathLike | str, *, create: bool) -> Path:
    """Check that *dest* is (or can become) a writable directory; create it if asked.

    Without *create*, writability is proven by making and removing an empty
    temporary directory in *dest* (or in its nearest existing parent), so a
    place that cannot be written (``/proc/x``, a read-only mount; permission
    bits do not stop root) fails here, before any network traffic, and
    nothing is left behind.  Raises :class:`DownloadError` with a one-line
    ``destination '<path>': <why>`` message.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     print(prepare_dest(tmp + '/new/dir', create=False).exists())
        False
        >>> prepare_dest('/proc/x', create=False)
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.DownloadError: destination '/proc/x': cannot be created in '/proc' (No such file or directory)
    """
    path = Path(dest).expanduser()
    where = f"destination {str(path)!r}"
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise DownloadError(f"{where}: exists and is not a directory")
        _probe_writable(path, f"{where}: is not writable")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DownloadError(f"{where}: {str(parent)!r} is not a directory")
    _probe_writable(parent, f"{where}: cannot be created in {str(parent)!r}")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as ex:
            raise DownloadError(f"{where}: cannot be created ({ex.strerror or ex})") from None
    return path


def _probe_writable(directory: Path, message: str) -> None:
    try:
        probe = tempfile.mkdtemp(prefix=".magnet-write-probe-", dir=directory)
    except OSError as ex:
        raise DownloadError(f"{message} ({ex.strerror or ex})") from None
    os.rmdir(probe)
