"""Fixtures for end-to-end tests: real PyFlink jobs (mini-cluster) against a local Kinesis."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest
from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment

_E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is an e2e test (``-m "not e2e"`` skips them)."""
    for item in items:
        if _E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def env() -> Iterator[StreamExecutionEnvironment]:
    """A fresh local environment whose Python workers use this interpreter, parallelism 2."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    environment = StreamExecutionEnvironment.get_execution_environment(config)
    environment.set_parallelism(2)
    yield environment

