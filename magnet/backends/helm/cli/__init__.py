"""MAGNET's ``magnet.backends.helm.cli`` package: ``from magnet.backends.helm.cli import download_helm_results`` works.

Example:
    >>> from magnet.backends.helm.cli import download_helm_results
    >>> download_helm_results.__name__
    'magnet.backends.helm.cli.download_helm_results'
"""
