"""From ``FlinkKinesisConsumer`` to ``KinesisStreamsSource``: the same job input, one call.

``FlinkKinesisConsumer(streams, deserializer, config)`` becomes
``migrate_consumer(streams, deserializer, config)``; its :meth:`MigratedSources.data_stream`
replaces ``env.add_source(consumer)``. Every legacy key without an equivalent is named in one
report (:meth:`MigratedSources.report`, also given as a :class:`KinesisMigrationWarning`), so
nothing is dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

from pyflink.common import WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from pyflink_kinesis.config.source import Migration, migrate_consumer_config
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.source import Deserializer, KinesisStreamsSource
from pyflink_kinesis.watermark import has_python_timestamp_assigner


class KinesisMigrationWarning(UserWarning):
    """Legacy consumer keys with no equivalent in the source, or several streams unioned."""


@dataclass
class MigratedSources:
    """One :class:`KinesisStreamsSource` per stream of the consumer call, and what changed."""

    sources: dict[str, KinesisStreamsSource]
    migration: Migration

    def report(self) -> str:
        """Every legacy key not carried over and why; how several streams are read."""
        return self.migration.report()

    def data_stream(
        self,
        env: StreamExecutionEnvironment,
        watermark_strategy: WatermarkStrategy | None = None,
        name: str = "kinesis",
    ) -> DataStream:
        """``env.from_source`` for each source (named ``<name>: <stream>``, uid
        ``<name>-<stream>`` for savepoints), unioned into one DataStream when there are several.

        Records carry their arrival time as timestamp unless ``watermark_strategy`` takes it
        from the record with :func:`~pyflink_kinesis.with_field_timestamps` (a Python
        ``with_timestamp_assigner`` is refused: ``from_source`` would ignore it); without
        ``watermark_strategy`` there are no watermarks.
        """
        if has_python_timestamp_assigner(watermark_strategy):
            raise ValueError(
                "watermark_strategy has a Python timestamp assigner, which env.from_source "
                "ignores in PyFlink 1.20 (records would keep their arrival time). Take the "
                "timestamp in the JVM with pyflink_kinesis.with_field_timestamps(strategy, "
                "'<field>'), or call assign_timestamps_and_watermarks on the DataStream."
            )
        strategy = watermark_strategy or WatermarkStrategy.no_watermarks()
        streams = [
            env.from_source(source, strategy, f"{name}: {stream}").uid(f"{name}-{stream}")
            for stream, source in self.sources.items()
        ]
        return streams[0].union(*streams[1:]) if len(streams) > 1 else streams[0]


def migrate_consumer(
    streams: str | Sequence[str],
    deserializer: Deserializer,
    config: Mapping[str, object],
) -> MigratedSources:
    """The sources that read what ``FlinkKinesisConsumer(streams, deserializer, config)`` reads.

    The config is validated as the consumer's (every problem in one
    :class:`~pyflink_kinesis.KinesisConfigError`); the keys the source has are carried over
    under connector 5.x's names (start position and timestamp, discovery interval, GetRecords
    size, EFO: ``flink.stream.recordpublisher`` -> ``source.reader.type``, LAZY and EAGER
    registration -> ``JOB_MANAGED``, NONE -> ``SELF_MANAGED`` with the consumer's name from
    each stream's consumer ARN, the EFO timeouts and DescribeStreamConsumer retries) with the
    AWS keys; what reads differently and every key without an equivalent are named in
    :meth:`MigratedSources.report` and a :class:`KinesisMigrationWarning`. Each stream's ARN is
    resolved with boto3 from the config (see ``set_stream_name``).
    """
    migration = migrate_consumer_config(streams, config, Problems("consumer config to migrate"))
    sources = {
        stream: KinesisStreamsSource.builder()
        .set_stream_name(stream)
        .set_source_config(migration.config_for(stream))
        .set_deserialization_schema(deserializer)
        .build()
        for stream in migration.streams
    }
    report = migration.report()
    if report:
        warnings.warn(report, KinesisMigrationWarning, stacklevel=2)
    return MigratedSources(sources, migration)
