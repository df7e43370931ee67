"""Shared pytest configuration: the local Kinesis fixtures are loaded for every test module."""

import tests.support.environment  # noqa: F401  (snapshots os.environ before any job runs)

pytest_plugins = ["tests.support.kinesis_fixtures", "tests.support.moto_fixtures"]
