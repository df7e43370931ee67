"""A bounded job whose writers take their credentials from the process environment
(test_credentials), run as ``python -m tests.e2e.credentials_job REGION COUNT SINK...``.

Each SINK is ``KIND:PROVIDER=ENDPOINT=STREAM``: a writer of KIND (``kinesis``: a
KinesisStreamsSink; ``firehose``: a KinesisFirehoseSink, to a delivery stream; ``table``: an
SQL ``kinesis`` table the job inserts into) with ``aws.credentials.provider`` PROVIDER and no
other credential key, writing COUNT newline-terminated records to STREAM at ENDPOINT. The
process needs the "firehose" jars (``PYFLINK_KINESIS_EXTRAS=firehose``) for a firehose SINK.
It runs in its own process because ``ENV_VAR``, ``AUTO`` and ``PROFILE`` without a path read the
environment the JVM was started with, which a test's own JVM cannot change.
"""

from __future__ import annotations

import sys

from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from pyflink_kinesis import KinesisFirehoseSink
from pyflink_kinesis.table import create_table_ddl
from tests.e2e.jobs import string_sink


def run(region: str, count: int, sinks: list[str]) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env)
    records = env.from_collection([f"record-{i}\n" for i in range(count)], Types.STRING())
    inserts = t_env.create_statement_set()
    tables = 0
    for sink in sinks:
        kind, _, spec = sink.partition(":")
        provider, endpoint, stream = spec.split("=")
        config: dict[str, object] = {"aws.region": region, "aws.endpoint": endpoint,
                  "aws.credentials.provider": provider}
        if kind == "table":
            tables += 1
            table = f"out{tables}"
            t_env.execute_sql(create_table_ddl(table, "payload STRING", stream, config, "raw"))
            inserts.add_insert(table, t_env.from_data_stream(records).alias("payload"))
        else:
            write(records, kind, config, stream)
    if tables:
        inserts.attach_as_datastream()
    env.execute("credentials from the environment")


def write(records: DataStream, kind: str, config: dict[str, object], stream: str) -> None:
    if kind == "kinesis":
        records.sink_to(string_sink(config, stream))
        return
    records.sink_to(
        KinesisFirehoseSink.builder()
        .set_firehose_client_properties(config)
        .set_serialization_schema(SimpleStringSchema())
        .set_delivery_stream_name(stream)
        .set_max_time_in_buffer_ms(100)
        .build()
    )


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
