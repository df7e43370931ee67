"""A new user's first job, run as ``.venv/bin/python first_job.py`` (test_first_run).

    python first_job.py ENDPOINT OUT COUNT

Sets no ``python.executable``. First writes COUNT JSON records through a Python map to OUT,
keyed by their ``customer`` field, and prints ``moved COUNT``; then runs the same job with
checkpointing and a typo in the key's field (``customr``), which fails at its first record and
restarts until the process is killed.
"""

from __future__ import annotations

import sys

from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSink, PartitionKeyGenerator


def run(endpoint: str, out: str, count: int, key_field: str, checkpointing: bool) -> None:
    config = {"aws.region": "us-east-1", "aws.endpoint": endpoint,
              "aws.credentials.provider.basic.accesskeyid": "k",
              "aws.credentials.provider.basic.secretkey": "s"}
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    if checkpointing:
        env.enable_checkpointing(1000)
    records = [f'{{"customer": "c{i % 3}", "n": {i}}}' for i in range(count)]
    sink = (KinesisStreamsSink.builder().set_kinesis_client_properties(config)
            .set_serialization_schema(SimpleStringSchema())
            .set_partition_key_generator(PartitionKeyGenerator.json_field(key_field))
            .set_stream_name(out).set_max_time_in_buffer_ms(100).build())
    (env.from_collection(records, Types.STRING())
     .map(lambda record: record, output_type=Types.STRING())
     .sink_to(sink))
    env.execute(f"first job ({key_field})")


if __name__ == "__main__":
    endpoint, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run(endpoint, out, count, "customer", checkpointing=False)
    print(f"moved {count}", flush=True)
    run(endpoint, out, count, "customr", checkpointing=True)
