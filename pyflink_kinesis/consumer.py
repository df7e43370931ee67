"""``FlinkKinesisConsumer``: the exactly-once Kinesis source for ``env.add_source(...)``."""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

from pyflink.common import AssignerWithPeriodicWatermarksWrapper, DeserializationSchema
from pyflink.datastream.functions import SourceFunction

from pyflink_kinesis import gateway
from pyflink_kinesis._java import JavaRecipe, java_class, java_properties
from pyflink_kinesis.config import consumer_properties, mask_secrets
from pyflink_kinesis.watermark import WatermarkTracker

_CONNECTORS = "org.apache.flink.streaming.connectors.kinesis"


class KinesisShardAssigner(JavaRecipe):
    """Maps Kinesis shards to source subtasks."""

    @staticmethod
    def default_shard_assigner() -> KinesisShardAssigner:
        """Hash of stream name and shard id: the connector's default, roughly even."""
        return KinesisShardAssigner(
            "default_shard_assigner()",
            lambda jvm: java_class(jvm, f"{_CONNECTORS}.internals.KinesisDataFetcher")
            .DEFAULT_SHARD_ASSIGNER,
        )

    @staticmethod
    def uniform_shard_assigner() -> KinesisShardAssigner:
        """Spreads shards evenly by hash-key range; best with random partition keys and
        ``UpdateShardCount`` using ``UNIFORM_SCALING``."""
        return KinesisShardAssigner(
            "uniform_shard_assigner()",
            lambda jvm: java_class(jvm, f"{_CONNECTORS}.util.UniformShardAssigner")(),
        )

    @staticmethod
    def custom(java_class_name: str) -> KinesisShardAssigner:
        """A Java ``KinesisShardAssigner`` of your own, by class name (public no-arg
        constructor; its jar must be added to the job)."""
        return KinesisShardAssigner(
            f"custom({java_class_name!r})", lambda jvm: java_class(jvm, java_class_name)()
        )


class KinesisDeserializationSchema:
    """A Java ``KinesisDeserializationSchema`` (it also sees partition key, sequence number,
    arrival time, stream and shard id)."""

    def __init__(self, j_kinesis_deserialization_schema: Any) -> None:
        self._j_kinesis_deserialization_schema = j_kinesis_deserialization_schema


Deserializer = Union[DeserializationSchema, KinesisDeserializationSchema]


class FlinkKinesisConsumer(SourceFunction):  # type: ignore[misc]
    """Exactly-once parallel source over one or more Kinesis streams of one region.

    ``config`` takes the keys of the connector's ``AWSConfigConstants`` and
    ``ConsumerConfigConstants`` (``aws.region`` is required); values may be str, int, float,
    bool or Enum. The config is validated before anything reaches the JVM: every problem is
    reported in one :class:`~pyflink_kinesis.KinesisConfigError`, secrets masked.
    """

    def __init__(
        self,
        streams: str | Sequence[str],
        deserializer: Deserializer,
        config: Mapping[str, object],
    ) -> None:
        self._streams = [streams] if isinstance(streams, str) else list(streams)
        self._config = dict(config)
        properties = consumer_properties(self._config, self._streams)
        gateway.use_json_protocol(properties)
        jvm = gateway.jvm()
        self._j_kinesis_consumer = java_class(jvm, f"{_CONNECTORS}.FlinkKinesisConsumer")(
            self._streams, _java_deserializer(jvm, deserializer), java_properties(jvm, properties)
        )
        super().__init__(self._j_kinesis_consumer)

    def set_shard_assigner(self, shard_assigner: KinesisShardAssigner) -> FlinkKinesisConsumer:
        """Choose how shards are spread over subtasks (default: hash of stream and shard)."""
        self._j_kinesis_consumer.setShardAssigner(shard_assigner._to_java())
        return self

    def set_periodic_watermark_assigner(
        self, periodic_watermark_assigner: AssignerWithPeriodicWatermarksWrapper
    ) -> FlinkKinesisConsumer:
        """Extract timestamps and compute per-shard watermarks with this assigner."""
        self._j_kinesis_consumer.setPeriodicWatermarkAssigner(
            periodic_watermark_assigner._j_assigner_with_periodic_watermarks
        )
        return self

    def set_watermark_tracker(self, watermark_tracker: WatermarkTracker) -> FlinkKinesisConsumer:
        """Align subtasks by event time through this tracker."""
        self._j_kinesis_consumer.setWatermarkTracker(watermark_tracker._to_java())
        return self

    def __repr__(self) -> str:
        config = mask_secrets(self._config)
        return f"FlinkKinesisConsumer(streams={self._streams!r}, config={config!r})"


def _java_deserializer(jvm: Any, deserializer: Deserializer) -> Any:
    if isinstance(deserializer, DeserializationSchema):
        wrapper = f"{_CONNECTORS}.serialization.KinesisDeserializationSchemaWrapper"
        return java_class(jvm, wrapper)(deserializer._j_deserialization_schema)
    if hasattr(deserializer, "_j_kinesis_deserialization_schema"):
        return deserializer._j_kinesis_deserialization_schema
    raise TypeError(
        f"deserializer must be a pyflink DeserializationSchema (e.g. SimpleStringSchema()) or a "
        f"KinesisDeserializationSchema, not {type(deserializer).__name__}"
    )
