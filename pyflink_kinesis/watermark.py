"""Event time: ready-made watermark assigners and alignment for the consumer, and timestamps
taken in the JVM for ``KinesisStreamsSource`` (``env.from_source``)."""

from __future__ import annotations

from pyflink.common import WatermarkStrategy

from pyflink_kinesis import gateway
from pyflink_kinesis._java import JavaRecipe, java_class, own_class

_TRACKER = "org.apache.flink.streaming.connectors.kinesis.util.JobManagerWatermarkTracker"
_ARRIVAL_TIME = "io.pyflinkkinesis.ArrivalTimeWatermarks"
_JSON_FIELD = "io.pyflinkkinesis.JsonFieldWatermarks"
_FIELD_TIMESTAMPS = "io.pyflinkkinesis.FieldTimestampAssigner"
_UNITS = ("millis", "seconds")


class PeriodicWatermarkAssigner(JavaRecipe):
    """Ready-made per-shard timestamp and watermark assigners for
    ``FlinkKinesisConsumer.set_periodic_watermark_assigner``, no Java needed.

    Both emit bounded out-of-orderness watermarks: ``highest timestamp seen - bound - 1`` per
    shard (as Flink's ``WatermarkStrategy.for_bounded_out_of_orderness``); the source emits the
    minimum over its shards, so a shard without records holds the watermark back unless
    ``flink.shard.idle.interval`` is set.
    """

    needs_metadata = False

    @staticmethod
    def arrival_time(max_out_of_orderness_ms: int = 0) -> PeriodicWatermarkAssigner:
        """Event time = approximate arrival timestamp (when Kinesis stored the record).

        The consumer must read with ``KinesisDeserializationSchema.with_metadata(...)``: the
        connector hands a periodic assigner only the previous record's timestamp, so the
        arrival time has to come from the record (its ``approximate_arrival_timestamp`` field).
        ``set_periodic_watermark_assigner`` checks this.
        """
        bound = _bound(max_out_of_orderness_ms)
        assigner = PeriodicWatermarkAssigner(
            f"arrival_time({bound})",
            lambda jvm: own_class(jvm, _ARRIVAL_TIME, "PeriodicWatermarkAssigner.arrival_time()")(
                bound
            ),
        )
        assigner.needs_metadata = True
        return assigner

    @staticmethod
    def json_field(
        field: str, max_out_of_orderness_ms: int = 0, unit: str = "millis"
    ) -> PeriodicWatermarkAssigner:
        """Event time from a field of each record.

        The record may be JSON text (``SimpleStringSchema``), a Row with named fields or a map;
        ``field`` may be a dotted path (``"meta.ts"``). The value is epoch milliseconds, epoch
        seconds with ``unit="seconds"`` (fractions allowed), or an ISO-8601 string (UTC when
        it has no offset). A record without a readable timestamp fails the job with an error
        naming the field.
        """
        _check_field(field, unit)
        bound = _bound(max_out_of_orderness_ms)
        return PeriodicWatermarkAssigner(
            f"json_field({field!r}, {bound}, {unit!r})",
            lambda jvm: own_class(jvm, _JSON_FIELD, "PeriodicWatermarkAssigner.json_field()")(
                field, bound, unit
            ),
        )


def with_field_timestamps(
    strategy: WatermarkStrategy, field: str, unit: str = "millis"
) -> WatermarkStrategy:
    """``strategy`` with event time read from a field of each record, in the JVM.

    For ``env.from_source(KinesisStreamsSource..., strategy, ...)``: PyFlink 1.20's
    ``from_source`` ignores a Python ``with_timestamp_assigner`` (it keeps the source's own
    timestamp, Kinesis' arrival time), so the timestamp must be taken by a Java assigner. The
    record may be JSON text (``SimpleStringSchema``), a Row with named fields or a map; ``field``
    may be a dotted path (``"meta.ts"``); the value is epoch milliseconds, epoch seconds with
    ``unit="seconds"`` (fractions allowed), or an ISO-8601 string (UTC when it has no offset). A
    record without a readable timestamp fails the job with an error naming the field.

    Keep chaining PyFlink's methods on the result (``with_idleness``,
    ``with_watermark_alignment``); it also works with ``assign_timestamps_and_watermarks``.
    """
    if not isinstance(strategy, WatermarkStrategy):
        raise TypeError(
            "strategy must be a pyflink.common.WatermarkStrategy, e.g. "
            f"WatermarkStrategy.for_monotonous_timestamps(), not {type(strategy).__name__}"
        )
    if has_python_timestamp_assigner(strategy):
        raise ValueError(
            "strategy already has a Python timestamp assigner (with_timestamp_assigner); "
            "env.from_source would ignore it. Pass the strategy without it."
        )
    _check_field(field, unit)
    jvm = gateway.jvm()
    assigner = own_class(jvm, _FIELD_TIMESTAMPS, "with_field_timestamps()")(field, unit)
    return WatermarkStrategy(strategy._j_watermark_strategy.withTimestampAssigner(assigner))


def has_python_timestamp_assigner(strategy: object) -> bool:
    """Whether ``strategy`` carries a Python ``with_timestamp_assigner``, which PyFlink keeps on
    the Python side only (``env.from_source`` never sees it)."""
    return getattr(strategy, "_timestamp_assigner", None) is not None


def _check_field(field: object, unit: object) -> None:
    if not isinstance(field, str) or not field.strip(". "):
        raise ValueError(f"field must name a field of the records, e.g. 'ts', not {field!r}")
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {', '.join(_UNITS)}, not {unit!r}")


def _bound(max_out_of_orderness_ms: object) -> int:
    if (
        not isinstance(max_out_of_orderness_ms, int)
        or isinstance(max_out_of_orderness_ms, bool)
        or max_out_of_orderness_ms < 0
    ):
        raise ValueError(
            "max_out_of_orderness_ms must be a whole number of milliseconds >= 0, not "
            f"{max_out_of_orderness_ms!r}"
        )
    return max_out_of_orderness_ms


class WatermarkTracker(JavaRecipe):
    """Aggregates watermarks across subtasks so that they stay within a lookahead of each other.

    Tune it with the consumer keys ``flink.watermark.lookahead.millis``,
    ``flink.watermark.sync.interval`` and ``flink.watermark.sync.queue.capacity``.
    """

    @staticmethod
    def job_manager_watermark_tracker(
        aggregate_name: str, log_accumulator_interval_millis: int = -1
    ) -> WatermarkTracker:
        """A tracker that aggregates through the JobManager under ``aggregate_name``.

        ``log_accumulator_interval_millis`` logs the global state at that interval (-1: never).
        """
        if not aggregate_name:
            raise ValueError("aggregate_name must be a non-empty string")
        return WatermarkTracker(
            f"job_manager_watermark_tracker({aggregate_name!r})",
            lambda jvm: java_class(jvm, _TRACKER)(aggregate_name, log_accumulator_interval_millis),
        )
