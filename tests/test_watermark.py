"""with_field_timestamps: our Java timestamp assigner inside a PyFlink WatermarkStrategy."""

from __future__ import annotations

from typing import Any

import pytest
from pyflink.common import Duration, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import with_field_timestamps
from pyflink_kinesis.migrate import MigratedSources


class PythonAssigner(TimestampAssigner):  # type: ignore[misc]
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return 0


def test_the_strategy_takes_the_timestamp_from_the_field_in_the_jvm() -> None:
    strategy = with_field_timestamps(
        WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(500)),
        "meta.ts", unit="seconds",
    ).with_idleness(Duration.of_seconds(1))

    assigner = strategy._j_watermark_strategy.createTimestampAssigner(None)
    # 99 is the source's own timestamp (Kinesis' arrival time): replaced by the field's.
    assert assigner.extractTimestamp('{"meta": {"ts": 1.25}}', 99) == 1250


@pytest.mark.parametrize(
    ("strategy", "field", "unit", "error", "message"),
    [
        ("not a strategy", "ts", "millis", TypeError, "WatermarkStrategy"),
        (None, "", "millis", ValueError, "must name a field"),
        (None, "ts", "hours", ValueError, "unit must be one of millis, seconds"),
    ],
)
def test_bad_arguments_are_refused_before_the_jvm(
    strategy: object, field: str, unit: str, error: type[Exception], message: str
) -> None:
    given = WatermarkStrategy.for_monotonous_timestamps() if strategy is None else strategy
    with pytest.raises(error, match=message):
        with_field_timestamps(given, field, unit)


def test_a_python_timestamp_assigner_is_refused_as_from_source_would_ignore_it() -> None:
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
        PythonAssigner()
    )
    with pytest.raises(ValueError, match="Python timestamp assigner"):
        with_field_timestamps(strategy, "ts")
    migrated = MigratedSources(sources={}, migration=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="with_field_timestamps"):
        migrated.data_stream(StreamExecutionEnvironment.get_execution_environment(), strategy)
