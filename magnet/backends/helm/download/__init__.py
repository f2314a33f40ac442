"""Downloading published HELM results, one module per job.

* :mod:`.errors` -- the user-facing errors (one line, exit status 2);
* :mod:`.names` -- glob / ``regex:`` / ``latest`` patterns and version order;
* :mod:`.paths` -- checking bucket names before they become local paths;
* :mod:`.layout` -- HELM's bucket layout and references to suites, releases, runs;
* :mod:`.bucket` -- :class:`~.bucket.HelmBucket`, listing that layout;
* :mod:`.plan` -- from patterns to the exact objects to fetch;
* :mod:`.execute` -- parallel, verified, resumable fetching of a plan;
* :mod:`.api` -- :func:`~.api.download_helm_results`, plan and fetch in one call;
* :mod:`.render` -- terminal tables and the progress bar;
* :mod:`.cli` -- the command line, and ``register`` for ``magnet download helm``.

The public API (and ``python -m``) stays at
:mod:`magnet.backends.helm.download_helm_results`, which re-exports these.
"""
