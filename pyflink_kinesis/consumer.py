"""``FlinkKinesisConsumer``: the exactly-once Kinesis source for ``env.add_source(...)``."""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

from pyflink.common import AssignerWithPeriodicWatermarksWrapper, DeserializationSchema
from pyflink.datastream.functions import SourceFunction

from pyflink_kinesis import gateway
from pyflink_kinesis._java import (
    JavaRecipe,
    custom_java_object,
    java_class,
    java_properties,
    own_class,
)
from pyflink_kinesis.config import consumer_properties, mask_secrets
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.config.values import java_class_problem
from pyflink_kinesis.errors import ConfigProblem, JarResolutionError, KinesisConfigError
from pyflink_kinesis.watermark import PeriodicWatermarkAssigner, WatermarkTracker

_CONNECTORS = "org.apache.flink.streaming.connectors.kinesis"
_WITH_METADATA = "io.pyflinkkinesis.KinesisRecordWithMetadata"
_OUR_CONSUMER = "io.pyflinkkinesis.consumer.KinesisConsumer"


class KinesisShardAssigner(JavaRecipe):
    """Maps Kinesis shards to source subtasks."""

    @staticmethod
    def default_shard_assigner() -> KinesisShardAssigner:
        """Hash of stream name and shard id: the connector's default, roughly even."""
        return KinesisShardAssigner(
            "default_shard_assigner()",
            lambda jvm: java_class(jvm, f"{_CONNECTORS}.table.DefaultShardAssignerFactory")()
            .getShardAssigner(),
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
        constructor; its jar must be added to the job).

        The class is loaded when the assigner is set on a consumer; a class that is missing,
        is not a ``KinesisShardAssigner`` or has no public no-arg constructor raises
        :class:`~pyflink_kinesis.KinesisConfigError` saying so.
        """
        problem = java_class_problem(java_class_name)
        if problem is not None:
            raise KinesisConfigError(
                [ConfigProblem(f"KinesisShardAssigner.custom({java_class_name!r})", problem)],
                subject="shard assigner",
            )

        def build(jvm: Any) -> Any:
            return custom_java_object(
                jvm,
                java_class_name,
                f"{_CONNECTORS}.KinesisShardAssigner",
                f"KinesisShardAssigner.custom({java_class_name!r})",
                "shard assigner",
                "set_shard_assigner()",
            )

        return KinesisShardAssigner(f"custom({java_class_name!r})", build)


METADATA_FIELDS = (
    "payload",
    "stream",
    "shard_id",
    "partition_key",
    "sequence_number",
    "approximate_arrival_timestamp",
)
"""The fields of the Rows :meth:`KinesisDeserializationSchema.with_metadata` produces, in order."""


class KinesisDeserializationSchema:
    """A Java ``KinesisDeserializationSchema``: it also sees partition key, sequence number,
    approximate arrival time, stream and shard id of each record.

    Use :meth:`with_metadata` to get all of these in Python, or wrap a Java schema of your own
    (its jar must be added to the job).
    """

    def __init__(self, j_kinesis_deserialization_schema: Any) -> None:
        self._j_kinesis_deserialization_schema = j_kinesis_deserialization_schema
        # True when records are the Rows of METADATA_FIELDS (with_metadata).
        self.with_metadata_fields = False
        # with_metadata's payload schema: KinesisStreamsSource builds its own adapter from it.
        self.payload_schema: DeserializationSchema | None = None

    @staticmethod
    def with_metadata(payload_schema: DeserializationSchema) -> KinesisDeserializationSchema:
        """Each record as a ``Row`` with the fields of :data:`METADATA_FIELDS`.

        ``payload`` is what ``payload_schema`` makes of the record's data (a str for
        ``SimpleStringSchema``, a Row for a JSON or Avro row schema); ``stream``, ``shard_id``,
        ``partition_key`` and ``sequence_number`` are str; ``approximate_arrival_timestamp`` is
        the time Kinesis stored the record, in epoch milliseconds (int). Records whose payload
        deserializes to None are skipped.
        """
        if not isinstance(payload_schema, DeserializationSchema):
            raise TypeError(
                "with_metadata takes a pyflink DeserializationSchema for the payload (e.g. "
                f"SimpleStringSchema()), not {type(payload_schema).__name__}"
            )
        feature = "KinesisDeserializationSchema.with_metadata"
        j_schema = own_class(gateway.jvm(), _WITH_METADATA, feature)(
            payload_schema._j_deserialization_schema
        )
        schema = KinesisDeserializationSchema(j_schema)
        schema.with_metadata_fields = True
        schema.payload_schema = payload_schema
        return schema


Deserializer = Union[DeserializationSchema, KinesisDeserializationSchema]


class FlinkKinesisConsumer(SourceFunction):  # type: ignore[misc]
    """Exactly-once parallel source over one or more Kinesis streams of one region.

    After a reshard, a child shard is read only once its parents are read to their end, so
    each partition key's records stay in order (end to end with checkpointing on;
    ``pyflink-kinesis docs consumer``, "Order across resharding").

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
        problems = Problems("consumer config")
        if not isinstance(deserializer, (DeserializationSchema, KinesisDeserializationSchema)):
            problems.add(
                "deserializer",
                f"expected a pyflink DeserializationSchema (like SimpleStringSchema()) or a "
                f"KinesisDeserializationSchema, got {type(deserializer).__name__}",
            )
        properties = consumer_properties(config, streams, problems)
        assert isinstance(config, Mapping)
        self._streams = [streams] if isinstance(streams, str) else list(streams)
        self._config = dict(config)
        self._with_metadata = getattr(deserializer, "with_metadata_fields", False)
        self._has_watermark_assigner = self._has_watermark_tracker = False
        gateway.use_json_protocol(properties)
        jvm = gateway.jvm()
        self._j_kinesis_consumer = _consumer_class(jvm)(
            self._streams, _java_deserializer(jvm, deserializer), java_properties(jvm, properties)
        )
        super().__init__(self._j_kinesis_consumer)

    def set_shard_assigner(self, shard_assigner: KinesisShardAssigner) -> FlinkKinesisConsumer:
        """Choose how shards are spread over subtasks (default: hash of stream and shard)."""
        _require(shard_assigner, KinesisShardAssigner, "set_shard_assigner",
                 "KinesisShardAssigner.uniform_shard_assigner()")
        self._j_kinesis_consumer.setShardAssigner(shard_assigner._to_java())
        return self

    def set_periodic_watermark_assigner(
        self,
        periodic_watermark_assigner: PeriodicWatermarkAssigner
        | AssignerWithPeriodicWatermarksWrapper,
    ) -> FlinkKinesisConsumer:
        """Extract timestamps and compute per-shard watermarks with this assigner.

        Take a ready-made one from :class:`~pyflink_kinesis.PeriodicWatermarkAssigner`, or wrap a
        Java ``AssignerWithPeriodicWatermarks`` in PyFlink's
        ``AssignerWithPeriodicWatermarksWrapper``. Without one, records carry their approximate
        arrival time and the source emits no watermarks.
        """
        if isinstance(periodic_watermark_assigner, PeriodicWatermarkAssigner):
            if periodic_watermark_assigner.needs_metadata and not self._with_metadata:
                raise ValueError(
                    f"{periodic_watermark_assigner!r} reads the arrival time from each record: "
                    "build the consumer with KinesisDeserializationSchema.with_metadata(schema) "
                    "(the connector does not pass the arrival time to watermark assigners)"
                )
            j_assigner = periodic_watermark_assigner._to_java()
        elif isinstance(periodic_watermark_assigner, AssignerWithPeriodicWatermarksWrapper):
            j_assigner = periodic_watermark_assigner._j_assigner_with_periodic_watermarks
        else:
            raise TypeError(
                "set_periodic_watermark_assigner takes a PeriodicWatermarkAssigner (e.g. "
                "PeriodicWatermarkAssigner.json_field('ts', 5000)) or an "
                f"AssignerWithPeriodicWatermarksWrapper, not "
                f"{type(periodic_watermark_assigner).__name__}"
            )
        self._j_kinesis_consumer.setPeriodicWatermarkAssigner(j_assigner)
        self._has_watermark_assigner = True
        return self

    def set_watermark_tracker(self, watermark_tracker: WatermarkTracker) -> FlinkKinesisConsumer:
        """Align subtasks by event time through this tracker.

        The tracker works on the watermarks of a periodic watermark assigner: set one with
        :meth:`set_periodic_watermark_assigner` too (the connector ignores a tracker without
        one, so ``env.add_source`` refuses that).
        """
        _require(watermark_tracker, WatermarkTracker, "set_watermark_tracker",
                 "WatermarkTracker.job_manager_watermark_tracker('name')")
        self._j_kinesis_consumer.setWatermarkTracker(watermark_tracker._to_java())
        self._has_watermark_tracker = True
        return self

    def get_java_function(self) -> Any:
        """The Java consumer, for ``env.add_source``; checks what only the setters together
        tell: a watermark tracker needs a periodic watermark assigner."""
        if self._has_watermark_tracker and not self._has_watermark_assigner:
            raise KinesisConfigError(
                [ConfigProblem(
                    "watermark_tracker",
                    "set without a periodic watermark assigner, so the connector would ignore "
                    "it: call set_periodic_watermark_assigner(...) too (for example "
                    "PeriodicWatermarkAssigner.json_field('ts', 5000))",
                )],
                subject="consumer settings",
            )
        return super().get_java_function()

    def __repr__(self) -> str:
        config = mask_secrets(self._config)
        return f"FlinkKinesisConsumer(streams={self._streams!r}, config={config!r})"


def _consumer_class(jvm: Any) -> Any:
    """Our ``KinesisConsumer`` where our jar is installed, else the connector's consumer.

    Ours reads a child shard only after its parents are read to their end
    (``pyflink-kinesis docs consumer``, "Order across resharding"), and declines checkpoints once
    a record failed in an operator chained to the source: the connector's can complete one in
    between, storing positions past records that never got downstream, which a restore then
    skips (``pyflink-kinesis docs reliability``, "A failure next to the source").
    """
    try:
        return own_class(jvm, _OUR_CONSUMER, "FlinkKinesisConsumer")
    except JarResolutionError:
        return java_class(jvm, f"{_CONNECTORS}.FlinkKinesisConsumer")


def _java_deserializer(jvm: Any, deserializer: Deserializer) -> Any:
    if isinstance(deserializer, DeserializationSchema):
        wrapper = f"{_CONNECTORS}.serialization.KinesisDeserializationSchemaWrapper"
        return java_class(jvm, wrapper)(deserializer._j_deserialization_schema)
    return deserializer._j_kinesis_deserialization_schema


def _require(value: object, expected: type, method: str, example: str) -> None:
    if not isinstance(value, expected):
        raise TypeError(
            f"{method} takes a {expected.__name__} (like {example}), got {type(value).__name__}"
        )
