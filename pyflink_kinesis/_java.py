"""Small values that become Java objects only when a job needs them (no JVM before that)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from pyflink_kinesis import gateway


class JavaRecipe:
    """A named recipe for one Java object: ``describe`` for reprs, ``build(jvm)`` to create it."""

    def __init__(self, description: str, build: Callable[[Any], Any]) -> None:
        self._description = description
        self._build = build

    def _to_java(self) -> Any:
        return self._build(gateway.jvm())

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self._description}"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


def java_class(jvm: Any, name: str) -> Any:
    """The py4j handle of a Java class by its binary name (``a.b.C``)."""
    handle = jvm
    for part in name.split("."):
        handle = getattr(handle, part)
    return handle


def java_properties(jvm: Any, properties: Mapping[str, str]) -> Any:
    """A ``java.util.Properties`` holding string keys and values."""
    j_properties = jvm.java.util.Properties()
    for key, value in properties.items():
        j_properties.setProperty(key, value)
    return j_properties
