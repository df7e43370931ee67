"""Record metadata in Python: ``KinesisDeserializationSchema.with_metadata`` in real jobs.

Each record's stream, shard, partition key, sequence number and arrival time, as the job saw
them, must equal what boto3 reports for the same record; so must the record's Flink timestamp
(the connector's default event time is the arrival time).
"""

from __future__ import annotations

import json
from typing import Iterator

from pyflink.common import Row, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.functions import ProcessFunction

from pyflink_kinesis import METADATA_FIELDS, FlinkKinesisConsumer, KinesisDeserializationSchema
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis
from tests.e2e.jobs import start, string_sink
from tests.support.kinesis_fixtures import MakeStream as StreamFactory

TIMEOUT_S = 120.0


def arrival_ms(record: KinesisRecord) -> int:
    return round(record.approximate_arrival_timestamp.timestamp() * 1000)


class AsJson(ProcessFunction):  # type: ignore[misc]
    """The metadata Row as JSON, with the record's Flink timestamp added as ``timestamp``."""

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[str]:
        yield json.dumps({**row.as_dict(), "timestamp": ctx.timestamp()}, sort_keys=True)


def test_each_record_carries_its_own_metadata(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(3), stream_factory(1)
    payloads = [f"payload-{i}" for i in range(150)]
    local_kinesis.put_records(source, payloads, [f"key-{i % 11}" for i in range(150)])
    written = {r.text: r for r in local_kinesis.read_all(source)}
    assert len({r.shard_id for r in written.values()}) == 3

    consumer = FlinkKinesisConsumer(
        source,
        KinesisDeserializationSchema.with_metadata(SimpleStringSchema()),
        {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"},
    )
    env.add_source(consumer).process(AsJson(), output_type=Types.STRING()).sink_to(
        string_sink(aws_config, out)
    )
    job = start(env, "metadata")
    try:
        job.wait_for(
            lambda: len(local_kinesis.read_all(out)) >= len(payloads) or None,
            TIMEOUT_S,
            f"{len(payloads)} records in {out}",
        )
    finally:
        job.cancel()

    seen = [json.loads(r.text) for r in local_kinesis.read_all(out)]
    assert sorted(seen[0]) == sorted([*METADATA_FIELDS, "timestamp"])
    assert sorted(row["payload"] for row in seen) == sorted(payloads)
    for row in seen:
        original = written[row["payload"]]
        assert row == {
            "payload": original.text,
            "stream": source,
            "shard_id": original.shard_id,
            "partition_key": original.partition_key,
            "sequence_number": original.sequence_number,
            "approximate_arrival_timestamp": arrival_ms(original),
            "timestamp": arrival_ms(original),  # without an assigner: the arrival time
        }
