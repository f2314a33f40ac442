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


class UserError(ValueError):
    """A mistake in what the user asked for. ``str()`` is one line: ``<what>: <why>``."""

    def __init__(self, what: str, why: str, hint: str | None = None):
        self.what = " ".join(str(what).split())
        self.why = " ".join(str(why).split())
        self.hint = hint
        super().__init__(f"{self.what}: {self.why}")


class MagnetWarning(UserWarning):
    """An option or input that makes a result meaningless or surprising."""
