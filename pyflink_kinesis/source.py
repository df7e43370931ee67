"""``KinesisStreamsSource``: the FLIP-27 Kinesis source for ``env.from_source(...)``.

Our Java source (``io.pyflinkkinesis.source``) with connector 4.3.0-1.19's Kinesis client,
schemas and options: polling or EFO (``source.reader.type``), one stream per source, a child
shard read only after its parents (per-key order across resharding, end to end), KPL aggregates
taken apart into their user records. ``pyflink-kinesis docs source`` says what it guarantees
and when to choose it over ``FlinkKinesisConsumer``. Nothing reaches the JVM before
:meth:`KinesisStreamsSourceBuilder.build`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Union

from pyflink.common import DeserializationSchema
from pyflink.datastream.connectors import Source

from pyflink_kinesis import gateway
from pyflink_kinesis._java import JavaRecipe, custom_java_object, java_class, own_class
from pyflink_kinesis.config import mask_secrets
from pyflink_kinesis.config.endpoint import with_endpoint_defaults
from pyflink_kinesis.config.source import SourceSettings, validate_source
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.config.values import java_class_problem
from pyflink_kinesis.consumer import KinesisDeserializationSchema
from pyflink_kinesis.errors import KinesisConfigError, StreamCheckError

_SOURCE = "org.apache.flink.connector.kinesis.source"
_WITH_METADATA = "io.pyflinkkinesis.SourceRecordWithMetadata"
# Our FLIP-27 source: the connector's client, schema and options, our enumerator and reader.
_OUR_SOURCE = "io.pyflinkkinesis.source.KinesisStreamsSource"

class KinesisSourceShardAssigner(JavaRecipe):
    """Maps the source's shard splits to its subtasks (the source's own assigner interface,
    ``org.apache.flink.connector.kinesis.source.enumerator.KinesisShardAssigner``)."""

    def __init__(
        self, description: str, build: Callable[[Any], Any], problem: str | None = None
    ) -> None:
        super().__init__(description, build)
        self.problem = problem  # what is wrong with its argument, for build()

    @staticmethod
    def uniform_shard_assigner() -> KinesisSourceShardAssigner:
        """Each new shard to the subtask with the fewest shards so far (the default)."""
        return KinesisSourceShardAssigner(
            "uniform_shard_assigner()",
            lambda jvm: java_class(
                jvm, f"{_SOURCE}.enumerator.assigner.ShardAssignerFactory"
            ).uniformShardAssigner(),
        )

    @staticmethod
    def custom(java_class_name: str) -> KinesisSourceShardAssigner:
        """A Java ``KinesisShardAssigner`` of the source package, by class name (public no-arg
        constructor; add its jar with ``env.add_jars`` before ``build()``). The name is checked
        at ``build()``, the class loaded then."""
        return KinesisSourceShardAssigner(
            f"custom({java_class_name!r})",
            lambda jvm: custom_java_object(
                jvm,
                java_class_name,
                f"{_SOURCE}.enumerator.KinesisShardAssigner",
                f"KinesisSourceShardAssigner.custom({java_class_name!r})",
                "source settings",
                "build()",
            ),
            java_class_problem(java_class_name),
        )


class KinesisStreamsSource(Source):  # type: ignore[misc]
    """Reads one Kinesis stream with FLIP-27 splits (one per shard); exactly-once state with
    checkpointing. Use it with ``env.from_source(source, watermark_strategy, name)``.

    Build it with :meth:`builder`; to move a ``FlinkKinesisConsumer`` over, see
    :func:`pyflink_kinesis.migrate_consumer`.
    """

    def __init__(self, j_source: Any, description: str) -> None:
        super().__init__(j_source)
        self._description = description

    @staticmethod
    def builder() -> KinesisStreamsSourceBuilder:
        """A builder: set the stream, the config and the deserialization schema, then
        :meth:`~KinesisStreamsSourceBuilder.build`."""
        return KinesisStreamsSourceBuilder()

    def __repr__(self) -> str:
        return self._description


Deserializer = Union[DeserializationSchema, KinesisDeserializationSchema]


class KinesisStreamsSourceBuilder:
    """Records the source's settings; :meth:`build` checks them all at once.

    Required: the stream (:meth:`set_stream_arn` or :meth:`set_stream_name`), the config
    (``aws.region``), the deserialization schema.
    """

    def __init__(self) -> None:
        # What the setters were given, checked only at build(): wrong types included.
        self._settings = SourceSettings()
        self._schema: object = None
        self._assigner: object = None

    def set_stream_arn(self, stream_arn: str) -> KinesisStreamsSourceBuilder:
        """The stream to read, by ARN (``arn:aws:kinesis:<region>:<account>:stream/<name>``)."""
        self._settings.stream_arn = stream_arn
        return self

    def set_stream_name(self, stream_name: str) -> KinesisStreamsSourceBuilder:
        """The stream to read, by name: :meth:`build` asks Kinesis for its ARN
        (``DescribeStreamSummary`` through boto3, with the config's region, endpoint and
        credentials; BASIC and PROFILE as given, ASSUME_ROLE through STS, other providers
        through boto3's default chain). Use :meth:`set_stream_arn` where the building machine
        cannot reach Kinesis."""
        self._settings.stream_name = stream_name
        return self

    def set_source_config(self, source_config: Mapping[str, object]) -> KinesisStreamsSourceBuilder:
        """AWS client keys (``aws.region`` required, ``aws.endpoint``, credentials) and the
        source's options under connector 5.x's names: ``source.init.position``,
        ``source.init.timestamp``, ``source.init.timestamp.format``,
        ``source.shard.discovery.interval``, ``source.shard.get-records.max-record-count``,
        ``source.reader.type``, ``source.reader.empty-records-fetch-interval``,
        ``source.efo.*`` (with ``source.reader.type = EFO`` only), ``retry-strategy.*``.
        Durations are Flink's (``'10 s'``, ``'250 ms'``; a number alone is milliseconds).
        Connector 4.3.0's names of the first four (``flink.stream.initpos``,
        ``flink.stream.initpos.timestamp``, ``flink.stream.initpos.timestamp.format``,
        ``flink.shard.discovery.intervalmillis``) are accepted instead, never both for one
        option. Values may be str, int, float, bool or Enum; ``pyflink-kinesis config <key>``
        documents each key."""
        self._settings.source_config = (
            dict(source_config) if isinstance(source_config, Mapping) else source_config
        )
        return self

    def set_deserialization_schema(self, schema: Deserializer) -> KinesisStreamsSourceBuilder:
        """How a record's bytes become a value: a pyflink ``DeserializationSchema`` (like
        ``SimpleStringSchema()``) or ``KinesisDeserializationSchema.with_metadata(schema)``
        (Rows of :data:`~pyflink_kinesis.METADATA_FIELDS`, as the legacy consumer gives)."""
        self._schema = schema
        self._settings.has_deserialization_schema = schema is not None
        return self

    def set_kinesis_shard_assigner(
        self, shard_assigner: KinesisSourceShardAssigner
    ) -> KinesisStreamsSourceBuilder:
        """How shards are spread over subtasks (default:
        :meth:`KinesisSourceShardAssigner.uniform_shard_assigner`). A child shard whose parents
        were just read elsewhere waits for the next checkpoint; without periodic (aligned)
        checkpoints it goes to its parent's subtask instead (``pyflink-kinesis docs source``,
        "Order across resharding")."""
        self._assigner = shard_assigner
        return self

    def build(self) -> KinesisStreamsSource:
        """Check every setting (all problems in one KinesisConfigError), resolve a stream name
        to its ARN, then create the source."""
        problems = Problems("source settings")
        self._check_parts(problems)
        properties = validate_source(self._settings, problems)
        arn = self._stream_arn(properties)
        gateway.use_json_protocol(properties)
        jvm = gateway.jvm()
        our_source = own_class(jvm, _OUR_SOURCE, "KinesisStreamsSource")
        j_config = java_class(jvm, "org.apache.flink.configuration.Configuration")()
        for name, value in with_endpoint_defaults(properties).items():
            j_config.setString(name, value)
        j_schema = self._java_schema(jvm)
        j_assigner = (
            self._assigner._to_java()
            if isinstance(self._assigner, KinesisSourceShardAssigner)
            else None
        )
        j_source = our_source(arn, j_config, j_schema, j_assigner, j_schema.getProducedType())
        return KinesisStreamsSource(j_source, self._describe(arn))

    def _check_parts(self, problems: Problems) -> None:
        schema, assigner = self._schema, self._assigner
        if schema is not None and not isinstance(
            schema, (DeserializationSchema, KinesisDeserializationSchema)
        ):
            problems.add(
                "deserialization_schema",
                f"expected a pyflink DeserializationSchema (like SimpleStringSchema()) or "
                f"KinesisDeserializationSchema.with_metadata(...), got {type(schema).__name__}",
            )
        elif isinstance(schema, KinesisDeserializationSchema) and schema.payload_schema is None:
            problems.add(
                "deserialization_schema",
                "a Java KinesisDeserializationSchema of the legacy consumer cannot serve this "
                "source; use KinesisDeserializationSchema.with_metadata(...) or a pyflink "
                "DeserializationSchema",
            )
        if assigner is not None and not isinstance(assigner, KinesisSourceShardAssigner):
            problems.add(
                "kinesis_shard_assigner",
                "expected a KinesisSourceShardAssigner (like "
                "KinesisSourceShardAssigner.uniform_shard_assigner()), got "
                f"{type(assigner).__name__}",
            )
        elif isinstance(assigner, KinesisSourceShardAssigner) and assigner.problem:
            problems.add("kinesis_shard_assigner", assigner.problem)

    def _stream_arn(self, properties: Mapping[str, str]) -> str:
        if isinstance(self._settings.stream_arn, str):
            return self._settings.stream_arn
        from pyflink_kinesis.preflight import describe_streams

        name = str(self._settings.stream_name)
        try:
            return str(describe_streams([name], properties)[name]["StreamARN"])
        except StreamCheckError as error:
            raise KinesisConfigError(
                [problem.__class__(f"stream_name ({problem.key})", problem.message)
                 for problem in error.problems],
                subject="source settings (resolving the stream name to its ARN)",
            ) from None

    def _java_schema(self, jvm: Any) -> Any:
        schema = self._schema
        if isinstance(schema, KinesisDeserializationSchema):
            assert schema.payload_schema is not None
            feature = "KinesisDeserializationSchema.with_metadata with KinesisStreamsSource"
            return own_class(jvm, _WITH_METADATA, feature)(
                schema.payload_schema._j_deserialization_schema
            )
        assert isinstance(schema, DeserializationSchema)
        return java_class(
            jvm, f"{_SOURCE}.serialization.KinesisDeserializationSchema"
        ).of(schema._j_deserialization_schema)

    def _describe(self, arn: str | None = None) -> str:
        config = self._settings.source_config
        shown = mask_secrets(config) if isinstance(config, Mapping) else config
        stream = arn or self._settings.stream_arn or self._settings.stream_name
        parts = [f"stream={stream!r}", f"source_config={shown!r}"]
        if self._assigner is not None:
            parts.append(f"kinesis_shard_assigner={self._assigner!r}")
        return f"KinesisStreamsSource({', '.join(parts)})"

    def __repr__(self) -> str:
        return self._describe().replace("KinesisStreamsSource(", "KinesisStreamsSourceBuilder(", 1)

