"""Shared pytest configuration: the local Kinesis fixtures are loaded for every test module."""

pytest_plugins = ["tests.support.kinesis_fixtures"]
