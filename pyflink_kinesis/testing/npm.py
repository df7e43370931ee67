"""The local servers' npm packages, pinned by ``package-lock.json``: where they are, and
installing them (``npm ci`` checks every package against the lock file's integrity hash).

A source checkout has them in ``tools/local-kinesis`` (``make kinesis-server``); an installed
package carries the two package files and installs into
``$XDG_CACHE_HOME/pyflink-kinesis/local-kinesis`` (``~/.cache/...``) on request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_HERE = Path(__file__).resolve().parent
#: The checkout's folder (``make kinesis-server`` installs there).
CHECKOUT_DIR = _HERE.parents[1] / "tools" / "local-kinesis"
#: The package files as the wheel carries them.
PACKAGED_DIR = _HERE / "npm"
PACKAGE_FILES = ("package.json", "package-lock.json")


class NpmInstallError(RuntimeError):
    """npm is missing, or ``npm ci`` failed; the message says which and what to do."""


def install_dir() -> Path:
    """Where an installed package puts the servers."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyflink-kinesis" / "local-kinesis"


def candidates(relative: str) -> list[Path]:
    """``relative`` (a path under ``node_modules``) in the checkout and in the install dir."""
    return [CHECKOUT_DIR / "node_modules" / relative, install_dir() / "node_modules" / relative]


def install(destination: Path | None = None) -> Path:
    """Install the pinned servers with ``npm ci`` into ``destination`` (default
    :func:`install_dir`); returns it. Raises :class:`NpmInstallError`."""
    source = CHECKOUT_DIR if (CHECKOUT_DIR / PACKAGE_FILES[1]).is_file() else PACKAGED_DIR
    if not (source / PACKAGE_FILES[1]).is_file():
        raise NpmInstallError(f"the servers' lock file is missing from {source}: reinstall")
    npm = shutil.which("npm")
    if npm is None:
        raise NpmInstallError("npm is not on PATH: install Node.js 18 or newer (with npm)")
    target = destination or install_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_FILES:
        shutil.copyfile(source / name, target / name)
    completed = subprocess.run(
        [npm, "ci", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund",
         "--loglevel=error"],
        cwd=target, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise NpmInstallError(
            f"npm ci in {target} failed (exit {completed.returncode}):\n{completed.stderr[-2000:]}"
        )
    return target
