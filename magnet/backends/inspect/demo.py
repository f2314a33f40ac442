"""A demo folder of real Inspect AI logs, made offline by ``inspect_ai.eval`` with simulated models, cached.

The simulated models and tasks are in :mod:`magnet.backends.inspect.simulated`. The logs are written
by Inspect itself (in a child process, so that Inspect's logging and event-loop set-up stay out of the
caller's), once per preset, under ``<magnet cache>/inspect-demo/<preset>-<hash>/``.

Example:
    >>> path = build_inspect_demo(preset="small")
    >>> len(list(path.glob("*.eval"))), len(list(path.glob("*.json")))
    (20, 4)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from magnet.backends.helm.demo.corpus import _file_lock, cache_root

#: preset -> (samples per task, models); every preset runs the four tasks.
PRESETS = {
    "small": (12, ["magnetsim/strong", "magnetsim/medium", "magnetsim/weak", "magnetsim/mathwhiz",
                   "magnetsim/linguist", "magnetsim/trivia"]),
    "default": (20, ["magnetsim/strong", "magnetsim/medium", "magnetsim/weak", "magnetsim/mathwhiz",
                     "magnetsim/linguist", "magnetsim/trivia"]),
}
#: Bump when the simulation or the tasks change, so cached logs are rebuilt.
VERSION = 3
_DONE = "magnet-demo.done"


def build_inspect_demo(preset: str = "default", cache_dir: str | os.PathLike | None = None,
                       rebuild: bool = False) -> Path:
    """The folder of Inspect logs of ``preset`` (built with ``inspect_ai.eval`` on first use, then cached).

    The last model's logs are written as ``.json`` logs, the others as ``.eval``, so both formats are read.
    """
    preset = "default" if preset == "large" else preset
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    n, models = PRESETS[preset]
    key = hashlib.sha256(json.dumps([VERSION, n, models]).encode()).hexdigest()[:10]
    base = Path(cache_dir) if cache_dir else cache_root() / "inspect-demo"
    out = base / f"{preset}-{key}"
    base.mkdir(parents=True, exist_ok=True)
    with _file_lock(base / f"{out.name}.lock"):
        if (out / _DONE).is_file() and not rebuild:
            return out
        work = base / f"{out.name}.building"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        # Inspect names a task "magnet/<task>" when importlib.metadata finds magnet installed; a source checkout
        # earlier on the path (PYTHONPATH, the cwd) shows its magnet.egg-info instead and the prefix is lost: the
        # child puts such entries last, so the logs are named the same in every environment
        code = ("import os, sys; has = lambda p: os.path.isdir(os.path.join(p or '.', 'magnet.egg-info')); "
                "sys.path[:] = [p for p in sys.path if not has(p)] + [p for p in sys.path if has(p)]; "
                "from magnet.backends.inspect.demo import _run; _run(sys.argv[1], int(sys.argv[2]), sys.argv[3:])")
        env = {**os.environ, "INSPECT_LOG_LEVEL": "warning", "INSPECT_DISPLAY": "none"}
        done = subprocess.run([sys.executable, "-c", code, str(work), str(n), *models], capture_output=True,
                              text=True, env=env, cwd=work)
        if done.returncode != 0:
            raise RuntimeError(f"building the Inspect demo failed: {done.stderr.strip().splitlines()[-1:]}")
        (work / _DONE).write_text(json.dumps({"preset": preset, "samples": n, "models": models}))
        shutil.rmtree(out, ignore_errors=True)
        work.rename(out)
    return out


def _run(log_dir: str, n: int, models: list[str]) -> None:
    """Run every simulated task for every model with ``inspect_ai.eval`` (the child process's job)."""
    from inspect_ai import eval as inspect_eval

    from magnet.backends.inspect.simulated import TASKS

    for formats, chosen in (("eval", models[:-1]), ("json", models[-1:])):
        logs = inspect_eval([make(n=n) for make in TASKS.values()], model=chosen, log_dir=log_dir,
                            log_format=formats, display="none", max_tasks=4)
        bad = [log.location for log in logs if log.status != "success"]
        if bad:
            raise RuntimeError(f"Inspect runs failed: {bad}")
