"""Inspect AI logs as magnet's four tables (``magnet.backends.inspect``).

The source-backend contract (:mod:`magnet.sources`): ``detect(path)`` and ``read_tables(path, errors=)``.
Reading needs the ``inspect_ai`` package (see ``docs/howto/other-frameworks.md``).
"""

from magnet.backends.inspect.reader import detect, read_tables

__all__ = ["detect", "read_tables"]
