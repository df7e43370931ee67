"""The Python key tables against the connector jar itself, read through py4j.

Fails when the jar has a key the tables lack, when a table entry names a Java constant that is
missing or holds another key, and when enum values or defaults differ.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pyflink_kinesis.config import (
    AGGREGATION_OPTIONS,
    CONSUMER_KEYS,
    EXACTLY_ONCE_OPTIONS,
    SINK_CLIENT_KEYS,
    SINK_OPTIONS,
    Key,
)
from pyflink_kinesis.config.consumer import CONSUMER_CONSTANTS
from pyflink_kinesis.config.glue import GLUE_LIBRARY_KEYS
from pyflink_kinesis.config.keys import ValueType
from pyflink_kinesis.config.sink import SINK_CONSTANTS
from pyflink_kinesis.config.source import (
    LEGACY_NAMES,
    SOURCE_CONSTANTS,
    SOURCE_OPTIONS,
    SOURCE_OPTIONS_CLASS,
)
from pyflink_kinesis.config.values import parse
from pyflink_kinesis.errors import KinesisError

pytestmark = pytest.mark.jvm

M2_JAR = (
    Path.home()
    / ".m2/repository/org/apache/flink/flink-connector-kinesis/4.3.0-1.19"
    / "flink-connector-kinesis-4.3.0-1.19.jar"
)
M2_AVRO_JAR = (
    Path.home() / ".m2/repository/org/apache/flink/flink-sql-avro/1.20.0/flink-sql-avro-1.20.0.jar"
)
SHADED_AWS_CONSTANTS = (
    "org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws.config.AWSConfigConstants"
)
CONSUMER_AWS_CONSTANTS = "org.apache.flink.streaming.connectors.kinesis.config.AWSConfigConstants"
# Classes whose public String constants are all configuration keys, except these.
KEY_CLASSES = (CONSUMER_CONSTANTS, CONSUMER_AWS_CONSTANTS, SHADED_AWS_CONSTANTS, SINK_CONSTANTS)
NOT_KEYS = {"BASE_KINESIS_USER_AGENT_PREFIX_FORMAT"}  # a user agent format, not a key

ALL_KEYS = {
    key.name: key
    for table in (
        CONSUMER_KEYS, SINK_CLIENT_KEYS, SINK_OPTIONS, AGGREGATION_OPTIONS, EXACTLY_ONCE_OPTIONS,
        GLUE_LIBRARY_KEYS,
    )
    for key in table.keys
}

LoadClass = Callable[[str], Any]


def connector_jars() -> list[Path]:
    """The jars the package resolves (with the Glue Schema Registry and Firehose sets, whose
    constants the Glue and Firehose key tables mirror), or the ones in ~/.m2 while jars.py
    cannot."""
    try:
        from pyflink_kinesis.jars import resolve_extra, resolve_jars

        return [*resolve_jars(), *resolve_extra("glue"), *resolve_extra("firehose")]
    except (ImportError, KinesisError):
        return [M2_JAR, M2_AVRO_JAR]


@pytest.fixture(scope="module")
def load_class() -> Iterator[LoadClass]:
    """Load a class from the connector jars, whether or not the JVM started with them."""
    jars = connector_jars()
    if not all(jar.is_file() for jar in jars):
        pytest.skip(f"connector jars not found: {jars}")
    with pytest.MonkeyPatch.context() as patch:
        previous = os.environ.get("HADOOP_CLASSPATH")
        paths = [str(jar) for jar in jars] + ([previous] if previous else [])
        patch.setenv("HADOOP_CLASSPATH", os.pathsep.join(paths))
        from pyflink.java_gateway import get_gateway

        gateway = get_gateway()
    jvm = gateway.jvm
    urls = gateway.new_array(jvm.java.net.URL, len(jars))
    for index, jar in enumerate(jars):
        urls[index] = jvm.java.io.File(str(jar)).toURI().toURL()
    loader = jvm.java.net.URLClassLoader(urls, jvm.Thread.currentThread().getContextClassLoader())
    yield lambda name: jvm.Class.forName(name, True, loader)


def key_name(key: Key) -> str:
    return key.name


def static_value(load_class: LoadClass, cls: str, field: str) -> Any:
    """The value of a static field, public or private."""
    java_field = load_class(cls).getDeclaredField(field)
    java_field.setAccessible(True)
    return java_field.get(None)


def as_python(key: Key, java_value: Any) -> object:
    """A Java default as the Python value ``parse`` gives for the same setting."""
    if isinstance(java_value, (bool, int, float, str)):
        return java_value
    if java_value.getClass().getName() == "java.time.Duration":
        if key.type is ValueType.DURATION:
            nanos = java_value.getNano()
            return timedelta(seconds=java_value.getSeconds(), microseconds=nanos / 1000)
        return java_value.toMillis() if key.unit == "ms" else java_value.getSeconds()
    return java_value.name()  # an enum constant


def test_every_key_constant_of_the_jar_is_in_a_table(load_class: LoadClass) -> None:
    in_tables = {(key.java.cls, key.java.field) for key in ALL_KEYS.values() if key.java}
    in_jar = set()
    for cls in KEY_CLASSES:
        for field in load_class(cls).getFields():
            name = field.getName()
            is_string = field.getType().getName() == "java.lang.String"
            if is_string and not name.startswith("DEFAULT_") and name not in NOT_KEYS:
                in_jar.add((field.getDeclaringClass().getName(), name))
    assert in_jar - in_tables == set()


@pytest.mark.parametrize("key", [key for key in ALL_KEYS.values() if key.java], ids=key_name)
def test_each_table_key_is_its_java_constant(load_class: LoadClass, key: Key) -> None:
    assert key.java is not None
    value = load_class(key.java.cls).getField(key.java.field).get(None)
    if key.is_pattern:
        assert key.name.startswith(value)
    else:
        assert key.name == value


@pytest.mark.parametrize("key", [key for key in ALL_KEYS.values() if key.java_enum], ids=key_name)
def test_enum_values_are_the_java_enum_constants(load_class: LoadClass, key: Key) -> None:
    assert key.java_enum is not None
    constants = load_class(key.java_enum).getEnumConstants()
    assert sorted(constant.name() for constant in constants) == sorted(key.allowed)


@pytest.mark.parametrize(
    "key", [key for key in ALL_KEYS.values() if key.java_default], ids=key_name
)
def test_defaults_are_the_java_defaults(load_class: LoadClass, key: Key) -> None:
    assert key.java_default is not None and key.default is not None
    java_value = static_value(load_class, key.java_default.cls, key.java_default.field)
    assert parse(key, key.default) == as_python(key, java_value)


def test_every_java_default_constant_is_mirrored(load_class: LoadClass) -> None:
    mirrored = {key.java_default for key in ALL_KEYS.values() if key.java_default}
    declared = load_class(CONSUMER_CONSTANTS).getDeclaredFields()
    defaults = {field.getName() for field in declared if field.getName().startswith("DEFAULT_")}
    assert defaults - {ref.field for ref in mirrored if ref.cls == CONSUMER_CONSTANTS} == set()


# KinesisStreamsSource (FLIP-27): its options are ConfigOptions, not String constants.

@pytest.mark.parametrize("cls", [SOURCE_CONSTANTS, SOURCE_OPTIONS_CLASS])
def test_every_source_config_option_of_the_jar_is_in_the_table(
    load_class: LoadClass, cls: str
) -> None:
    options = [
        field.getName() for field in load_class(cls).getFields()
        if field.getType().getName() == "org.apache.flink.configuration.ConfigOption"
    ]
    in_table = [key.java.field for key in SOURCE_OPTIONS.keys if key.java and key.java.cls == cls]
    assert sorted(options) == sorted(in_table)


def test_the_4_3_0_names_are_those_source_options_renames(load_class: LoadClass) -> None:
    renamed = static_value(load_class, SOURCE_OPTIONS_CLASS, "RENAMED")
    pairs = {}
    for option in renamed:
        fields = {name: option.getClass().getDeclaredField(name) for name in ("fiveX", "legacy")}
        for field in fields.values():
            field.setAccessible(True)
        pairs[fields["fiveX"].get(option)] = fields["legacy"].get(option)
    assert pairs == LEGACY_NAMES


DURATIONS = [
    "10 s", "10s", "250", "0", " 7 ms ", "1 MIN", "2 m", "3 h", "1 d", "2 days", "5 sec",
    "5 seconds", "5 millis", "5 milliseconds", "9 µs", "9 micros", "9 ns", "9 nanos", "1 hours",
    "PT10S", "-1 s", "1.5 s", "10 sex", "s", "+5 s", "1 mins", "1 minutes", "99999999 d",
    "999999999999999 d", "9223372036854775808 ms",
]


@pytest.mark.parametrize("text", DURATIONS)
def test_durations_are_read_as_flink_reads_them(text: str) -> None:
    key = SOURCE_OPTIONS.find("retry-strategy.delay.min")
    assert key is not None and key.type is ValueType.DURATION
    from py4j.protocol import Py4JJavaError
    from pyflink.java_gateway import get_gateway

    try:
        java_value = get_gateway().jvm.org.apache.flink.util.TimeUtils.parseDuration(text)
    except Py4JJavaError:
        java_value = None
    try:
        python_value = parse(key, text)
    except ValueError:
        python_value = None
    assert python_value == (java_value and as_python(key, java_value))


@pytest.mark.parametrize("key", SOURCE_OPTIONS.keys, ids=key_name)
def test_each_source_option_is_its_config_option(load_class: LoadClass, key: Key) -> None:
    assert key.java is not None
    option = load_class(key.java.cls).getField(key.java.field).get(None)
    assert key.name == option.key()
    if key.java_enum:
        constants = load_class(key.java_enum).getEnumConstants()
        assert sorted(constant.name() for constant in constants) == sorted(key.allowed)
    if option.hasDefaultValue():
        assert key.default is not None
        assert parse(key, key.default) == as_python(key, option.defaultValue())
    else:
        assert key.default is None
