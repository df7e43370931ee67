"""The jobs tests/e2e/test_tls.py runs, each in a fresh Python process, so that its JVM starts
with the JVM options the test gives it in ``JVM_ARGS`` (a trust store), as a user's does.

Usage::

    python tls_job.py copy ENDPOINT REGION IN OUT COUNT FIREHOSE_ENDPOINT DELIVERY_STREAM
    python tls_job.py write ENDPOINT REGION OUT [trust-all]

``copy`` checks both streams (``check_streams``, which trusts ``AWS_CA_BUNDLE``), then reads
``IN`` with a ``FlinkKinesisConsumer`` (AWS SDK v1) and a ``KinesisStreamsSource`` (SDK v2,
Apache client) and writes what each read, prefixed ``consumer:`` or ``source:``, to ``OUT``
with a ``KinesisStreamsSink`` (SDK v2, Netty client), and to ``DELIVERY_STREAM`` with a
``KinesisFirehoseSink`` (the same client) at ``FIREHOSE_ENDPOINT`` (moto); once both hold
2 x COUNT records (read with boto3) it cancels the job and exits 0. ``write`` runs a job that
writes one record to ``OUT`` with the sink (with ``aws.trust.all.certificates = true`` if
``trust-all``). A failure is printed on stderr (``JOB FAILED: ...``), exit code 1.
"""

from __future__ import annotations

import sys

import boto3
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import FlinkKinesisConsumer, KinesisFirehoseSink, check_streams
from tests.e2e.firehose_job import client_properties
from tests.e2e.jobs import flip27_source, start, string_sink
from tests.support.moto_fixtures import LocalFirehose

_TIMEOUT_S = 120.0


def aws_config(endpoint: str, region: str) -> dict[str, object]:
    return {
        "aws.region": region,
        "aws.endpoint": endpoint,
        "aws.credentials.provider.basic.accesskeyid": "local-access-key",
        "aws.credentials.provider.basic.secretkey": "local-secret-key",
    }


def sink_config(endpoint: str, region: str) -> dict[str, object]:
    # The SDK's Netty client speaks HTTP/2 over TLS without asking for it (no ALPN), and
    # kinesis-mock's TLS port speaks HTTP/2 only to clients that ask: HTTP/1.1 it is.
    return {**aws_config(endpoint, region), "aws.http.protocol.version": "HTTP1_1"}


def environment() -> StreamExecutionEnvironment:
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    return env


def read_all(endpoint: str, region: str, stream: str) -> list[str]:
    """Every record of ``stream``, read with boto3 (which trusts ``AWS_CA_BUNDLE``)."""
    client = boto3.client("kinesis", endpoint_url=endpoint, region_name=region,
                          aws_access_key_id="local", aws_secret_access_key="local")
    found = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            answer = client.get_records(ShardIterator=iterator)
            found += [record["Data"].decode() for record in answer["Records"]]
            if not answer["MillisBehindLatest"] or "NextShardIterator" not in answer:
                break
            iterator = answer["NextShardIterator"]
    return found


def delivered(endpoint: str, region: str, delivery_stream: str) -> list[str]:
    """The records a delivery stream of moto delivered to S3, read with boto3."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                      aws_access_key_id="local", aws_secret_access_key="local")
    listed = s3.list_objects_v2(Bucket=LocalFirehose.BUCKET, Prefix=f"{delivery_stream}/")
    keys = sorted(item["Key"] for item in listed.get("Contents", ()))
    bodies = (s3.get_object(Bucket=LocalFirehose.BUCKET, Key=key)["Body"].read() for key in keys)
    return b"".join(bodies).decode().splitlines()


def firehose_sink(endpoint: str, region: str, delivery_stream: str) -> KinesisFirehoseSink:
    return (
        KinesisFirehoseSink.builder()
        .set_firehose_client_properties(
            {**client_properties(endpoint, region), "aws.http.protocol.version": "HTTP1_1"})
        .set_serialization_schema(SimpleStringSchema())
        .set_delivery_stream_name(delivery_stream)
        .set_max_time_in_buffer_ms(100)
        .build()
    )


def copy(endpoint: str, region: str, source: str, target: str, count: int,
         firehose: str, delivery_stream: str) -> None:
    config = aws_config(endpoint, region)
    check_streams([source, target], config)
    env = environment()
    consumer = FlinkKinesisConsumer(
        source, SimpleStringSchema(), {**config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    from_consumer = env.add_source(consumer).map(
        lambda text: f"consumer:{text}", output_type=Types.STRING())
    from_source = env.from_source(
        flip27_source(config, source), WatermarkStrategy.no_watermarks(), "source"
    ).map(lambda text: f"source:{text}", output_type=Types.STRING())
    both = from_consumer.union(from_source)
    both.sink_to(string_sink(sink_config(endpoint, region), target))
    both.map(lambda text: text + "\n", output_type=Types.STRING()).sink_to(
        firehose_sink(firehose, region, delivery_stream))
    job = start(env, "tls copy")
    try:
        job.wait_for(lambda: (len(read_all(endpoint, region, target)) >= 2 * count
                              and len(delivered(firehose, region, delivery_stream)) >= 2 * count)
                     or None, _TIMEOUT_S, f"{2 * count} records in {target} and {delivery_stream}")
    finally:
        job.cancel()


def write(endpoint: str, region: str, target: str, trust_all: bool) -> None:
    env = environment()
    config = {**sink_config(endpoint, region), "aws.trust.all.certificates": trust_all}
    env.from_collection(["one"], type_info=Types.STRING()).sink_to(string_sink(config, target))
    env.execute("tls write")


def main(argv: list[str]) -> int:
    mode, endpoint, region = argv[0], argv[1], argv[2]
    try:
        if mode == "copy":
            copy(endpoint, region, argv[3], argv[4], int(argv[5]), argv[6], argv[7])
        else:
            write(endpoint, region, argv[3], argv[4:] == ["trust-all"])
    except Exception as exc:  # the job's failure, for the test to read
        print(f"JOB FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
