"""Key tables and validation for the Kinesis connector's configs: pure Python, no JVM.

Each config is checked completely before anything reaches Java, and every problem is reported
at once in a :class:`~pyflink_kinesis.errors.KinesisConfigError`.
"""

from pyflink_kinesis.config.consumer import CONSUMER_KEYS, consumer_properties
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.secrets import mask_secrets
from pyflink_kinesis.config.sink import (
    AGGREGATION_OPTIONS,
    EXACTLY_ONCE_OPTIONS,
    KEY_ORDER_OPTIONS,
    SINK_CLIENT_KEYS,
    SINK_OPTIONS,
    SinkSettings,
    validate_sink,
)
from pyflink_kinesis.config.table import (
    FORMAT_KEYS,
    TABLE_KEYS,
    DdlTable,
    check_ddl,
    ddl_tables,
    table_options,
)

__all__ = [
    "AGGREGATION_OPTIONS",
    "CONSUMER_KEYS",
    "EXACTLY_ONCE_OPTIONS",
    "FORMAT_KEYS",
    "KEY_ORDER_OPTIONS",
    "SINK_CLIENT_KEYS",
    "SINK_OPTIONS",
    "TABLE_KEYS",
    "DdlTable",
    "JavaRef",
    "Key",
    "KeyTable",
    "SinkSettings",
    "ValueType",
    "check_ddl",
    "consumer_properties",
    "ddl_tables",
    "mask_secrets",
    "table_options",
    "validate_sink",
]
