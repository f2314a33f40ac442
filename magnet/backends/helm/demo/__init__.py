"""Offline demo data: real HELM runs answered by simulated models.

See :mod:`.simulation` for the generative model and :mod:`.corpus` for the build.
"""

from magnet.backends.helm.demo.corpus import DemoBuildError, DemoSpec, build_demo, cache_root, demo_path
from magnet.backends.helm.demo.simulation import SimModel, SimScenario

__all__ = ["DemoBuildError", "DemoSpec", "SimModel", "SimScenario", "build_demo", "cache_root", "demo_path"]
