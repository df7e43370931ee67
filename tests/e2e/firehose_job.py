"""The jobs tests/e2e/test_firehose.py runs, each in a fresh Python process (so its JVM starts
with the "firehose" jars ahead of the Kinesis jar, as PYFLINK_KINESIS_EXTRAS asks).

Usage::

    python firehose_job.py datastream ENDPOINT REGION COUNT FAIL_ON_ERROR STREAM [STREAM ...]
    python firehose_job.py sql ENDPOINT REGION COUNT STREAM

``datastream`` writes the records ``record-0`` ... ``record-<COUNT-1>``, each newline-terminated,
to every delivery stream ``STREAM`` (one KinesisFirehoseSink each, batches of at most 25
records). A ``STREAM`` may be ``name@endpoint`` to reach that stream through another endpoint
(a fault proxy). ``sql`` inserts the same records into a ``firehose`` table with ``INSERT
INTO``, in the raw format, each value given its newline (neither Firehose nor the json and csv
formats put one between records). Both are bounded: the script exits once
the job finished, 0 on success; a failed job's error is printed on stderr and the exit code
is 1.
"""

from __future__ import annotations

import sys

from pyflink.common import Configuration, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import EnvironmentSettings, TableEnvironment

from pyflink_kinesis import KinesisFirehoseSink

BATCH = 25


def records(count: int) -> list[str]:
    """What the jobs write, without the newline each record gets."""
    return [f"record-{i}" for i in range(count)]


def client_properties(endpoint: str, region: str) -> dict[str, str]:
    """The sink's settings for moto (or the proxy) at ``endpoint``: BASIC dummy credentials."""
    return {
        "aws.region": region,
        "aws.endpoint": endpoint,
        "aws.credentials.provider.basic.accesskeyid": "local-access-key",
        "aws.credentials.provider.basic.secretkey": "local-secret-key",
    }


def datastream(endpoint: str, region: str, count: int, fail_on_error: bool,
               streams: list[str]) -> None:
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    lines = env.from_collection(records(count), type_info=Types.STRING()).map(
        lambda text: text + "\n", output_type=Types.STRING()
    )
    for target in streams:
        name, _, through = target.partition("@")
        sink = (
            KinesisFirehoseSink.builder()
            .set_firehose_client_properties(client_properties(through or endpoint, region))
            .set_serialization_schema(SimpleStringSchema())
            .set_delivery_stream_name(name)
            .set_fail_on_error(fail_on_error)
            .set_max_batch_size(BATCH)
            .set_max_time_in_buffer_ms(200)
            .build()
        )
        lines.sink_to(sink).name(f"firehose {name}")
    env.execute("firehose datastream job")


def sql(endpoint: str, region: str, count: int, stream: str) -> None:
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "2")
    t_env.get_config().set("python.executable", sys.executable)
    t_env.execute_sql(f"""
        CREATE TABLE clicks (line STRING) WITH (
          'connector' = 'firehose',
          'delivery-stream' = '{stream}',
          'format' = 'raw',
          'aws.region' = '{region}',
          'aws.endpoint' = '{endpoint}',
          'aws.credentials.basic.accesskeyid' = 'local-access-key',
          'aws.credentials.basic.secretkey' = 'local-secret-key',
          'sink.batch.max-size' = '{BATCH}',
          'sink.flush-buffer.timeout' = '200'
        )
    """)
    values = ", ".join(f"('{text}')" for text in records(count))
    t_env.execute_sql(
        f"INSERT INTO clicks SELECT CONCAT(line, CHR(10)) FROM (VALUES {values}) AS t(line)"
    ).wait()


def main(argv: list[str]) -> int:
    mode, endpoint, region, count = argv[0], argv[1], argv[2], int(argv[3])
    try:
        if mode == "datastream":
            datastream(endpoint, region, count, argv[4] == "true", argv[5:])
        else:
            sql(endpoint, region, count, argv[4])
    except Exception as exc:  # the job's failure, for the test to read
        print(f"JOB FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
