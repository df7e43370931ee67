"""``KinesisStreamsSink``: the at-least-once Kinesis sink for ``stream.sink_to(...)``."""

from __future__ import annotations

from typing import Any, Mapping

from pyflink.common import SerializationSchema
from pyflink.datastream.connectors import Sink

from pyflink_kinesis import gateway
from pyflink_kinesis._java import JavaRecipe, java_class, java_properties
from pyflink_kinesis.config import SinkSettings, mask_secrets, validate_sink
from pyflink_kinesis.config.endpoint import with_endpoint_defaults

_TABLE = "org.apache.flink.connector.kinesis.table"


class PartitionKeyGenerator(JavaRecipe):
    """Chooses each record's Kinesis partition key, and so its shard."""

    @staticmethod
    def fixed() -> PartitionKeyGenerator:
        """A fixed key per sink subtask, meant to be its index ("0", "1", ...).

        With connector 4.3.0 the DataStream sink never tells the generator its subtask index,
        so every record gets the key "0": all records go to one shard. Use :meth:`random` to
        spread the load.
        """
        return PartitionKeyGenerator(
            "fixed()", lambda jvm: java_class(jvm, f"{_TABLE}.FixedKinesisPartitionKeyGenerator")()
        )

    @staticmethod
    def random() -> PartitionKeyGenerator:
        """A random UUID per record: records spread over all shards."""
        return PartitionKeyGenerator(
            "random()",
            lambda jvm: java_class(jvm, f"{_TABLE}.RandomKinesisPartitionKeyGenerator")(),
        )


class KinesisStreamsSink(Sink):  # type: ignore[misc]
    """Writes a stream to Kinesis with batched PutRecords; at-least-once with checkpointing.

    Build it with :meth:`builder`.
    """

    def __init__(self, j_kinesis_streams_sink: Any, description: str) -> None:
        super().__init__(sink=j_kinesis_streams_sink)
        self._description = description

    @staticmethod
    def builder() -> KinesisStreamsSinkBuilder:
        """A builder: set client properties, schema, key generator and stream name, then
        :meth:`~KinesisStreamsSinkBuilder.build`."""
        return KinesisStreamsSinkBuilder()

    def __repr__(self) -> str:
        return self._description


class KinesisStreamsSinkBuilder:
    """Records the sink's settings; :meth:`build` validates them all at once.

    Required: client properties (``aws.region``), serialization schema, partition key generator,
    stream name. Optional, with the connector's defaults: fail_on_error False, max_batch_size
    500, max_in_flight_requests 50, max_buffered_requests 10000, max_batch_size_in_bytes 5 MiB,
    max_time_in_buffer_ms 5000, max_record_size_in_bytes 1 MiB.
    """

    def __init__(self) -> None:
        self._client_properties: Mapping[str, object] | None = None
        self._serialization_schema: SerializationSchema | None = None
        self._partition_key_generator: PartitionKeyGenerator | None = None
        self._stream_name: str | None = None
        self._options: dict[str, Any] = {}

    def set_kinesis_client_properties(
        self, kinesis_client_properties: Mapping[str, object]
    ) -> KinesisStreamsSinkBuilder:
        """AWS client settings: ``aws.region`` (required), credentials, ``aws.endpoint``..."""
        self._client_properties = dict(kinesis_client_properties)
        return self

    def set_serialization_schema(
        self, serialization_schema: SerializationSchema
    ) -> KinesisStreamsSinkBuilder:
        """How a record becomes the bytes of a Kinesis record (e.g. ``SimpleStringSchema()``)."""
        self._serialization_schema = serialization_schema
        return self

    def set_partition_key_generator(
        self, partition_key_generator: PartitionKeyGenerator
    ) -> KinesisStreamsSinkBuilder:
        """How each record's partition key is chosen."""
        self._partition_key_generator = partition_key_generator
        return self

    def set_stream_name(self, stream_name: str) -> KinesisStreamsSinkBuilder:
        """The Kinesis stream to write to."""
        self._stream_name = stream_name
        return self

    def set_fail_on_error(self, fail_on_error: bool) -> KinesisStreamsSinkBuilder:
        """True: a failed PutRecords entry fails the job. False (default): it is retried."""
        return self._option("fail_on_error", fail_on_error)

    def set_max_batch_size(self, max_batch_size: int) -> KinesisStreamsSinkBuilder:
        """Records per PutRecords call (1..500, default 500)."""
        return self._option("max_batch_size", max_batch_size)

    def set_max_in_flight_requests(self, max_in_flight_requests: int) -> KinesisStreamsSinkBuilder:
        """Concurrent PutRecords calls per subtask before writes block (default 50)."""
        return self._option("max_in_flight_requests", max_in_flight_requests)

    def set_max_buffered_requests(self, max_buffered_requests: int) -> KinesisStreamsSinkBuilder:
        """Records buffered per subtask before writes block (backpressure; default 10000)."""
        return self._option("max_buffered_requests", max_buffered_requests)

    def set_max_batch_size_in_bytes(
        self, max_batch_size_in_bytes: int
    ) -> KinesisStreamsSinkBuilder:
        """Bytes per PutRecords call (at most 5 MiB, the default)."""
        return self._option("max_batch_size_in_bytes", max_batch_size_in_bytes)

    def set_max_time_in_buffer_ms(self, max_time_in_buffer_ms: int) -> KinesisStreamsSinkBuilder:
        """Longest a record waits in the buffer before a flush, in ms (default 5000)."""
        return self._option("max_time_in_buffer_ms", max_time_in_buffer_ms)

    def set_max_record_size_in_bytes(
        self, max_record_size_in_bytes: int
    ) -> KinesisStreamsSinkBuilder:
        """Largest record accepted, in bytes (at most 1 MiB, the default); larger ones fail."""
        return self._option("max_record_size_in_bytes", max_record_size_in_bytes)

    def _option(self, name: str, value: Any) -> KinesisStreamsSinkBuilder:
        self._options[name] = value
        return self

    def build(self) -> KinesisStreamsSink:
        """Validate every setting (all problems in one KinesisConfigError), then create the sink."""
        properties = with_endpoint_defaults(validate_sink(
            SinkSettings(
                client_properties=self._client_properties,
                stream_name=self._stream_name,
                has_serialization_schema=self._serialization_schema is not None,
                has_partition_key_generator=self._partition_key_generator is not None,
                **self._options,
            )
        ))
        assert self._serialization_schema is not None and self._partition_key_generator
        gateway.use_json_protocol(properties)
        jvm = gateway.jvm()
        builder = java_class(jvm, "org.apache.flink.connector.kinesis.sink.KinesisStreamsSink")
        j_builder = (
            builder.builder()
            .setKinesisClientProperties(java_properties(jvm, properties))
            .setSerializationSchema(self._serialization_schema._j_serialization_schema)
            .setPartitionKeyGenerator(self._partition_key_generator._to_java())
            .setStreamName(self._stream_name)
        )
        for name, value in self._options.items():
            getattr(j_builder, _JAVA_SETTERS[name])(value)
        return KinesisStreamsSink(j_builder.build(), repr(self))

    def __repr__(self) -> str:
        client = mask_secrets(self._client_properties or {})
        parts = [f"stream_name={self._stream_name!r}", f"client_properties={client!r}"]
        parts += [f"{name}={value!r}" for name, value in self._options.items()]
        return f"KinesisStreamsSink({', '.join(parts)})"


_JAVA_SETTERS = {
    "fail_on_error": "setFailOnError",
    "max_batch_size": "setMaxBatchSize",
    "max_in_flight_requests": "setMaxInFlightRequests",
    "max_buffered_requests": "setMaxBufferedRequests",
    "max_batch_size_in_bytes": "setMaxBatchSizeInBytes",
    "max_time_in_buffer_ms": "setMaxTimeInBufferMS",
    "max_record_size_in_bytes": "setMaxRecordSizeInBytes",
}
