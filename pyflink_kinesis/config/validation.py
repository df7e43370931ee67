"""Collect every problem of a config, then raise them together as one ``KinesisConfigError``."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional

from pyflink_kinesis.config.keys import KeyTable
from pyflink_kinesis.config.values import parse, to_property_string
from pyflink_kinesis.errors import ConfigProblem, KinesisConfigError, KinesisConfigWarning

MASK = "****"


_PACKAGE = Path(__file__).resolve().parents[1]


class Problems:
    """The problems found so far in one config, named for the report's header, and the
    doubtful settings that work but probably not as meant (warned about, not raised)."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self._problems: list[ConfigProblem] = []
        self._doubts: list[ConfigProblem] = []

    def add(self, key: str, message: str) -> None:
        """Record that ``key`` has a problem; the message must not contain secret values."""
        self._problems.append(ConfigProblem(key, message))

    def doubt(self, key: str, message: str) -> None:
        """Record a setting of ``key`` that works but probably not as meant; no secrets."""
        self._doubts.append(ConfigProblem(key, message))

    def raise_if_any(self) -> None:
        """Warn (``KinesisConfigWarning``, at the user's line) about each doubtful setting,
        then raise ``KinesisConfigError`` with every problem recorded, if there is one."""
        for doubt in self._doubts:
            warnings.warn(
                f"{self.subject}: {doubt}", KinesisConfigWarning, stacklevel=_user_stacklevel()
            )
        self._doubts.clear()
        if self._problems:
            raise KinesisConfigError(self._problems, self.subject)


def _user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by our caller point at the first frame
    outside this package (the user's line)."""
    level, frame = 2, sys._getframe(2)
    while frame.f_back is not None and _PACKAGE in Path(frame.f_code.co_filename).parents:
        level, frame = level + 1, frame.f_back
    return level


@dataclass
class CheckedProperties:
    """A config after the per-key checks.

    ``properties`` holds every entry converted to strings (what Java will get); ``values``
    holds the parsed value of each known key whose value passed, for cross-key checks.
    """

    properties: dict[str, str] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)


def shown(table: KeyTable, key: str, value: object) -> str:
    """``value`` for a message as the user wrote it (``0``, ``'0'``), or ``****`` when ``key``
    holds a secret."""
    return MASK if table.is_secret(key) else repr(value)


UnknownKeyHook = Callable[[CheckedProperties, str], Optional[str]]


def check_properties(
    config: Mapping[str, object],
    table: KeyTable,
    problems: Problems,
    unknown_key: UnknownKeyHook | None = None,
) -> CheckedProperties:
    """Convert each entry to a string and check it against its key in ``table``.

    Each key missing from ``table`` is passed to ``unknown_key(checked, name)`` once every known
    key is checked: it returns the problem to report, or None to let the key through. Without
    a hook, every unknown key is a problem naming the closest known key. Values of unknown
    keys are never shown.
    """
    if not isinstance(config, Mapping):
        raise TypeError(mapping_problem(config))
    checked = CheckedProperties()
    unknown = []
    for name, value in config.items():
        if not isinstance(name, str):
            problems.add(repr(name), f"keys must be str, got {type(name).__name__}")
            continue
        try:
            text = to_property_string(value)
        except TypeError as error:
            problems.add(name, str(error))
            continue
        checked.properties[name] = text
        key = table.find(name)
        if key is None:
            unknown.append(name)
            continue
        try:
            checked.values[name] = parse(key, text)
        except ValueError as error:
            problems.add(name, f"{shown(table, name, value)} {error}")
    explain = unknown_key or (lambda _, name: unknown_key_message(table, name))
    for name in unknown:
        message = explain(checked, name)
        if message is not None:
            problems.add(name, message)
    return checked


def mapping_problem(config: object) -> str:
    """The problem of a config that is not a mapping (its values are not shown: secrets)."""
    return (
        f"expected a dict of str keys to str, int, float, bool or Enum values, got "
        f"{type(config).__name__}"
    )


def unknown_key_message(table: KeyTable, name: str) -> str:
    """The problem for a key ``table`` does not know, with the closest known key as a hint."""
    suggestion = table.suggest(name)
    return f"unknown key; did you mean {suggestion!r}?" if suggestion else "unknown key"
