"""A job run by a Python that installed pyflink-kinesis from a wheel or an sdist (test_install).

    python installed_job.py ENDPOINT SOURCE OUT COUNT [--without-our-jar]

Copies COUNT JSON records from SOURCE to OUT: with our classes (``with_metadata``, keyed by
the record's ``customer`` with ``json_field``), or, with ``--without-our-jar``, with the
connector's alone (``SimpleStringSchema``, ``random()``) after checking that a feature needing
our jar says so. Prints one JSON line: where pyflink_kinesis came from and what happened.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

import boto3
from pyflink.common import Configuration, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

import pyflink_kinesis
from pyflink_kinesis import (
    FlinkKinesisConsumer,
    JarResolutionError,
    KinesisDeserializationSchema,
    KinesisStreamsSink,
    PartitionKeyGenerator,
)

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient


def main(endpoint: str, source: str, out: str, count: int, without_our_jar: bool) -> None:
    config = {"aws.region": "us-east-1", "aws.endpoint": endpoint,
              "aws.credentials.provider.basic.accesskeyid": "k",
              "aws.credentials.provider.basic.secretkey": "s"}
    report: dict[str, object] = {"package": pyflink_kinesis.__file__}
    flink_config = Configuration()
    flink_config.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(flink_config)
    env.set_parallelism(2)
    reading = {**config, "flink.stream.initpos": "TRIM_HORIZON"}
    if without_our_jar:
        try:
            KinesisDeserializationSchema.with_metadata(SimpleStringSchema())
        except JarResolutionError as exc:
            report["missing_jar_error"] = str(exc)
        stream = env.add_source(FlinkKinesisConsumer(source, SimpleStringSchema(), reading))
        keys = PartitionKeyGenerator.random()
    else:
        schema = KinesisDeserializationSchema.with_metadata(SimpleStringSchema())
        stream = env.add_source(FlinkKinesisConsumer(source, schema, reading)).map(
            lambda row: row.payload, output_type=Types.STRING())
        keys = PartitionKeyGenerator.json_field("customer")
    stream.sink_to(
        KinesisStreamsSink.builder().set_kinesis_client_properties(config)
        .set_serialization_schema(SimpleStringSchema()).set_partition_key_generator(keys)
        .set_stream_name(out).set_max_time_in_buffer_ms(100).build()
    )
    job = env.execute_async("installed")
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="k", aws_secret_access_key="s")
    deadline = time.monotonic() + 180
    try:
        while _count(kinesis, out) < count and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        job.cancel().result()
    report["written"] = _count(kinesis, out)
    print(json.dumps(report), flush=True)


def _count(kinesis: KinesisClient, stream: str) -> int:
    total = 0
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator: str | None = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator)
            total += len(page["Records"])
            iterator = page["NextShardIterator"] if page["Records"] else None
    return total


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
         "--without-our-jar" in sys.argv[5:])
