"""Shared fixtures: demo corpora built once per session by the real HELM pipeline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are reproducible in CI: hypothesis draws the same examples every run (derandomize), without a
# local example database. HYPOTHESIS_PROFILE=dev restores random exploration for a developer hunting cases.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from magnet.backends.helm.demo import DemoSpec, build_demo
from magnet.backends.helm.outputs import HelmOutputs
from magnet.protocol.corpus import Corpus

from helm_raw import Raw


@pytest.fixture(scope="session")
def demo_root() -> Path:
    """The default demo ``benchmark_output`` (8 models x 9 run entries x 40 instances)."""
    return build_demo(DemoSpec.preset("default"), progress=False)


@pytest.fixture(scope="session")
def demo_outputs(demo_root) -> HelmOutputs:
    return HelmOutputs.coerce(demo_root)


@pytest.fixture(scope="session")
def demo_corpus(demo_outputs) -> Corpus:
    """The default demo corpus, loaded once for the session: shared, so no test may modify it."""
    return Corpus.load(demo_outputs)


@pytest.fixture(scope="session")
def small_root() -> Path:
    """The small demo ``benchmark_output`` (4 models x 3 scenarios x 20 instances)."""
    return build_demo(DemoSpec.preset("small"), progress=False)


@pytest.fixture(scope="session")
def small_demo_corpus(small_root) -> Corpus:
    """The small demo corpus, loaded once for the session: shared, so no test may modify it."""
    return Corpus.load(HelmOutputs.coerce(small_root))


@pytest.fixture(scope="session")
def small_demo_raw(small_root) -> Raw:
    """The small demo suite read with plain ``json`` (tests/helm_raw.py), independent of magnet's loader."""
    return Raw(small_root)


@pytest.fixture
def small_copy(small_root, tmp_path) -> Path:
    """A private, writable copy of the small demo suite directory (for damaging it)."""
    dest = tmp_path / "benchmark_output" / "runs" / "demo"
    shutil.copytree(small_root / "runs" / "demo", dest)
    return dest
