"""``KinesisFirehoseSink``: the at-least-once Amazon Data Firehose sink for ``stream.sink_to(...)``.

The connector's ``flink-connector-aws-kinesis-firehose`` behind PyFlink's builder vocabulary.
Its jars are the optional "firehose" set (``jars/manifest.toml``), loaded when a sink is built.
``pyflink-kinesis docs firehose`` has the details.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

from pyflink_kinesis import gateway
from pyflink_kinesis._async_sink import JAVA_SETTERS, AsyncSinkOptions
from pyflink_kinesis._java import java_class, java_properties
from pyflink_kinesis.config.endpoint import with_endpoint_defaults
from pyflink_kinesis.config.firehose import (
    FirehoseSinkSettings,
    validate_firehose_sink,
    within_limits,
)
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.jars import KINESIS_JAR_PREFIX
from pyflink_kinesis.sink import RecordSink, checked_schema

__all__ = [
    "FirehoseClassPathWarning",
    "FirehoseLimitWarning",
    "KinesisFirehoseSink",
    "KinesisFirehoseSinkBuilder",
]

EXTRA = "firehose"
_SINK = "org.apache.flink.connector.firehose.sink.KinesisFirehoseSink"
# The aws-base class the Kinesis jar also carries, compiled against its shaded SDK.
_CLASSIFIER_UTIL = "org.apache.flink.connector.aws.sink.throwable.AWSExceptionClassifierUtil"


class FirehoseLimitWarning(UserWarning):
    """A builder setting was above Firehose's PutRecordBatch limits; the limit is used."""


class FirehoseClassPathWarning(UserWarning):
    """This JVM loads the Kinesis jar's copy of an aws-base class the Firehose sink needs."""


class KinesisFirehoseSink(RecordSink):
    """Writes a stream to an Amazon Data Firehose delivery stream with batched PutRecordBatch;
    at-least-once with checkpointing.

    Build it with :meth:`builder`. Each record becomes one Firehose record, its bytes exactly
    as the serialization schema made them: Firehose adds no delimiter, so add one (a newline)
    if the destination should be split into records again.
    """

    @staticmethod
    def builder() -> KinesisFirehoseSinkBuilder:
        """A builder: set client properties, schema and delivery stream name, then
        :meth:`~KinesisFirehoseSinkBuilder.build`."""
        return KinesisFirehoseSinkBuilder()


class KinesisFirehoseSinkBuilder(AsyncSinkOptions):
    """Records the sink's settings; :meth:`build` validates them all at once.

    Required: client properties (``aws.region``), serialization schema, delivery stream name.
    Optional, with the connector's defaults: fail_on_error False, max_batch_size 500,
    max_in_flight_requests 50, max_buffered_requests 10000, max_batch_size_in_bytes 4 MiB,
    max_time_in_buffer_ms 5000, max_record_size_in_bytes 1,000 KiB. The last three are also
    Firehose's PutRecordBatch limits: a larger value (PyFlink's examples set 5 MiB and 1 MiB)
    is lowered to the limit at :meth:`build`, with a :class:`FirehoseLimitWarning`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._delivery_stream_name: object = None
        gateway.want_extra(EXTRA)  # a JVM started after this starts with the jars

    def set_firehose_client_properties(
        self, firehose_client_properties: Mapping[str, object]
    ) -> KinesisFirehoseSinkBuilder:
        """AWS client settings: ``aws.region`` (required), credentials, ``aws.endpoint``..."""
        return self._set_client_properties(firehose_client_properties)

    def set_delivery_stream_name(self, delivery_stream_name: str) -> KinesisFirehoseSinkBuilder:
        """The Firehose delivery stream to write to."""
        self._delivery_stream_name = delivery_stream_name
        return self

    def build(self) -> KinesisFirehoseSink:
        """Validate every setting (all problems in one KinesisConfigError), then create the sink.

        Raises :class:`~pyflink_kinesis.JarResolutionError` if the "firehose" jars cannot be
        had; warns with :class:`FirehoseClassPathWarning` when this JVM cannot run the sink's
        error handling (see "Class path" in ``pyflink-kinesis docs firehose``).
        """
        problems = Problems("Firehose sink settings")
        schema = checked_schema(self._serialization_schema, problems)
        options, notes = within_limits(self._options)
        properties = with_endpoint_defaults(
            validate_firehose_sink(
                FirehoseSinkSettings(
                    client_properties=self._client_properties,
                    delivery_stream_name=self._delivery_stream_name,
                    has_serialization_schema=self._serialization_schema is not None,
                    **options,  # type: ignore[arg-type]
                ),
                problems,
            )
        )
        for note in notes:
            warnings.warn(f"KinesisFirehoseSink: {note}", FirehoseLimitWarning, stacklevel=2)
        assert schema is not None
        gateway.use_json_protocol(properties)
        jvm = gateway.require_extra(EXTRA)
        warn_if_kinesis_copy_loads(jvm)
        j_builder = (
            java_class(jvm, _SINK)
            .builder()
            .setFirehoseClientProperties(java_properties(jvm, properties))
            .setSerializationSchema(schema._j_serialization_schema)
            .setDeliveryStreamName(self._delivery_stream_name)
        )
        for name, value in options.items():
            getattr(j_builder, JAVA_SETTERS[name])(value)
        return KinesisFirehoseSink(j_builder.build(), repr(self))

    def __repr__(self) -> str:
        return self._settings_repr(
            "KinesisFirehoseSink", f"delivery_stream_name={self._delivery_stream_name!r}"
        )


def kinesis_copy_location(jvm: Any) -> str | None:
    """Where this JVM loads ``AWSExceptionClassifierUtil`` from when that is the Kinesis jar's
    copy (compiled against its shaded SDK), else None."""
    loader = jvm.Thread.currentThread().getContextClassLoader()
    source = jvm.Class.forName(_CLASSIFIER_UTIL, False, loader).getProtectionDomain()
    code_source = source.getCodeSource()
    location = str(code_source.getLocation()) if code_source is not None else ""
    return location if f"/{KINESIS_JAR_PREFIX}" in location else None


def warn_if_kinesis_copy_loads(jvm: Any, stacklevel: int = 3) -> None:
    """Warn when the sink's error handling would meet the Kinesis jar's aws-base classes;
    ``stacklevel`` as ``warnings.warn`` takes it, counted from the caller of this function."""
    location = kinesis_copy_location(jvm)
    if location is None:
        return
    warnings.warn(
        "this JVM started without the 'firehose' jars and loads AWSExceptionClassifierUtil "
        f"from {location}, compiled against that jar's shaded AWS SDK: a job of this JVM's "
        "local cluster cannot classify Firehose service errors (throttling, 5xx) and its sink "
        "stops making progress at the first one. Start the JVM with the jars: set "
        "PYFLINK_KINESIS_EXTRAS=firehose in the environment, or call "
        "KinesisFirehoseSink.builder() before the first StreamExecutionEnvironment or "
        "TableEnvironment is created. Jobs sent to a cluster get the jars in the right order.",
        FirehoseClassPathWarning,
        stacklevel=stacklevel + 1,
    )
