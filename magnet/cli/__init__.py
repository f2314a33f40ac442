"""The ``magnet`` command line: one module per subcommand, thin over the library.

``main`` (the entry point) builds the parser from every subcommand module's
``register``; ``display`` holds the terminal tables. Run as ``magnet ...`` or
``python -m magnet.cli ...``.
"""
