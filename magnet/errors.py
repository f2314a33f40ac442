"""The errors and warnings magnet raises for a user's mistakes.

:class:`UserError` is a mistake in what was asked (an argument, a path, a
predictor that cannot be loaded, a corpus with nothing to predict); its
``str()`` is one line, ``<what>: <why>``, and an optional ``hint`` says what
to do. The command line prints it as ``error: <what>: <why>`` and exits with
status 2. :class:`MagnetWarning` flags an option that makes a result
meaningless or surprising (every instance revealed, a fold with no train
runs, a target that no run has); the command line prints it as one
``warning:`` line.

Example:
    >>> e = UserError("--predictor predictors.model_mean", "expected MODULE:CLASS", hint="e.g. predictors.model_mean:ModelMean")
    >>> str(e)
    '--predictor predictors.model_mean: expected MODULE:CLASS'
    >>> isinstance(e, ValueError), e.hint
    (True, 'e.g. predictors.model_mean:ModelMean')
"""

from __future__ import annotations

import os
import sys

#: magnet's own folder: frames from files below it are not the user's.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class UserError(ValueError):
    """A mistake in what the user asked for. ``str()`` is one line: ``<what>: <why>``."""

    def __init__(self, what: str, why: str, hint: str | None = None):
        self.what = " ".join(str(what).split())
        self.why = " ".join(str(why).split())
        self.hint = hint
        super().__init__(f"{self.what}: {self.why}")


class MagnetWarning(UserWarning):
    """An option or input that makes a result meaningless or surprising."""


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by the caller point at the first line outside magnet.

    ``warnings.warn(..., stacklevel=user_stacklevel())`` names the user's own
    line however deep in magnet the warning is raised (a fixed stacklevel names
    a line of magnet's when the call path changes), and Python's "once per
    location" filtering then works per line of the user's code.

    Example:
        >>> def warns():   # a function outside magnet: its own line is the user's
        ...     return user_stacklevel()
        >>> warns()
        1
    """
    frame = sys._getframe(1)  # the function about to warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level if frame is not None else 1


def user_frames(tb, limit: int = 3) -> list[str]:
    """The last ``limit`` frames of a traceback that are outside magnet and outside installed packages,
    as ``file:line in function`` (the user's own code, where their predictor failed).

    Example:
        >>> try:
        ...     {}["x"]
        ... except KeyError as e:
        ...     frames = user_frames(e.__traceback__)
        >>> len(frames) == 1 and " in <module>" in frames[0]
        True
    """
    import sysconfig
    import traceback

    skip = tuple({_PACKAGE_DIR, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]})
    frames = [f for f in traceback.extract_tb(tb) if not os.path.abspath(f.filename).startswith(skip)]
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-limit:]]
