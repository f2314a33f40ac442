"""Name patterns and version ordering: globs, ``regex:``, ``latest``, natural sort.

Example:
    >>> select_names(['v1.0.0', 'v1.9.0', 'v1.10.0'], ['latest'], what='version', where='lite')
    ['v1.10.0']
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable, Optional, Sequence

from magnet.backends.helm.download.errors import DownloadError


_GLOB_CHARS = re.compile(r"[*?\[]")


def is_literal(pattern: str) -> bool:
    """Whether *pattern* names exactly one thing (no glob characters, no ``regex:``).

    Example:
        >>> is_literal('lite'), is_literal('li*'), is_literal('regex:lite'), is_literal('latest')
        (True, False, False, False)
    """
    return not (
        pattern.startswith("regex:") or pattern == "latest" or _GLOB_CHARS.search(pattern)
    )


def match_pattern(pattern: str, name: str) -> bool:
    """Match *name* against a glob, or a whole-name regex when prefixed ``regex:``.

    Example:
        >>> match_pattern('mmlu:*', 'mmlu:subject=anatomy,model=x')
        True
        >>> match_pattern('regex:v1\\.[0-9]+\\.0', 'v1.10.0'), match_pattern('regex:v1', 'v1.10.0')
        (True, False)
        >>> match_pattern('lite', 'lite'), match_pattern('lite', 'lite2')
        (True, False)
    """
    if pattern == name:
        return True  # literal names may hold glob characters such as "["
    if pattern.startswith("regex:"):
        try:
            return re.fullmatch(pattern[len("regex:"):], name) is not None
        except re.error as ex:
            raise DownloadError(f"invalid regular expression {pattern!r}: {ex}") from None
    return fnmatch.fnmatchcase(name, pattern)


def check_pattern(pattern: str, *, option: str = "pattern") -> str:
    """Return *pattern* if it can match something, else raise :class:`DownloadError` naming *option*.

    Catches what would otherwise fail late, after network traffic: an empty
    pattern and a ``regex:`` that does not compile.

    Example:
        >>> check_pattern('regex:mmlu.*', option='--runs')
        'regex:mmlu.*'
        >>> check_pattern('regex:(mmlu', option='--runs')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.DownloadError: --runs 'regex:(mmlu': invalid regular expression: missing ), unterminated subpattern at position 0
    """
    if not pattern.strip():
        raise DownloadError(f"{option} {pattern!r}: an empty pattern matches nothing")
    if pattern.startswith("regex:"):
        try:
            re.compile(pattern[len("regex:"):])
        except re.error as ex:
            raise DownloadError(f"{option} {pattern!r}: invalid regular expression: {ex}") from None
    return pattern


def matches_any(patterns: Optional[Sequence[str]], name: str) -> bool:
    """True when *patterns* is empty/None or any of them matches *name*.

    Example:
        >>> matches_any(None, 'x'), matches_any(['a*', 'b*'], 'bee'), matches_any(['a*'], 'bee')
        (True, True, False)
    """
    return not patterns or any(match_pattern(p, name) for p in patterns)


def natural_key(text: str) -> tuple:
    """Sort key that orders digit runs numerically (``v1.10.0`` after ``v1.9.0``).

    Example:
        >>> sorted(['v1.10.0', 'v1.2.0', 'v1.9.0'], key=natural_key)
        ['v1.2.0', 'v1.9.0', 'v1.10.0']
    """
    return tuple(
        (0, int(tok), "") if tok.isdigit() else (1, 0, tok)
        for tok in re.findall(r"\d+|\D+", text)
    )


_PLAIN_VERSION = re.compile(r"v?\d+(?:\.\d+)*")


def pick_latest(names: Iterable[str]) -> Optional[str]:
    """The newest name by natural version order.

    Plain versions (``v1.2.3``) are preferred over suffixed ones
    (``v1.3.0-canary``, ``v1.8.0-nemotron``) when any exist; returns ``None``
    for no names.

    Example:
        >>> pick_latest(['v0.2.4', 'v0.3.0', 'v0.3.0-canary'])
        'v0.3.0'
        >>> pick_latest(['alpha', 'beta']), pick_latest([])
        ('beta', None)
    """
    names = list(names)
    plain = [n for n in names if _PLAIN_VERSION.fullmatch(n)]
    pool = plain or names
    return max(pool, key=natural_key) if pool else None


def select_names(
    available: Iterable[str], patterns: Sequence[str], *, what: str, where: str
) -> list[str]:
    """Names in *available* selected by *patterns* (``latest`` allowed), naturally sorted.

    A literal ``latest`` that exists as a name (HELM has a release called
    ``latest``) selects that name.  Raises :class:`DownloadError` naming what
    exists when a pattern selects nothing.

    Example:
        >>> select_names(['v1.0.0', 'v1.1.0', 'v1.10.0'], ['latest', 'v1.0*'], what='version', where='lite')
        ['v1.0.0', 'v1.10.0']
        >>> select_names(['v1.0.0'], ['v9'], what='version', where='lite')
        Traceback (most recent call last):
        ...
        magnet.backends.helm.download.errors.DownloadError: version 'v9' not found in lite; available: v1.0.0
    """
    available = sorted(set(available), key=natural_key)
    chosen: set = set()
    for pattern in patterns:
        if pattern == "latest" and "latest" not in available:
            hits = [pick_latest(available)] if available else []
        else:
            hits = [n for n in available if match_pattern(pattern, n)]
        if not hits:
            raise DownloadError(
                f"{what} {pattern!r} not found in {where}; available: {preview(available)}"
            )
        chosen.update(hits)
    return [n for n in available if n in chosen]


def split_list(values: Optional[Sequence[str]]) -> list[str]:
    """Flatten repeatable comma-separated option values, dropping blanks.

    Example:
        >>> split_list(['stats.json, run_spec.json', 'scenario.json'])
        ['stats.json', 'run_spec.json', 'scenario.json']
        >>> split_list(None)
        []
    """
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def format_bytes(n: int) -> str:
    """Human-readable byte count (binary units).

    Example:
        >>> format_bytes(0), format_bytes(1536), format_bytes(5 * 1024 ** 3)
        ('0 B', '1.5 KiB', '5.0 GiB')
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def preview(names: Sequence[str], limit: int = 30) -> str:
    """The first *limit* names, comma-separated, saying how many more there are.

    Example:
        >>> preview(['a', 'b', 'c'], limit=2), preview([])
        ('a, b, ... (1 more)', '(none)')
    """
    names = list(names)
    if not names:
        return "(none)"
    text = ", ".join(names[:limit])
    if len(names) > limit:
        text += f", ... ({len(names) - limit} more)"
    return text
