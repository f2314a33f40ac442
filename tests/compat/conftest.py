"""Fixtures of the aiq-magnet compatibility suite (see aiq_magnet/PROVENANCE.md)."""

import pytest

from lite_fixture import build_lite_fixture

# aiq-magnet's example files are run by test_aiq_examples.py through xdoctest (one with its network run entry
# replaced); pytest's --xdoctest collection must not run them a second time as they are.
collect_ignore_glob = ["aiq_magnet/example_*_predictor.py"]


@pytest.fixture(scope="session")
def lite_helm_dir(tmp_path_factory):
    """The offline stand-in for aiq's GCS download (``data/crfm-helm-public``), built once per session."""
    return build_lite_fixture(tmp_path_factory.mktemp("helm_data") / "crfm-helm-public")
