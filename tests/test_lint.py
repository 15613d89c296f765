"""Static checks that catch real bugs (undefined names, unused imports, late-binding closures)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_ruff_finds_nothing() -> None:
    local = Path(sys.executable).with_name("ruff")
    ruff = str(local) if local.exists() else shutil.which("ruff") or "ruff"
    res = subprocess.run([ruff, "check", "--select", "F,E9,B023", "gxopt", "tests", "benchmarks", "scenarios"],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
