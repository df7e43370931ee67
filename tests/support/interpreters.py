"""Python interpreters other than the one running the tests."""

from __future__ import annotations

import sys
from pathlib import Path


def python_without_packages(folder: Path) -> str:
    """An interpreter that imports nothing but the standard library (so not PyFlink): a script
    in ``folder`` running this Python's base interpreter isolated and without site-packages."""
    script = folder / "python-without-packages"
    base = getattr(sys, "_base_executable", sys.executable)
    script.write_text(f'#!/bin/sh\nexec "{base}" -I -S "$@"\n')
    script.chmod(0o755)
    return str(script)
