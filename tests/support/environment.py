"""The environment the test session started with, for tests that start fresh processes.

A PyFlink job with Python functions runs them in this process (loopback mode), and PyFlink
then copies the Java side's worker environment into ``os.environ``: ``FLINK_CONF_DIR``,
``FLINK_HOME``, ``HADOOP_CLASSPATH``, ``PYFLINK_GATEWAY_DISABLED`` and more. A process started
from that environment is not what a user starts. ``tests/conftest.py`` imports this module
first, so the snapshot is taken before any job runs.

Processes the tests start also get Ctrl-C (SIGINT) as from a terminal. A shell starts a
background command (``bash .ci/run &``, ``nohup make test &``) with SIGINT ignored, children
inherit that, and Python then installs no KeyboardInterrupt handler: a test that stops a command
with SIGINT, as a user presses Ctrl-C, would wait for nothing. Installing Python's own handler
here makes every child start with the default action again (a handler, unlike "ignore", is not
inherited across exec).
"""

from __future__ import annotations

import os
import signal
from types import MappingProxyType

STARTUP_ENVIRONMENT = MappingProxyType(dict(os.environ))
signal.signal(signal.SIGINT, signal.default_int_handler)


def fresh_process_environment(**overrides: str) -> dict[str, str]:
    """A copy of the startup environment with ``overrides`` applied."""
    return {**STARTUP_ENVIRONMENT, **overrides}
