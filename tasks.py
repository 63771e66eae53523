#!/usr/bin/env python3
"""Set up a private virtual environment and run skfin's main job or its tests.

    python3 tasks.py backtest [ARGS...]   # skfin backtest: walk-forward on bundled S&P 500 data
    python3 tasks.py test [PYTEST ARGS...]

Needs only a Python >= 3.10 on the PATH. The first call creates ``.venv`` (or
``$SKFIN_VENV``), installs the pinned CPU build of torch first (so no multi-GB CUDA build is
pulled in as a dependency), then skfin with its test extras. Later calls reuse the
environment until ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SKFIN_VENV", ROOT / ".venv"))
TORCH_PIN = "torch==2.13.0"
EXTRAS = "test"


def _python() -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV / sub


def _run(*cmd: object) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def ensure_env() -> Path:
    """Create the venv and install skfin[test] unless an up-to-date install is there."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".skfin-{EXTRAS}-{digest}"
    if stamp.exists():
        return _python()
    if not _python().exists():
        _run(sys.executable, "-m", "venv", VENV)
    pip = (_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q")
    _run(*pip, TORCH_PIN)
    _run(*pip, "-e", f".[{EXTRAS}]")
    for old in VENV.glob(".skfin-*"):
        old.unlink()
    stamp.touch()
    return _python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"backtest", "test"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    python = ensure_env()
    task, rest = argv[0], argv[1:]
    if task == "test":
        # --durations: the slowest tests are listed on every run, to keep the suite short
        cmd = [python, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--durations=25",
               *rest]
    else:
        cmd = [python, "-m", "skfin", "backtest", *rest]
    return subprocess.run([str(c) for c in cmd], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
