"""Files that appear whole or not at all: write beside, then rename.

A reader (another process, a crashed run's successor) never sees a partial
file under the final name: the content is written to a temporary file in the
same folder, which :func:`os.replace` then renames atomically. The temporary
name is unique per process and call, so threads and processes writing the same
target do not collide; a failed write leaves no temporary file behind.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(d / "a.json", lambda tmp: tmp.write_text("{}"))
    >>> (d / "a.json").read_text(), sorted(p.name for p in d.iterdir())
    ('{}', ['a.json'])
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable


def write_atomic(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``.

    Raises whatever ``write`` or the rename raises, after removing the
    temporary file.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> def broken(tmp):
        ...     tmp.write_text("half")
        ...     raise OSError("disk full")
        >>> write_atomic(d / "b.txt", broken)
        Traceback (most recent call last):
        OSError: disk full
        >>> list(d.iterdir())
        []
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """:func:`write_atomic` of some bytes.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.bin"
        >>> write_bytes_atomic(p, b"xyz")
        >>> p.read_bytes()
        b'xyz'
    """
    write_atomic(path, lambda tmp: tmp.write_bytes(data))
