"""Small values that become Java objects only when a job needs them (no JVM before that)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from py4j.java_gateway import JavaClass
from py4j.protocol import Py4JError, Py4JJavaError

from pyflink_kinesis import gateway, jars
from pyflink_kinesis.errors import ConfigProblem, KinesisConfigError


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


def own_class(jvm: Any, name: str, feature: str) -> Any:
    """A class of our own jar (``io.pyflinkkinesis...``), which ``feature`` needs.

    Raises :class:`~pyflink_kinesis.JarResolutionError` naming ``feature`` and how to get the
    jar when this installation has none (everything else keeps working without it).
    """
    jars.own_jar(feature)
    return java_class(jvm, name)


def java_properties(jvm: Any, properties: Mapping[str, str]) -> Any:
    """A ``java.util.Properties`` holding string keys and values."""
    j_properties = java_class(jvm, "java.util.Properties")()
    for key, value in properties.items():
        j_properties.setProperty(key, value)
    return j_properties


def custom_java_object(
    jvm: Any, java_class_name: str, interface: str, setting: str, subject: str, used_by: str
) -> Any:
    """A new instance of the user's Java class ``java_class_name``, which must implement
    ``interface`` and have a public no-argument constructor.

    Each way this can fail raises :class:`KinesisConfigError` about ``setting``, saying what to
    do; ``used_by`` names the call the class's jar must be added before (``build()``).
    """

    def problem(what: str) -> KinesisConfigError:
        return KinesisConfigError([ConfigProblem(setting, what)], subject=subject)

    loader = jvm.Thread.currentThread().getContextClassLoader()
    try:
        j_class = jvm.Class.forName(java_class_name, True, loader)
    except Py4JJavaError as exc:
        raise problem(
            f"the Java class could not be loaded ({exc.java_exception.toString()}); check the "
            "fully qualified name and add the jar that holds it with "
            f"env.add_jars('file:///path/to/your.jar') before {used_by}"
        ) from None
    if not jvm.Class.forName(interface, False, loader).isAssignableFrom(j_class):
        raise problem(f"the class does not implement {interface}; implement it")
    try:
        return java_class(jvm, java_class_name)()
    except Py4JError:
        raise problem(
            "the class could not be instantiated; it must be a concrete class with a public "
            "no-argument constructor"
        ) from None
