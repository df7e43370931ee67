"""Shared pytest plugins and helpers for the test suite."""
