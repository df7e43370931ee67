"""A bounded job whose sinks take their credentials from the process environment
(test_credentials), run as ``python credentials_job.py REGION COUNT SINK...``.

Each SINK is ``PROVIDER=ENDPOINT=STREAM``: a ``KinesisStreamsSink`` with
``aws.credentials.provider`` PROVIDER and no other credential key, writing COUNT records to
STREAM at ENDPOINT. It runs in its own process because ``ENV_VAR``, ``AUTO`` and ``PROFILE``
without a path read the environment the JVM was started with, which a test's own JVM cannot
change.
"""

from __future__ import annotations

import sys

from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

from tests.e2e.jobs import string_sink


def run(region: str, count: int, sinks: list[str]) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    records = env.from_collection([f"record-{i}" for i in range(count)], Types.STRING())
    for sink in sinks:
        provider, endpoint, stream = sink.split("=")
        config = {
            "aws.region": region,
            "aws.endpoint": endpoint,
            "aws.credentials.provider": provider,
        }
        records.sink_to(string_sink(config, stream))
    env.execute("credentials from the environment")


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
