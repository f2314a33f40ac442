"""docs/tutorials/first-predictor.md runs: its bash blocks, in order, from the repository root (until the general
docs test replaces this one)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "tutorials" / "first-predictor.md"


def test_first_predictor_page_runs(tmp_path):
    blocks = re.findall(r"```bash\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 3
    script = "\n".join(blocks).replace("/tmp/first-predictor", str(tmp_path / "first-predictor"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Blend" in proc.stdout and "Traceback" not in proc.stderr
    assert (tmp_path / "first-predictor" / "out" / "leaderboard.json").exists()
