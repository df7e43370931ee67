"""The ``Key`` record every key table is made of, and ``KeyTable`` to look keys up in one.

A key table is data: one :class:`Key` per configuration key of the Java connector. Validation,
the generated docs and the "did you mean" hints all read the same table.
"""

from __future__ import annotations

import difflib
import enum
import re
from dataclasses import dataclass
from typing import Iterable, Union

Number = Union[int, float]

# Unknown keys whose names contain one of these words are treated as secrets too.
_SECRET_WORDS = re.compile(r"secret|token|password|passwd", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"<([^>]+)>")
# What a placeholder in a pattern key's name stands for: "<n>" is an index as Java formats
# it with %d, anything else is free text.
_PLACEHOLDER_REGEX = {"n": "(0|[1-9][0-9]*)"}


class ValueType(enum.Enum):
    """What a key's value must look like (the Java side only ever sees strings)."""

    STRING = "string"
    INT = "int"
    LONG = "long"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    ENUM = "enum"
    URL = "url"
    ARN = "arn"
    REGION = "region"
    CLASS_NAME = "class name"
    DATE_PATTERN = "date pattern"
    TIMESTAMP = "timestamp"
    DURATION = "duration"


@dataclass(frozen=True)
class JavaRef:
    """A static field of a Java class: ``cls`` is the binary class name."""

    cls: str
    field: str


@dataclass(frozen=True)
class Key:
    """One configuration key of the Java connector.

    ``name`` is the key itself, or for a pattern key a template with ``<placeholders>``
    (``flink.stream.efo.consumerarn.<stream>``). ``default`` is the value Java uses when the
    key is absent, written as the property string. ``minimum``/``maximum`` bound numbers
    (inclusive; of durations, in milliseconds). ``required_by`` names the credential provider
    types that need this key. ``sink_only`` marks AWS keys only ``KinesisStreamsSink`` reads.
    ``nests`` turns a pattern key into a prefix under which every key of another prefix may
    appear again (nested credentials). ``java``, ``java_default`` and ``java_enum`` name what
    the entry mirrors in the connector jar, so a test can compare the two.
    """

    name: str
    type: ValueType
    doc: str
    default: str | None = None
    allowed: tuple[str, ...] = ()
    minimum: Number | None = None
    maximum: Number | None = None
    unit: str = ""
    secret: bool = False
    required_by: tuple[str, ...] = ()
    sink_only: bool = False
    nests: str | None = None
    java: JavaRef | None = None
    java_default: JavaRef | None = None
    java_enum: str | None = None

    @property
    def is_pattern(self) -> bool:
        """True when ``name`` is a template standing for many keys."""
        return "<" in self.name

    @property
    def literal_prefix(self) -> str:
        """The part of ``name`` before its first placeholder (all of it for a plain key)."""
        return self.name.split("<", 1)[0]

    def pattern(self) -> re.Pattern[str]:
        """A regex matching the keys this entry stands for (one group per placeholder)."""
        parts = _PLACEHOLDER.split(self.name)
        regex = "".join(
            re.escape(part) if index % 2 == 0 else _PLACEHOLDER_REGEX.get(part, "(.+)")
            for index, part in enumerate(parts)
        )
        return re.compile(regex)


class KeyTable:
    """An immutable set of keys with lookup by name, pattern keys and nesting included."""

    def __init__(self, keys: Iterable[Key]) -> None:
        self.keys: tuple[Key, ...] = tuple(keys)
        names = [key.name for key in self.keys]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"keys listed twice: {', '.join(twice)}")
        self._exact = {key.name: key for key in self.keys if not key.is_pattern}
        self._patterns: tuple[tuple[Key, re.Pattern[str]], ...] = tuple(
            (key, key.pattern()) for key in self.keys if key.is_pattern
        )
        self._by_lowercase = {name.lower(): name for name in names}

    def find(self, name: str) -> Key | None:
        """The entry for ``name``; a nested key resolves to the key it repeats."""
        if name in self._exact:
            return self._exact[name]
        for key, regex in self._patterns:
            match = regex.fullmatch(name)
            if match is None:
                continue
            if key.nests is None:
                return key
            return self.find(f"{key.nests}.{match.group(1)}")
        return None

    def suggest(self, name: str) -> str | None:
        """The closest known key to a misspelt ``name``, or None if nothing is close."""
        for key, regex in self._patterns:
            match = regex.fullmatch(name)
            if key.nests is not None and match is not None:
                inner = self.suggest(f"{key.nests}.{match.group(1)}")
                if inner is None or not inner.startswith(key.nests + "."):
                    return None
                return key.literal_prefix + inner[len(key.nests) + 1 :]
        close = difflib.get_close_matches(name.lower(), list(self._by_lowercase), n=1, cutoff=0.6)
        return self._by_lowercase[close[0]] if close else None

    def is_secret(self, name: str) -> bool:
        """True when values of ``name`` must never be shown (unknown keys: judged by name)."""
        key = self.find(name)
        if key is None:
            return _SECRET_WORDS.search(name) is not None
        return key.secret
