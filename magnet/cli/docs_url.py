"""Where the documentation lives: ``magnet --help`` and hints that point at documentation use these.

Example:
    >>> docs_page("howto/troubleshooting")
    'https://magnet.readthedocs.io/en/latest/howto/troubleshooting.html'
"""

DOCS_URL = "https://magnet.readthedocs.io/en/latest/"


def docs_page(page: str) -> str:
    """The URL of one docs page, ``page`` as its path under ``docs/`` without the ``.md``."""
    return f"{DOCS_URL}{page}.html"
