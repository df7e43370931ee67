"""KinesisStreamsSourceBuilder: every problem at once, before any JVM call; secrets masked."""

from __future__ import annotations

import warnings

import pytest
from pyflink.common.serialization import SimpleStringSchema

from pyflink_kinesis import (
    KinesisConfigError,
    KinesisSourceShardAssigner,
    KinesisStreamsSource,
)
from pyflink_kinesis.testing import LocalKinesis


def test_source_build_reports_every_problem_without_a_jvm_call(
    aws_config: dict[str, object],
) -> None:
    builder = (
        KinesisStreamsSource.builder()
        .set_stream_name("no such/stream")
        .set_source_config({**aws_config, "flink.stream.initpos": "NEWEST"})
        .set_deserialization_schema("utf-8")
        .set_kinesis_shard_assigner(KinesisSourceShardAssigner.custom("not a class"))
    )
    with pytest.raises(KinesisConfigError) as error, warnings.catch_warnings():
        warnings.simplefilter("error")
        builder.build()
    assert {p.key for p in error.value.problems} == {
        "stream_name", "flink.stream.initpos", "deserialization_schema", "kinesis_shard_assigner"}
    assert "local-secret-key" not in str(error.value) + repr(builder)


def test_an_unknown_stream_name_is_reported_when_build_resolves_it(
    local_kinesis: LocalKinesis, aws_config: dict[str, object]
) -> None:
    builder = (
        KinesisStreamsSource.builder()
        .set_stream_name("never-created")
        .set_source_config(aws_config)
        .set_deserialization_schema(SimpleStringSchema())
    )
    with pytest.raises(KinesisConfigError, match="the stream does not exist"):
        builder.build()
