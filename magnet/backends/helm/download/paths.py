"""Local paths: every name taken from the bucket is checked before it touches the disk.

Example:
    >>> safe_join('/data/helm', 'runs/v1.0.0/gsm:model=a_b/stats.json').as_posix()
    '/data/helm/runs/v1.0.0/gsm:model=a_b/stats.json'
"""

from __future__ import annotations

import os
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
