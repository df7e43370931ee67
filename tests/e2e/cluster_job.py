"""The job tests/e2e/test_standalone_cluster.py submits with ``flink run --python``.

Usage: cluster_job.py ENDPOINT SOURCE_STREAM OUTPUT_STREAM. Reads SOURCE_STREAM from
TRIM_HORIZON and writes each record, prefixed ``clustered:``, to OUTPUT_STREAM. No add_jars.
"""

from __future__ import annotations

import sys

from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator


def main(endpoint: str, source: str, out: str) -> None:
    aws = {
        "aws.region": "us-east-1",
        "aws.endpoint": endpoint,
        "aws.credentials.provider.basic.accesskeyid": "cluster-access-key",
        "aws.credentials.provider.basic.secretkey": "cluster-secret-key",
    }
    env = StreamExecutionEnvironment.get_execution_environment()
    consumer = FlinkKinesisConsumer(
        source, SimpleStringSchema(), {**aws, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.random())
        .set_stream_name(out)
        .set_max_time_in_buffer_ms(100)
        .build()
    )
    env.add_source(consumer).map(lambda s: f"clustered:{s}", output_type=Types.STRING()).sink_to(
        sink
    )
    env.execute("cluster job")


if __name__ == "__main__":
    main(*sys.argv[1:4])
