"""MAGNET's import path for the downloader: the same functions as :mod:`magnet.backends.helm.download_helm_results`.

MAGNET code calls ``download_helm_results.main(argv=False, download_dir=DIR,
benchmark=..., version=..., runs=...)``; that is magnet's ``main`` (see
:mod:`magnet.backends.helm.download_helm_results` for every option, and
``docs/howto/download.md``). ``python -m magnet.backends.helm.cli.download_helm_results``
runs the same command line.

Example:
    >>> from magnet.backends.helm.cli import download_helm_results
    >>> from magnet.backends.helm import download_helm_results as ours
    >>> download_helm_results.main is ours.main, download_helm_results.HelmBucket is ours.HelmBucket
    (True, True)
"""

import sys

from magnet.backends.helm.download_helm_results import *  # noqa: F401,F403  (the same public names)
from magnet.backends.helm.download_helm_results import __all__, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
