"""The settings every Flink async sink builder takes (``AsyncSinkBaseBuilder``), recorded for
``build()``: shared by ``KinesisStreamsSinkBuilder`` and ``KinesisFirehoseSinkBuilder``."""

from __future__ import annotations

from typing import Any, Mapping, TypeVar

from pyflink.common import SerializationSchema

from pyflink_kinesis.config.secrets import mask_secrets

B = TypeVar("B", bound="AsyncSinkOptions")

#: Each recorded option's setter on the Java builder.
JAVA_SETTERS = {
    "fail_on_error": "setFailOnError",
    "max_batch_size": "setMaxBatchSize",
    "max_in_flight_requests": "setMaxInFlightRequests",
    "max_buffered_requests": "setMaxBufferedRequests",
    "max_batch_size_in_bytes": "setMaxBatchSizeInBytes",
    "max_time_in_buffer_ms": "setMaxTimeInBufferMS",
    "max_record_size_in_bytes": "setMaxRecordSizeInBytes",
}


class AsyncSinkOptions:
    """Setters that record what they are given (the client properties, the serialization
    schema, an option each in ``self._options``); ``build()`` checks them all (limits per
    service: ``SINK_OPTIONS``, ``FIREHOSE_OPTIONS``)."""

    def __init__(self) -> None:
        # What the setters were given, checked only at build(): wrong types included.
        self._client_properties: object = None
        self._serialization_schema: object = None
        self._options: dict[str, Any] = {}

    def set_serialization_schema(self: B, serialization_schema: SerializationSchema) -> B:
        """How a record becomes the bytes the service stores (e.g. ``SimpleStringSchema()``)."""
        self._serialization_schema = serialization_schema
        return self

    def _set_client_properties(self: B, properties: Mapping[str, object]) -> B:
        self._client_properties = (
            dict(properties) if isinstance(properties, Mapping) else properties
        )
        return self

    def _settings_repr(self, name: str, *first: str) -> str:
        """``name(first..., client_properties=<masked>, option=value...)``."""
        properties = self._client_properties
        client = (
            mask_secrets(properties or {})
            if properties is None or isinstance(properties, Mapping)
            else f"<{type(properties).__name__}>"
        )
        options = [f"{option}={value!r}" for option, value in self._options.items()]
        return f"{name}({', '.join([*first, f'client_properties={client!r}', *options])})"

    def set_fail_on_error(self: B, fail_on_error: bool) -> B:
        """True: a failed write request or entry fails the job. False (default): it is retried."""
        return self._option("fail_on_error", fail_on_error)

    def set_max_batch_size(self: B, max_batch_size: int) -> B:
        """Records per write request (1..500, default 500)."""
        return self._option("max_batch_size", max_batch_size)

    def set_max_in_flight_requests(self: B, max_in_flight_requests: int) -> B:
        """Concurrent write requests per subtask before writes block (default 50)."""
        return self._option("max_in_flight_requests", max_in_flight_requests)

    def set_max_buffered_requests(self: B, max_buffered_requests: int) -> B:
        """Records buffered per subtask before writes block (backpressure; default 10000)."""
        return self._option("max_buffered_requests", max_buffered_requests)

    def set_max_batch_size_in_bytes(self: B, max_batch_size_in_bytes: int) -> B:
        """Bytes per write request (at most, and by default, the service's limit: 5 MiB for
        Kinesis PutRecords, 4 MiB for Firehose PutRecordBatch)."""
        return self._option("max_batch_size_in_bytes", max_batch_size_in_bytes)

    def set_max_time_in_buffer_ms(self: B, max_time_in_buffer_ms: int) -> B:
        """Longest a record waits in the buffer before a flush, in ms (default 5000)."""
        return self._option("max_time_in_buffer_ms", max_time_in_buffer_ms)

    def set_max_record_size_in_bytes(self: B, max_record_size_in_bytes: int) -> B:
        """Largest record accepted, in bytes (at most, and by default, the service's limit:
        1 MiB for Kinesis, 1,000 KiB for Firehose); larger ones fail the job."""
        return self._option("max_record_size_in_bytes", max_record_size_in_bytes)

    def _option(self: B, name: str, value: Any) -> B:
        self._options[name] = value
        return self
