"""The SQL table options against the jar's factories, ConfigOptions and option utilities.

Fails when a factory or format has an option the tables lack (or the reverse), when a name,
default or allowed value differs, and when :func:`java_key` translates an option otherwise than
Flink's option utilities do.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from pyflink_kinesis.config import FORMAT_KEYS, TABLE_KEYS, Key, ValueType
from pyflink_kinesis.config.aws import REGION
from pyflink_kinesis.config.table import (
    DEPRECATED_PRODUCER_OPTIONS,
    FORMAT,
    IDENTIFIER,
    METADATA_ENUM,
    OWN_FACTORY,
    OWN_IDENTIFIER,
    OWN_TABLE_OPTIONS,
    PARTITIONERS,
    SHARD_ASSIGNERS,
    SOURCE_METADATA,
    STREAM,
    STREAM_ARN_KEY,
    TABLE_COMMON_KEYS,
    TABLE_SINK_KEYS,
    TABLE_SOURCE_KEYS,
    UNVALIDATED_PREFIXES,
    java_key,
)
from pyflink_kinesis.config.values import parse
from tests import test_config_matches_jar
from tests.test_config_matches_jar import LoadClass, as_python, key_name, static_value

pytestmark = pytest.mark.jvm
load_class = test_config_matches_jar.load_class  # the fixture: classes of the connector jars

SOURCE_FACTORY = "org.apache.flink.streaming.connectors.kinesis.table.KinesisDynamicTableFactory"
SINK_FACTORY = "org.apache.flink.connector.kinesis.table.KinesisDynamicTableSinkFactory"
FORMAT_FACTORIES = {
    "json": "org.apache.flink.formats.json.JsonFormatFactory",
    "csv": "org.apache.flink.formats.csv.CsvFormatFactory",
    "raw": "org.apache.flink.formats.raw.RawFormatFactory",
    "avro": "org.apache.flink.formats.avro.AvroFormatFactory",
}
CONSUMER_OPTIONS_UTIL = (
    "org.apache.flink.streaming.connectors.kinesis.table.KinesisConsumerOptionsUtil"
)
SINK_CLIENT_OPTIONS_UTIL = "org.apache.flink.connector.aws.table.util.AsyncClientOptionsUtils"
SINK_OPTIONS_UTILS = (
    "org.apache.flink.connector.kinesis.table.util.KinesisStreamsConnectorOptionsUtils"
)
PRODUCER_OPTIONS_MAPPER = f"{SINK_OPTIONS_UTILS}$KinesisProducerOptionsMapper"
CONFIG_OPTION = "org.apache.flink.configuration.ConfigOption"
# A value for each placeholder of the pattern keys, to turn them into real keys.
PLACEHOLDERS = {
    "<stream>": "orders",
    "<n>": "0",
    "<credential key>": "basic.accesskeyid",
    "<field>": "socketTimeout",
}

ALL_KEYS = {key.name: key for table in (TABLE_KEYS, *FORMAT_KEYS.values()) for key in table.keys}


def new(load_class: LoadClass, cls: str, *args: Any) -> Any:
    """A new instance of ``cls``, made by its public constructor taking ``len(args)`` arguments."""
    from pyflink.java_gateway import get_gateway

    gateway = get_gateway()
    constructor = next(
        constructor
        for constructor in load_class(cls).getConstructors()
        if len(constructor.getParameterTypes()) == len(args)
    )
    arguments = gateway.new_array(gateway.jvm.Object, len(args))
    for index, argument in enumerate(args):
        arguments[index] = argument
    return constructor.newInstance(arguments)


def java_map(entries: dict[str, str]) -> Any:
    from pyflink.java_gateway import get_gateway

    java = get_gateway().jvm.java.util.HashMap()
    for name, value in entries.items():
        java.put(name, value)
    return java


def options(factory: Any) -> dict[str, Any]:
    """Every ConfigOption of a factory by its key, required and optional."""
    return {
        option.key(): option for option in [*factory.requiredOptions(), *factory.optionalOptions()]
    }


def format_prefix(key: Key) -> str:
    """``<format>.`` for a format option (its ConfigOption's key lacks it), else ""."""
    return next((f"{name}." for name, keys in FORMAT_KEYS.items() if key in keys.keys), "")


def java_field(load_class: LoadClass, key: Key) -> Any:
    assert key.java is not None
    return static_value(load_class, key.java.cls, key.java.field)


def is_config_option(value: Any) -> bool:
    return not isinstance(value, str) and value.getClass().getName() == CONFIG_OPTION


def real_name(key: Key) -> str:
    """A key this table entry stands for: the name with each placeholder filled in."""
    return re.sub(r"<[^>]+>", lambda match: PLACEHOLDERS[match.group()], key.name)


def test_the_factories_are_kinesis(load_class: LoadClass) -> None:
    for factory in (SOURCE_FACTORY, SINK_FACTORY):
        assert new(load_class, factory).factoryIdentifier() == IDENTIFIER


def test_our_factory_takes_the_connectors_options_and_ours(load_class: LoadClass) -> None:
    ours = new(load_class, OWN_FACTORY)
    connector = {
        *options(new(load_class, SOURCE_FACTORY)),
        *options(new(load_class, SINK_FACTORY)),
    }
    assert ours.factoryIdentifier() == OWN_IDENTIFIER
    assert set(options(ours)) == connector | set(OWN_TABLE_OPTIONS)


def test_every_factory_option_is_a_table_option_and_back(load_class: LoadClass) -> None:
    offered = {
        *options(new(load_class, SOURCE_FACTORY)),
        *options(new(load_class, SINK_FACTORY)),
        *OWN_TABLE_OPTIONS,
    }
    declared = {
        key.name
        for key in (*TABLE_KEYS.keys, STREAM_ARN_KEY)
        if key.java is not None and is_config_option(java_field(load_class, key))
    }
    # aws.region mirrors AWSConfigConstants; the sink factory declares a ConfigOption of it too.
    assert offered == (declared - {"connector"}) | {REGION}


def test_the_required_options_are_the_ones_python_requires(load_class: LoadClass) -> None:
    required = {
        option.key()
        for factory in (SOURCE_FACTORY, SINK_FACTORY)
        for option in new(load_class, factory).requiredOptions()
    }
    assert required == {STREAM, FORMAT, REGION}


def test_each_side_offers_only_common_and_its_own_options(load_class: LoadClass) -> None:
    source = set(options(new(load_class, SOURCE_FACTORY)))
    sink = set(options(new(load_class, SINK_FACTORY)))
    common = {key.name for key in TABLE_COMMON_KEYS.keys}
    assert sink <= common | {key.name for key in TABLE_SINK_KEYS.keys}
    # The source factory accepts (and ignores) the partitioner options too.
    assert source - {"sink.partitioner", "sink.partitioner-field-delimiter"} <= common | {
        key.name for key in TABLE_SOURCE_KEYS.keys
    }


def test_deprecated_producer_options_are_the_mapped_ones(load_class: LoadClass) -> None:
    fallbacks = {
        fallback.getKey(): option.key()
        for option in new(load_class, SINK_FACTORY).optionalOptions()
        for fallback in option.fallbackKeys()
    }
    client_fields = ("KINESIS_PRODUCER_ENDPOINT", "KINESIS_PRODUCER_PORT")
    client = {
        static_value(load_class, PRODUCER_OPTIONS_MAPPER, field): "aws.endpoint"
        for field in client_fields
    }
    verify = static_value(
        load_class, PRODUCER_OPTIONS_MAPPER, "KINESIS_PRODUCER_VERIFY_CERTIFICATE"
    )
    client[verify] = "aws.trust.all.certificates"
    assert {**fallbacks, **client} == DEPRECATED_PRODUCER_OPTIONS


@pytest.mark.parametrize("key", [key for key in ALL_KEYS.values() if key.java], ids=key_name)
def test_each_option_is_its_java_field(load_class: LoadClass, key: Key) -> None:
    """A ConfigOption is the option itself; a String constant is the key Java reads for it."""
    value = java_field(load_class, key)
    if is_config_option(value):
        assert key.name == format_prefix(key) + value.key()
    else:
        assert java_key(real_name(key)).startswith(value)
        assert key.is_pattern or java_key(key.name) == value


@pytest.mark.parametrize("key", [key for key in ALL_KEYS.values() if key.java], ids=key_name)
def test_defaults_are_the_config_option_defaults(load_class: LoadClass, key: Key) -> None:
    """Options without a Java default have the DataStream connector's (``java_default``)."""
    option = java_field(load_class, key)
    if not is_config_option(option):
        return
    if not option.hasDefaultValue():
        assert key.default is None or key.java_default is not None
        return
    java_default = option.defaultValue()
    python = isinstance(java_default, (bool, int, float, str))
    if key.type is ValueType.DURATION:  # a java.time.Duration
        expected: object = timedelta(milliseconds=java_default.toMillis())
    else:
        expected = java_default if python else java_default.toString()  # an enum constant
    assert key.default is not None and parse(key, key.default) == expected


@pytest.mark.parametrize(
    "key", [key for key in ALL_KEYS.values() if key.java_default], ids=key_name
)
def test_defaults_are_the_connector_defaults(load_class: LoadClass, key: Key) -> None:
    assert key.java_default is not None and key.default is not None
    java_value = static_value(load_class, key.java_default.cls, key.java_default.field)
    assert parse(key, key.default) == as_python(key, java_value)


@pytest.mark.parametrize("key", [key for key in ALL_KEYS.values() if key.java_enum], ids=key_name)
def test_allowed_values_are_the_java_enum_constants(load_class: LoadClass, key: Key) -> None:
    """Enum keys take the constants' names; string choices what Flink compares, any case."""
    assert key.java_enum is not None
    constants = load_class(key.java_enum).getEnumConstants()
    if key.type is ValueType.ENUM:
        assert sorted(constant.name() for constant in constants) == sorted(key.allowed)
    else:
        assert sorted(constant.toString() for constant in constants) == sorted(key.allowed)


def test_string_choices_without_an_enum_are_the_java_constants(load_class: LoadClass) -> None:
    util = "org.apache.flink.formats.json.JsonFormatOptionsUtil"
    timestamp_formats = static_value(load_class, util, "TIMESTAMP_FORMAT_ENUM")
    assert sorted(timestamp_formats) == sorted(ALL_KEYS["json.timestamp-format.standard"].allowed)
    raw = "org.apache.flink.formats.raw.RawFormatOptions"
    endians = [static_value(load_class, raw, field) for field in ("BIG_ENDIAN", "LITTLE_ENDIAN")]
    assert tuple(endians) == ALL_KEYS["raw.endianness"].allowed


@pytest.mark.parametrize("name", FORMAT_KEYS)
def test_format_options_are_the_format_factory_options(load_class: LoadClass, name: str) -> None:
    factory = new(load_class, FORMAT_FACTORIES[name])
    assert factory.factoryIdentifier() == name
    assert list(factory.requiredOptions()) == []
    offered = {f"{name}.{option.key()}" for option in factory.optionalOptions()}
    assert offered == {key.name for key in FORMAT_KEYS[name].keys}


def test_the_source_translates_options_as_java_key_does(load_class: LoadClass) -> None:
    """Table spellings and DataStream spellings (which Java mangles) alike."""
    source = [*TABLE_COMMON_KEYS.keys, *TABLE_SOURCE_KEYS.keys]
    names = [real_name(key) for key in source if key.name.startswith(UNVALIDATED_PREFIXES)]
    names.append("aws.credentials.provider.basic.secretkey")
    util = new(load_class, CONSUMER_OPTIONS_UTIL, java_map({n: n for n in names}), "orders")
    translated = dict(util.getProcessedResolvedOptions())
    assert translated == {java_key(name): name for name in names}


def test_the_sink_translates_client_options_as_java_key_does(load_class: LoadClass) -> None:
    sink = [*TABLE_COMMON_KEYS.keys, *TABLE_SINK_KEYS.keys]
    names = [real_name(key) for key in sink if key.name.startswith(("aws.", "sink.http-client."))]
    names.append("aws.credentials.provider.role.provider")
    util = new(load_class, SINK_CLIENT_OPTIONS_UTIL, java_map({name: name for name in names}))
    translated = dict(util.getProcessedResolvedOptions())
    assert translated == {java_key(name): name for name in names}


def test_unvalidated_prefixes_are_the_factories(load_class: LoadClass) -> None:
    source = new(load_class, CONSUMER_OPTIONS_UTIL, java_map({}), "orders")
    assert sorted(source.getNonValidatedPrefixes()) == sorted(UNVALIDATED_PREFIXES)
    sink = static_value(load_class, SINK_OPTIONS_UTILS, "NON_VALIDATED_PREFIXES")
    assert sorted(sink) == sorted(UNVALIDATED_PREFIXES)


def test_metadata_columns_are_the_sources(load_class: LoadClass) -> None:
    constants = load_class(METADATA_ENUM).getEnumConstants()
    in_jar = [(column.getFieldName(), column.getDataType().toString()) for column in constants]
    assert in_jar == [(column.key, column.type) for column in SOURCE_METADATA]


def test_named_shard_assigners_and_partitioners_are_the_jars(load_class: LoadClass) -> None:
    package = "org.apache.flink.streaming.connectors.kinesis.table"
    assigners = [
        new(load_class, f"{package}.{factory}").shardAssignerIdentifer()
        for factory in ("DefaultShardAssignerFactory", "UniformShardAssignerFactory")
    ]
    assert tuple(assigners) == SHARD_ASSIGNERS
    generators = "org.apache.flink.connector.kinesis.table.KinesisPartitionKeyGeneratorFactory"
    fields = ("SINK_PARTITIONER_VALUE_RANDOM", "SINK_PARTITIONER_VALUE_FIXED")
    assert tuple(static_value(load_class, generators, field) for field in fields) == PARTITIONERS
