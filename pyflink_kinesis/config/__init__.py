"""Key tables and validation for the Kinesis connector's configs: pure Python, no JVM.

Each config is checked completely before anything reaches Java, and every problem is reported
at once in a :class:`~pyflink_kinesis.errors.KinesisConfigError`.
"""

from pyflink_kinesis.config.consumer import CONSUMER_KEYS, consumer_properties
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.secrets import mask_secrets
from pyflink_kinesis.config.sink import SINK_CLIENT_KEYS, SINK_OPTIONS, SinkSettings, validate_sink

__all__ = [
    "CONSUMER_KEYS",
    "SINK_CLIENT_KEYS",
    "SINK_OPTIONS",
    "JavaRef",
    "Key",
    "KeyTable",
    "SinkSettings",
    "ValueType",
    "consumer_properties",
    "mask_secrets",
    "validate_sink",
]
