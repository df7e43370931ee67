"""`make demo` as a new user sees it: the check passes and the terminal holds no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.environment import fresh_process_environment

DEMO = Path(__file__).parents[2] / "demo" / "kinesis_to_kinesis.py"


def test_the_demo_checks_out_and_ends_cleanly() -> None:
    """(The noise of a cancelled job's workers came in about one run of three before
    pyflink_kinesis._quiet; tests/test_quiet.py checks the filter itself.)"""
    demo = subprocess.run([sys.executable, str(DEMO), "--records", "4000"],
                          capture_output=True, text=True, timeout=600,
                          env=fresh_process_environment())
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "check: OK" in demo.stdout
    assert demo.stderr == "", demo.stderr
