"""Fixtures of the aiq-magnet compatibility suite (see aiq_magnet/PROVENANCE.md)."""

import pytest

from lite_fixture import build_lite_fixture


@pytest.fixture(scope="session")
def lite_helm_dir(tmp_path_factory):
    """The offline stand-in for aiq's GCS download (``data/crfm-helm-public``), built once per session."""
    return build_lite_fixture(tmp_path_factory.mktemp("helm_data") / "crfm-helm-public")
