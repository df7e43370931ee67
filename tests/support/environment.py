"""The environment the test session started with, for tests that start fresh processes.

A PyFlink job with Python functions runs them in this process (loopback mode), and PyFlink
then copies the Java side's worker environment into ``os.environ``: ``FLINK_CONF_DIR``,
``FLINK_HOME``, ``HADOOP_CLASSPATH``, ``PYFLINK_GATEWAY_DISABLED`` and more. A process started
from that environment is not what a user starts. ``tests/conftest.py`` imports this module
first, so the snapshot is taken before any job runs.
"""

from __future__ import annotations

import os
from types import MappingProxyType

STARTUP_ENVIRONMENT = MappingProxyType(dict(os.environ))


def fresh_process_environment(**overrides: str) -> dict[str, str]:
    """A copy of the startup environment with ``overrides`` applied."""
    return {**STARTUP_ENVIRONMENT, **overrides}
