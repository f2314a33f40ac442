"""Example programs that MAGNET (aiq-magnet) cards run as pipeline steps (``magnet.examples.*``)."""
