"""Inspect AI logs as magnet's four tables (``magnet.backends.inspect``).

The source-backend contract (:mod:`magnet.sources`): ``detect(path)``, ``read_tables(path, errors=)`` and
``build_demo(preset=, cache_dir=, rebuild=)``.
Reading needs the ``inspect_ai`` package (see ``docs/howto/other-frameworks.md``).
"""

from magnet.backends.inspect.demo import build_inspect_demo as build_demo
from magnet.backends.inspect.reader import detect, read_tables

__all__ = ["build_demo", "detect", "read_tables"]
