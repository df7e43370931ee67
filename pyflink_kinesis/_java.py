"""Small values that become Java objects only when a job needs them (no JVM before that)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from py4j.java_gateway import JavaClass

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
    """The py4j handle of a Java class by its binary name (``a.b.C``), without a round trip.

    ``jvm.a.b.C`` asks the JVM about each segment in turn (one py4j round trip per package
    segment, 7 for a connector class); a ``JavaClass`` made from the name asks nothing until it
    is used. The class must exist: a missing one fails at its first use, naming the class.
    """
    return JavaClass(name, jvm._gateway_client)


def java_properties(jvm: Any, properties: Mapping[str, str]) -> Any:
    """A ``java.util.Properties`` holding string keys and values."""
    j_properties = java_class(jvm, "java.util.Properties")()
    for key, value in properties.items():
        j_properties.setProperty(key, value)
    return j_properties
