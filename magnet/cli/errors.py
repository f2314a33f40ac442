"""One error contract for every command line entry point of magnet.

* A user's mistake (:class:`magnet.errors.UserError`, a damaged HELM file
  :class:`~magnet.backends.helm.errors.HelmOutputError`, a path that cannot be
  read or written) prints ``error: <what>: <why>`` on one line of stderr (plus a
  ``hint:`` line where one helps) and exits with status 2.
* An argument argparse rejects prints the same one ``error:`` line (no usage
  block; ``--help`` shows it) and exits with status 2.
* ``--debug`` or ``MAGNET_DEBUG=1`` also prints the traceback.
* Anything else is a bug in magnet: the traceback, then a line saying so; status 1.
* Warnings (:class:`magnet.errors.MagnetWarning`, skipped damaged runs) print as
  one ``warning:`` line each.

Example:
    >>> import io, contextlib
    >>> def command(args):
    ...     raise UserError("--out /proc/x", "cannot create the directory: Permission denied")
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     status = run_command(command, None)
    >>> status, err.getvalue()
    (2, 'error: --out /proc/x: cannot create the directory: Permission denied\\n')
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

from magnet import __version__
from magnet.backends.helm.errors import HelmOutputError
from magnet.errors import UserError

BUG_LINE = ("this is a bug in magnet {version}, not a mistake of yours: please report it with the traceback above "
            "and the command you ran")


def one_line(text) -> str:
    """Collapse whitespace (newlines included) so a message stays on one line; undecodable bytes of file names
    (surrogate escapes) are shown as ``\\xNN`` instead of failing to print."""
    text = " ".join(str(text).split())
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def debug_enabled(args=None) -> bool:
    """``--debug`` was given, or ``MAGNET_DEBUG`` is set to something other than 0/empty."""
    return bool(getattr(args, "debug", False)) or os.environ.get("MAGNET_DEBUG", "") not in ("", "0")


def _print_error(message: str, hint: str | None = None) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {one_line(hint)}", file=sys.stderr)


_SHOWN: set[str] = set()  # the warnings this command printed: each is printed once per command


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = one_line(message)
    if text not in _SHOWN:
        _SHOWN.add(text)
        print(f"warning: {text}", file=sys.stderr)


def user_error_of(exc: BaseException) -> tuple[str, str | None] | None:
    """The one-line message (and hint) for an exception that is a user's mistake, else None."""
    if isinstance(exc, UserError):
        return str(exc), exc.hint
    if isinstance(exc, HelmOutputError):
        return str(exc), None
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
                        FileExistsError)) or (isinstance(exc, OSError) and exc.filename):
        where = exc.filename if exc.filename is not None else "file"
        return f"{os.fsdecode(where) if isinstance(where, bytes) else where}: {exc.strerror or exc}", None
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not valid UTF-8: {exc}", None
    return None


def run_command(func, args, debug: bool | None = None) -> int:
    """Run ``func(args)`` under the error contract; return the exit status."""
    debug = debug_enabled(args) if debug is None else debug
    _SHOWN.clear()
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return int(func(args) or 0)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001 - the contract sorts every exception into mistake or bug
            found = user_error_of(exc)
            if found is not None:
                if debug:
                    traceback.print_exc()
                _print_error(*found)
                return 2
            traceback.print_exc()
            print(BUG_LINE.format(version=__version__), file=sys.stderr)
            return 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors as one ``error:`` line and exit status 2 (``--help`` still shows the usage)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        _print_error(f"{self.prog}: {message}", f"'{self.prog} --help' lists the options")
        raise SystemExit(2)


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--debug`` flag every entry point has."""
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error too (or set MAGNET_DEBUG=1)")


def _nearest_existing(p: Path) -> Path:
    p = p.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def writable_dir(path, what: str) -> Path:
    """Check that directory ``path`` exists and is writable, or could be created; raise a :class:`UserError` if not.

    Creates nothing (a failed command leaves nothing behind), except a probe file it deletes at once.

    Example:
        >>> writable_dir("/proc/magnet-x", "--out")
        Traceback (most recent call last):
        ...
        magnet.errors.UserError: --out /proc/magnet-x: cannot write there: No such file or directory
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{what} {p}", "exists and is not a directory")
    base = _nearest_existing(p)
    if not base.is_dir():
        raise UserError(f"{what} {p}", f"{base} is not a directory")
    _probe(base, f"{what} {p}", "cannot write there")
    return p


def writable_file(path, what: str) -> Path:
    """Check that file ``path`` can be written (it is not a directory; its directory is or can be made writable).

    Example:
        >>> writable_file("/proc/x.parquet", "-o")
        Traceback (most recent call last):
        ...
        magnet.errors.UserError: -o /proc/x.parquet: cannot write there: No such file or directory
    """
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {p}", "is a directory; give a file name")
    base = _nearest_existing(p.parent)
    if not base.is_dir():
        raise UserError(f"{what} {p}", f"{base} is not a directory")
    _probe(base, f"{what} {p}", "cannot write there")
    return p


def _probe(directory: Path, what: str, why: str) -> None:
    """Create and delete a file in ``directory``: the only check that holds for root and odd file systems too."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".magnet-probe-"):
            pass
    except OSError as e:
        raise UserError(what, f"{why}: {e.strerror or e}") from None
