"""The Firehose key tables against flink-connector-aws-kinesis-firehose itself, through py4j:
the client key constants, the builder's defaults (Firehose's limits) and the table factory's
options."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config import Key
from pyflink_kinesis.config.firehose import (
    DELIVERY_STREAM,
    FIREHOSE_CLIENT_KEYS,
    FIREHOSE_CONSTANTS,
    FIREHOSE_OPTIONS,
    FIREHOSE_TABLE_KEYS,
    TABLE_IDENTIFIER,
)
from pyflink_kinesis.config.table import FORMAT, java_key
from pyflink_kinesis.config.values import parse
from tests import test_config_matches_jar
from tests.test_config_matches_jar import LoadClass, as_python, key_name, static_value
from tests.test_config_table_matches_jar import is_config_option, java_field, new, options

pytestmark = pytest.mark.jvm

load_class = test_config_matches_jar.load_class  # the fixture: classes of the connector jars
FACTORY = "org.apache.flink.connector.firehose.table.KinesisFirehoseDynamicTableFactory"
OWN_KEYS = [key for key in FIREHOSE_CLIENT_KEYS.keys if key.java and key.java.cls ==
            FIREHOSE_CONSTANTS]


def test_every_key_constant_of_the_firehose_jar_is_in_the_client_table(
    load_class: LoadClass,
) -> None:
    fields = load_class(FIREHOSE_CONSTANTS).getFields()
    in_jar = {f.getName() for f in fields if f.getType().getName() == "java.lang.String"}
    in_jar -= {"BASE_FIREHOSE_USER_AGENT_PREFIX_FORMAT"}  # a user agent format, not a key
    assert in_jar == {key.java.field for key in OWN_KEYS if key.java}
    for key in OWN_KEYS:
        assert key.java is not None
        assert load_class(key.java.cls).getField(key.java.field).get(None) == key.name


@pytest.mark.parametrize("key", FIREHOSE_OPTIONS.keys, ids=key_name)
def test_builder_defaults_are_the_connectors(load_class: LoadClass, key: Key) -> None:
    assert key.java_default is not None and key.default is not None
    java_value = static_value(load_class, key.java_default.cls, key.java_default.field)
    assert parse(key, key.default) == as_python(key, java_value)


def test_the_factory_is_firehose_and_its_options_are_the_tables(load_class: LoadClass) -> None:
    factory = new(load_class, FACTORY)
    assert factory.factoryIdentifier() == TABLE_IDENTIFIER
    declared = {
        key.name
        for key in FIREHOSE_TABLE_KEYS.keys
        if key.java is not None and is_config_option(java_field(load_class, key))
    }
    assert set(options(factory)) == declared - {"connector"}
    assert {option.key() for option in factory.requiredOptions()} == {DELIVERY_STREAM, FORMAT}


@pytest.mark.parametrize(
    "key", [key for key in FIREHOSE_TABLE_KEYS.keys if key.java is not None], ids=key_name
)
def test_each_table_key_names_its_java_option(load_class: LoadClass, key: Key) -> None:
    """A ConfigOption's key is the table option; a constant is the key Flink translates the
    option to (aws.credentials.X -> aws.credentials.provider.X, sink.http-client.* -> aws.*)."""
    value = java_field(load_class, key)
    name = java_key(key.name) if isinstance(value, str) else key.name
    java_name = value if isinstance(value, str) else value.key()
    assert name == java_name or (key.is_pattern and name.startswith(java_name))
    if not isinstance(value, str) and value.hasDefaultValue() and key.default is not None:
        assert parse(key, key.default) == as_python(key, value.defaultValue())
