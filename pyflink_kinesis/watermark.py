"""Event-time alignment across the consumer's subtasks."""

from __future__ import annotations

from pyflink_kinesis._java import JavaRecipe, java_class

_TRACKER = "org.apache.flink.streaming.connectors.kinesis.util.JobManagerWatermarkTracker"


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
