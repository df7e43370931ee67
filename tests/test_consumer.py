"""FlinkKinesisConsumer's Java side: which consumer class a job gets.

Built in this process's JVM; what ours does is shown by real jobs in
tests/e2e/test_resharding.py (parents before children) and tests/e2e/test_aggregation.py
(test_a_failure_after_a_checkpoint_loses_nothing).
"""

from __future__ import annotations

import pytest
from pyflink.common.serialization import SimpleStringSchema

from pyflink_kinesis import FlinkKinesisConsumer, jars
from pyflink_kinesis.errors import JarResolutionError

pytestmark = pytest.mark.jvm

CONFIG = {"aws.region": "us-east-1"}


def java_class_of(consumer: FlinkKinesisConsumer) -> str:
    return str(consumer.get_java_function().getClass().getName())


def test_the_consumer_is_ours_where_our_jar_is_installed() -> None:
    consumer = FlinkKinesisConsumer("orders", SimpleStringSchema(), CONFIG)

    assert java_class_of(consumer) == "io.pyflinkkinesis.consumer.KinesisConsumer"


def test_without_our_jar_the_connectors_consumer_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_jar(feature: str) -> None:
        raise JarResolutionError(f"{feature} needs pyflink-kinesis-java-0.1.0.jar")

    monkeypatch.setattr(jars, "own_jar", no_jar)
    consumer = FlinkKinesisConsumer("orders", SimpleStringSchema(), CONFIG)

    assert java_class_of(consumer) == (
        "org.apache.flink.streaming.connectors.kinesis.FlinkKinesisConsumer"
    )
