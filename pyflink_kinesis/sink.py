"""``KinesisStreamsSink``: the at-least-once Kinesis sink for ``stream.sink_to(...)``."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from pyflink.common import SerializationSchema
from pyflink.datastream import DataStream, KeyedStream
from pyflink.datastream.connectors import Sink
from pyflink.datastream.connectors.base import StreamTransformer, SupportsPreprocessing

from pyflink_kinesis import gateway
from pyflink_kinesis._async_sink import JAVA_SETTERS, AsyncSinkOptions
from pyflink_kinesis._java import (
    JavaRecipe,
    custom_java_object,
    java_class,
    java_properties,
    own_class,
)
from pyflink_kinesis.config import SinkSettings, validate_sink
from pyflink_kinesis.config.endpoint import with_endpoint_defaults
from pyflink_kinesis.config.partition_keys import (
    field_generator_problems,
    field_problem,
    path_problem,
)
from pyflink_kinesis.config.sink import EXACTLY_ONCE
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.config.values import java_class_problem

_TABLE = "org.apache.flink.connector.kinesis.table"
_SINK = "org.apache.flink.connector.kinesis.sink"
_OURS = "io.pyflinkkinesis"
# The connector's sink, telling the generator its subtask before each writer is created
# (connector 4.3.0 never does); a subclass, in the connector's package for its constructor.
_SUBTASK_SINK = f"{_SINK}.SubtaskInitializingSink"
_FIELD_KEYS = f"{_OURS}.FieldPartitionKeyGenerator"
SUBTASK_KEYS = f"{_OURS}.SubtaskPartitionKeyGenerator"
_AGGREGATING_SINK = f"{_OURS}.aggregation.AggregatingKinesisStreamsSink"
_KEY_ORDERED_SINK = f"{_OURS}.sink.KeyOrderedKinesisStreamsSink"
_EXACTLY_ONCE_SINK = f"{_OURS}.exactlyonce.CommittingKinesisStreamsSink"
_GENERATOR = "partition_key_generator"


class PartitionKeyGenerator(JavaRecipe):
    """Chooses each record's Kinesis partition key, and so its shard.

    Kinesis keeps order only within a shard: every generator here but :meth:`random` gives all
    records of one key (or one subtask) the same shard. Arguments are checked at the sink's
    ``build()``, with the sink's other settings. See "Partition keys" in
    ``pyflink-kinesis docs sink``.
    """

    def __init__(
        self,
        description: str,
        build: Callable[[Any], Any],
        problems: Sequence[str] = (),
        subtask_aware: bool = True,
    ) -> None:
        super().__init__(description, build)
        self._problems = tuple(problems)  # what is wrong with its arguments, for build()
        # Whether the sink must tell the generator its subtask (all but random()).
        self._subtask_aware = subtask_aware

    @staticmethod
    def fixed() -> PartitionKeyGenerator:
        """One key per sink subtask, its index ("0", "1", ...): each subtask's records stay in
        one shard, in the order the subtask wrote them.

        Connector 4.3.0 never tells its own fixed generator the subtask (it writes "0"
        everywhere); this one learns it from the sink. ``'sink.partitioner' = 'fixed'`` in SQL
        does the same.
        """
        return PartitionKeyGenerator(
            "fixed()", lambda jvm: own_class(jvm, SUBTASK_KEYS, "PartitionKeyGenerator.fixed()")()
        )

    @staticmethod
    def random() -> PartitionKeyGenerator:
        """A random UUID per record: records spread over all shards, with no order between them."""
        return PartitionKeyGenerator(
            "random()",
            lambda jvm: java_class(jvm, f"{_TABLE}.RandomKinesisPartitionKeyGenerator")(),
            subtask_aware=False,
        )

    @staticmethod
    def from_field(
        field: str | int, *, default_key: str | None = None, hash_long_keys: bool = False
    ) -> PartitionKeyGenerator:
        """The key is a field of each Row record: by name for named Rows
        (``Types.ROW_NAMED``), by position (from 0) for any Row.

        A value of any type becomes its string form (Java's: ``42``, ``2.5``, ``true``; bytes
        as hex). A record whose field is missing, null or empty fails the job naming the field
        and the record, unless ``default_key`` is given: such records are then written under
        that key (counted in the metric ``numRecordsWithDefaultPartitionKey``). A key longer
        than Kinesis' 256 characters fails the job too, unless ``hash_long_keys``: it is then
        written as its SHA-256 in hex, still one key (and one shard) per value.
        """
        problems = field_generator_problems(field_problem(field), default_key, hash_long_keys)
        factory = "rowPosition" if isinstance(field, int) else "rowField"
        description = _described("from_field", field, default_key, hash_long_keys)
        return PartitionKeyGenerator(
            description,
            lambda jvm: getattr(own_class(jvm, _FIELD_KEYS, description), factory)(
                field, default_key, hash_long_keys
            ),
            problems,
        )

    @staticmethod
    def json_field(
        path: str, *, default_key: str | None = None, hash_long_keys: bool = False
    ) -> PartitionKeyGenerator:
        """The key is a field of each JSON text record (``SimpleStringSchema`` str records, or
        bytes); ``path`` may be dotted for nested fields (``"order.customer"``), as
        :meth:`PeriodicWatermarkAssigner.json_field` reads them.

        Values become their text (numbers and booleans as written by JSON, objects as compact
        JSON). ``default_key`` also takes records that are not JSON objects; otherwise as
        :meth:`from_field`.
        """
        problems = field_generator_problems(path_problem(path), default_key, hash_long_keys)
        description = _described("json_field", path, default_key, hash_long_keys)
        return PartitionKeyGenerator(
            description,
            lambda jvm: own_class(jvm, _FIELD_KEYS, description).jsonPath(
                path, default_key, hash_long_keys
            ),
            problems,
        )

    @staticmethod
    def custom(java_class_name: str) -> PartitionKeyGenerator:
        """A Java ``PartitionKeyGenerator`` of your own, by class name (public no-arg
        constructor; add its jar with ``env.add_jars``).

        If it has a public ``initialize(int indexOfThisSubtask, int numberOfParallelSubtasks)``
        method, the sink calls it before the first record. The class is loaded at ``build()``;
        a class that is missing, is not a ``PartitionKeyGenerator`` or has no public no-arg
        constructor raises :class:`~pyflink_kinesis.KinesisConfigError` saying so.
        """
        setting = f"PartitionKeyGenerator.custom({java_class_name!r})"
        problem = java_class_problem(java_class_name)
        return PartitionKeyGenerator(
            f"custom({java_class_name!r})",
            lambda jvm: custom_java_object(
                jvm,
                java_class_name,
                f"{_SINK}.PartitionKeyGenerator",
                setting,
                "sink settings",
                "build()",
            ),
            [] if problem is None else [problem],
        )


def checked_schema(schema: object, problems: Problems) -> SerializationSchema | None:
    """``schema`` if it is a PyFlink ``SerializationSchema`` (or None, unset); else a problem."""
    if schema is None or isinstance(schema, SerializationSchema):
        return schema
    problems.add(
        "serialization_schema",
        f"expected a pyflink SerializationSchema (like SimpleStringSchema()), got "
        f"{type(schema).__name__}",
    )
    return None


def _described(name: str, field: object, default_key: object, hash_long_keys: object) -> str:
    arguments = [repr(field)]
    if default_key is not None:
        arguments.append(f"default_key={default_key!r}")
    if hash_long_keys is not False:
        arguments.append(f"hash_long_keys={hash_long_keys!r}")
    return f"{name}({', '.join(arguments)})"


class RecordSink(Sink, SupportsPreprocessing):  # type: ignore[misc]
    """A Java sink of the records of a stream, keyed or not, shown as its builder's settings.

    ``stream.key_by(f).sink_to(sink)`` writes the stream's records, each key through one sink
    subtask (PyFlink alone would hand the sink its internal ``Row(key, record)`` pairs).
    """

    def __init__(self, j_sink: Any, description: str) -> None:
        super().__init__(sink=j_sink)
        self._description = description

    def get_transformer(self) -> StreamTransformer:
        """What ``sink_to`` applies to the stream first: a keyed stream's records, unpaired."""
        return KeyedStreamValues()

    def __repr__(self) -> str:
        return self._description


class KinesisStreamsSink(RecordSink):
    """Writes a stream to Kinesis with batched PutRecords; at-least-once with checkpointing.

    Build it with :meth:`builder`. ``stream.key_by(f).sink_to(sink)`` writes the stream's
    records, each key through one sink subtask.
    """

    @staticmethod
    def builder() -> KinesisStreamsSinkBuilder:
        """A builder: set client properties, schema, key generator and stream name, then
        :meth:`~KinesisStreamsSinkBuilder.build`."""
        return KinesisStreamsSinkBuilder()


class KeyedStreamValues(StreamTransformer):  # type: ignore[misc]
    """A PyFlink ``KeyedStream`` carries ``Row(key, record)``; the sink must get the record."""

    def apply(self, ds: DataStream) -> DataStream:
        return ds._values() if isinstance(ds, KeyedStream) else ds


class KinesisStreamsSinkBuilder(AsyncSinkOptions):
    """Records the sink's settings; :meth:`build` validates them all at once.

    Required: client properties (``aws.region``), serialization schema, partition key generator,
    stream name. Optional, with the connector's defaults: fail_on_error False, max_batch_size
    500, max_in_flight_requests 50, max_buffered_requests 10000, max_batch_size_in_bytes 5 MiB,
    max_time_in_buffer_ms 5000, max_record_size_in_bytes 1 MiB. Ours, off by default:
    aggregation, keep_key_order, and the exactly-once delivery guarantee.
    """

    def __init__(self) -> None:
        # What the setters were given, checked only at build(): wrong types included.
        super().__init__()
        self._partition_key_generator: object = None
        self._stream_name: object = None

    def set_kinesis_client_properties(
        self, kinesis_client_properties: Mapping[str, object]
    ) -> KinesisStreamsSinkBuilder:
        """AWS client settings: ``aws.region`` (required), credentials, ``aws.endpoint``..."""
        return self._set_client_properties(kinesis_client_properties)

    def set_partition_key_generator(
        self, partition_key_generator: PartitionKeyGenerator
    ) -> KinesisStreamsSinkBuilder:
        """How each record's partition key is chosen (see :class:`PartitionKeyGenerator`)."""
        self._partition_key_generator = partition_key_generator
        return self

    def set_stream_name(self, stream_name: str) -> KinesisStreamsSinkBuilder:
        """The Kinesis stream to write to."""
        self._stream_name = stream_name
        return self

    def set_aggregation(
        self,
        enabled: bool = True,
        *,
        max_delay_ms: int | None = None,
        max_size_in_bytes: int | None = None,
    ) -> KinesisStreamsSinkBuilder:
        """Pack many records into each Kinesis record, in the KPL aggregation format.

        A shard takes 1,000 records/s: records far smaller than 1 KiB hit that limit long
        before its 1 MiB/s. Aggregation packs the records bound for one shard (by their
        partition keys and the stream's shard map) into aggregates of at most
        ``max_size_in_bytes`` (default and maximum 1 MiB), each handed to the sink's buffer once
        full or ``max_delay_ms`` (default 100) after its first record, and on every checkpoint:
        still at-least-once. ``FlinkKinesisConsumer``, the KCL and ``aws-kinesis-agg`` read the
        records back one by one. A key's records stay in the shard its key maps to, in order.
        See "KPL aggregation" in ``pyflink-kinesis docs sink``.
        """
        self._option("aggregation", enabled)
        if max_delay_ms is not None:
            self._option("aggregation_max_delay_ms", max_delay_ms)
        if max_size_in_bytes is not None:
            self._option("aggregation_max_size_in_bytes", max_size_in_bytes)
        return self

    def set_keep_key_order(self, enabled: bool = True) -> KinesisStreamsSinkBuilder:
        """Write each partition key's records in the order the sink received them.

        The connector's sink sends a record Kinesis rejected (throttling, a partial failure, a
        5xx) again behind later records of its key, and requests in flight together may land in
        any order. With this, a key's next record is sent only once the one before was
        acknowledged, and a rejected record goes again before it; other keys go on meanwhile, so
        a request holds at most one record per key. A record sent again may be stored twice
        (at-least-once); each record's first copy comes before every later record of its key.
        Works with :meth:`set_aggregation` and every other setting. See "Per-key order" in
        ``pyflink-kinesis docs sink``.
        """
        return self._option("keep_key_order", enabled)

    def set_delivery_guarantee(
        self,
        guarantee: str,
        *,
        max_buffered_bytes: int | None = None,
        commit_timeout_ms: int | None = None,
    ) -> KinesisStreamsSinkBuilder:
        """``'exactly-once'``: write each record once the checkpoint covering it completed,
        tagged with an id, so that a de-duplicating reader sees it exactly once.

        Each sink subtask holds the records between two checkpoints (at most
        ``max_buffered_bytes`` of data and keys, default 64 MiB, in checkpoint state; past half
        of it the writer slows its input down to stay under it) and, when the checkpoint
        completes, writes them in KPL aggregates, in order per shard, each record with its id
        as a KPL tag. After a failure, the records of completed checkpoints are written again
        with the same ids. Other readers
        (KCL, ``aws-kinesis-agg``, Lambda) see each record at least once, payload and key as
        written. Records arrive about one checkpoint interval late; needs checkpointing and
        ``kinesis:ListShards``. A commit retries throttled and failed writes for
        ``commit_timeout_ms`` (default 60000), then the job restores its last checkpoint and
        writes them again. Takes none of the other sink options. The default,
        ``'at-least-once'``, is the connector's sink. See "Exactly-once" in
        ``pyflink-kinesis docs sink``.
        """
        self._option("delivery_guarantee", guarantee)
        if max_buffered_bytes is not None:
            self._option("exactly_once_max_buffered_bytes", max_buffered_bytes)
        if commit_timeout_ms is not None:
            self._option("exactly_once_commit_timeout_ms", commit_timeout_ms)
        return self

    def build(self) -> KinesisStreamsSink:
        """Validate every setting (all problems in one KinesisConfigError), then create the sink."""
        problems = Problems("sink settings")
        schema, generator = self._checked_parts(problems)
        properties = with_endpoint_defaults(
            validate_sink(
                SinkSettings(
                    client_properties=self._client_properties,
                    stream_name=self._stream_name,
                    has_serialization_schema=self._serialization_schema is not None,
                    has_partition_key_generator=self._partition_key_generator is not None,
                    **self._options,
                ),
                problems,
            )
        )
        assert schema is not None and generator is not None
        gateway.use_json_protocol(properties)
        jvm = gateway.jvm()
        j_generator = generator._to_java()
        if self._options.get("delivery_guarantee") == EXACTLY_ONCE:
            return KinesisStreamsSink(self._exactly_once_sink(jvm, properties, schema, j_generator),
                                      repr(self))
        aggregated = self._options.get("aggregation") is True
        keep_key_order = self._options.get("keep_key_order") is True
        sink_class = (
            own_class(jvm, _AGGREGATING_SINK, "KinesisStreamsSinkBuilder.set_aggregation()")
            if aggregated
            else java_class(jvm, f"{_SINK}.KinesisStreamsSink")
        )
        j_builder = (
            sink_class.builder()
            .setKinesisClientProperties(java_properties(jvm, properties))
            .setSerializationSchema(schema._j_serialization_schema)
            .setPartitionKeyGenerator(j_generator)
            .setStreamName(self._stream_name)
        )
        setters = _JAVA_SETTERS if aggregated else JAVA_SETTERS
        for name, value in self._options.items():
            if name in setters:
                getattr(j_builder, setters[name])(value)
        j_sink = j_builder.build()
        # The aggregating and the key-ordered sinks tell the generator its subtask themselves.
        if keep_key_order and not aggregated:
            feature = "KinesisStreamsSinkBuilder.set_keep_key_order()"
            j_sink = own_class(jvm, _KEY_ORDERED_SINK, feature).of(j_sink)
        elif generator._subtask_aware and not aggregated:
            feature = f"PartitionKeyGenerator.{generator._description}"
            j_sink = own_class(jvm, _SUBTASK_SINK, feature)(j_sink, j_generator)
        return KinesisStreamsSink(j_sink, repr(self))

    def _exactly_once_sink(
        self, jvm: Any, properties: dict[str, str], schema: SerializationSchema, j_generator: Any
    ) -> Any:
        """The committing sink (which tells the generator its subtask itself)."""
        sink_class = own_class(
            jvm, _EXACTLY_ONCE_SINK, "KinesisStreamsSinkBuilder.set_delivery_guarantee()"
        )
        j_builder = (
            sink_class.builder()
            .setKinesisClientProperties(java_properties(jvm, properties))
            .setSerializationSchema(schema._j_serialization_schema)
            .setPartitionKeyGenerator(j_generator)
            .setStreamName(self._stream_name)
        )
        for name, setter in _EXACTLY_ONCE_SETTERS.items():
            if name in self._options:
                getattr(j_builder, setter)(self._options[name])
        return j_builder.build()

    def _checked_parts(
        self, problems: Problems
    ) -> tuple[SerializationSchema | None, PartitionKeyGenerator | None]:
        """The schema and generator if their types are right; a problem for each that is not."""
        schema = checked_schema(self._serialization_schema, problems)
        generator = self._partition_key_generator
        if generator is not None and not isinstance(generator, PartitionKeyGenerator):
            problems.add(
                _GENERATOR,
                f"expected a PartitionKeyGenerator (like PartitionKeyGenerator.from_field('id')), "
                f"got {type(generator).__name__}; to key by a Python function, map each record "
                f"to a Row of key and payload (see 'Partition keys' in "
                f"`pyflink-kinesis docs sink`)",
            )
            generator = None
        elif generator is not None:
            for problem in generator._problems:
                problems.add(_GENERATOR, f"{generator!r}: {problem}")
        return schema, generator

    def __repr__(self) -> str:
        first = [f"stream_name={self._stream_name!r}"]
        if self._partition_key_generator is not None:
            first.append(f"partition_key_generator={self._partition_key_generator!r}")
        return self._settings_repr("KinesisStreamsSink", *first)


#: The aggregating sink's builder takes the async sink's setters and these.
_JAVA_SETTERS = {
    **JAVA_SETTERS,
    "aggregation_max_delay_ms": "setMaxAggregateDelayMS",
    "aggregation_max_size_in_bytes": "setMaxAggregateSizeInBytes",
    "keep_key_order": "setKeepKeyOrder",
}

#: The committing sink's builder takes these.
_EXACTLY_ONCE_SETTERS = {
    "exactly_once_max_buffered_bytes": "setMaxBufferedBytes",
    "exactly_once_commit_timeout_ms": "setCommitTimeoutMS",
}
