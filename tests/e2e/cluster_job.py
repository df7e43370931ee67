"""The job tests/e2e/test_standalone_cluster.py submits to a standalone cluster.

Usage::

    flink run --python cluster_job.py ENDPOINT SOURCE_STREAM OUTPUT_STREAM
    python cluster_job.py --remote HOST:PORT ENDPOINT SOURCE_STREAM OUTPUT_STREAM

Reads SOURCE_STREAM from TRIM_HORIZON and writes each record to OUTPUT_STREAM, prefixed by a
Python map with ``clustered:`` (under ``flink run``, where the CLI chooses the cluster) or
``remote:`` (with ``--remote``: this script submits to the cluster's REST endpoint itself, from
a remote environment, and exits once the job is accepted). No add_jars either way: the
connector jars, and for the remote environment PyFlink's flink-python jar, which ``flink run``
ships itself, travel in pipeline.jars.

The BASIC secret key comes from the environment variable ``CLUSTER_JOB_SECRET_KEY`` (so the
test can search the cluster's logs for it).
"""

from __future__ import annotations

import argparse
import os
import sys

from pyflink.common import Configuration, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator


def remote_environment(address: str) -> StreamExecutionEnvironment:
    """An environment whose jobs go to the cluster whose REST endpoint is ``address``.

    ``get_execution_environment`` makes a local environment (it sets ``execution.target`` to
    local when it is created); ``configure`` then points it at the cluster.
    """
    host, port = address.rsplit(":", 1)
    env = StreamExecutionEnvironment.get_execution_environment()
    remote = Configuration()
    remote.set_string("execution.target", "remote")
    remote.set_string("rest.address", host)
    remote.set_string("rest.port", port)
    remote.set_string("python.executable", sys.executable)  # the TaskManager's Python workers
    env.configure(remote)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--remote", metavar="HOST:PORT")
    parser.add_argument("endpoint")
    parser.add_argument("source")
    parser.add_argument("out")
    args = parser.parse_args()

    aws = {
        "aws.region": "us-east-1",
        "aws.endpoint": args.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "cluster-access-key",
        "aws.credentials.provider.basic.secretkey": os.environ.get(
            "CLUSTER_JOB_SECRET_KEY", "cluster-secret-key"
        ),
    }
    if args.remote:
        env = remote_environment(args.remote)
    else:
        env = StreamExecutionEnvironment.get_execution_environment()
    consumer = FlinkKinesisConsumer(
        args.source, SimpleStringSchema(), {**aws, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.random())
        .set_stream_name(args.out)
        .set_max_time_in_buffer_ms(100)
        .build()
    )
    tag = "remote" if args.remote else "clustered"
    env.add_source(consumer).map(
        lambda s: f"{tag}:{s}", output_type=Types.STRING()
    ).sink_to(sink)
    if args.remote:
        env.execute_async("cluster job (remote environment)")
    else:
        env.execute("cluster job")


if __name__ == "__main__":
    main()
