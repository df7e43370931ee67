"""Kinesis tables in Flink SQL, end to end: DDL as users write it, through the local Kinesis.

Each test declares tables with ``CREATE TABLE ... WITH ('connector' = 'kinesis', ...)`` (the
connector's ``scan.stream.*`` options, or connector 5.x's ``stream.arn`` and ``source.*``),
runs ``INSERT INTO ... SELECT`` and reads what arrived with boto3. The jobs are unbounded:
they are cancelled once the output is complete.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import fastavro
import pytest
from py4j.protocol import Py4JJavaError
from pyflink.common import JobStatus
from pyflink.table import DataTypes, EnvironmentSettings, Schema, TableEnvironment, TableResult

from pyflink_kinesis import KinesisConfigError
from pyflink_kinesis.table import table_descriptor
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis
from tests.e2e.jobs import flink_log
from tests.e2e.test_exactly_once import tagged

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0


@pytest.fixture
def t_env() -> Iterator[TableEnvironment]:
    environment = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    environment.get_config().set("parallelism.default", "2")
    yield environment


def with_clause(local_kinesis: LocalKinesis, stream: str, fmt: str, **extra: str) -> str:
    """The WITH options a user writes for a table over ``stream`` on the local server.

    ``stream`` is a name (``'stream'``) or an ARN (``'stream.arn'``, connector 5.x's DDL).
    """
    return ",\n".join(
        f"  '{key}' = '{value}'" for key, value in options(local_kinesis, stream, fmt, **extra)
    )


def options(
    local_kinesis: LocalKinesis, stream: str, fmt: str, **extra: str
) -> list[tuple[str, str]]:
    """The options of :func:`with_clause`, in order."""
    by_arn = stream.startswith("arn:")
    options = {
        "connector": "kinesis",
        "stream.arn" if by_arn else "stream": stream,
        "aws.region": local_kinesis.region,
        "aws.endpoint": local_kinesis.endpoint,
        "aws.credentials.provider": "BASIC",
        "aws.credentials.basic.accesskeyid": "sql-access-key",
        "aws.credentials.basic.secretkey": "sql-secret-key",
        "format": fmt,
        **extra,
    }
    return list(options.items())


def stream_arn(local_kinesis: LocalKinesis, stream: str) -> str:
    summary = local_kinesis.client().describe_stream_summary(StreamName=stream)
    return str(summary["StreamDescriptionSummary"]["StreamARN"])


def run_until_complete(
    result: TableResult, local_kinesis: LocalKinesis, stream: str, count: int
) -> list[KinesisRecord]:
    """Wait until ``stream`` holds ``count`` records (failing fast if the job dies), cancel."""
    return run_until_all_complete(result, local_kinesis, {stream: count})[stream]


def run_until_all_complete(
    result: TableResult, local_kinesis: LocalKinesis, counts: dict[str, int]
) -> dict[str, list[KinesisRecord]]:
    """Wait until each stream holds its count of records (failing fast if the job dies),
    cancel; the records of each stream."""
    client = result.get_job_client()
    assert client is not None
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while True:
            arrived = {stream: len(local_kinesis.read_all(stream)) for stream in counts}
            if all(arrived[stream] >= count for stream, count in counts.items()):
                time.sleep(1.0)  # a duplicate would show up within the sink's flush interval
                return {stream: local_kinesis.read_all(stream) for stream in counts}
            status = client.get_job_status().result()
            assert status not in (JobStatus.FAILED, JobStatus.CANCELED), f"job {status}"
            assert time.monotonic() < deadline, f"of {counts} records, {arrived} arrived"
            time.sleep(0.5)
    finally:
        client.cancel().result()


ORDERS: list[dict[str, Any]] = [
    {"id": i, "customer": f"c{i % 7}", "amount": (i * 37) % 100} for i in range(120)
]
BIG = [o for o in ORDERS if int(o["amount"]) >= 50]


def test_insert_select_where_with_json(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    local_kinesis.put_records(source, [json.dumps(o) for o in ORDERS])
    t_env.execute_sql(f"""
        CREATE TABLE orders (id BIGINT, customer STRING, amount INT)
        WITH ({with_clause(local_kinesis, source, 'json',
                           **{'scan.stream.initpos': 'TRIM_HORIZON'})})""")
    t_env.execute_sql(f"""
        CREATE TABLE big_orders (id BIGINT, customer STRING, amount INT)
        WITH ({with_clause(local_kinesis, out, 'json')})""")
    result = t_env.execute_sql(
        "INSERT INTO big_orders SELECT id, customer, amount FROM orders WHERE amount >= 50"
    )
    arrived = run_until_complete(result, local_kinesis, out, len(BIG))
    assert sorted(json.loads(r.data)["id"] for r in arrived) == [o["id"] for o in BIG]
    assert all(json.loads(r.data) in BIG for r in arrived)


def test_csv_format(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    local_kinesis.put_records(
        source, [f"{o['id']},{o['customer']},{o['amount']}" for o in ORDERS]
    )
    extra = {"scan.stream.initpos": "TRIM_HORIZON"}
    t_env.execute_sql(f"""CREATE TABLE orders (id BIGINT, customer STRING, amount INT)
                          WITH ({with_clause(local_kinesis, source, 'csv', **extra)})""")
    t_env.execute_sql(f"""CREATE TABLE big_orders (id BIGINT, customer STRING, amount INT)
                          WITH ({with_clause(local_kinesis, out, 'csv')})""")
    result = t_env.execute_sql("INSERT INTO big_orders SELECT * FROM orders WHERE amount >= 50")
    arrived = run_until_complete(result, local_kinesis, out, len(BIG))
    expected = Counter(f"{o['id']},{o['customer']},{o['amount']}" for o in BIG)
    assert Counter(r.text.strip() for r in arrived) == expected


def test_raw_format(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    lines = [f"line {i}: {'x' * (i % 13)}" for i in range(150)]
    local_kinesis.put_records(source, lines)
    extra = {"scan.stream.initpos": "TRIM_HORIZON"}
    t_env.execute_sql(f"""CREATE TABLE lines_in (line STRING)
                          WITH ({with_clause(local_kinesis, source, 'raw', **extra)})""")
    t_env.execute_sql(f"""CREATE TABLE lines_out (line STRING)
                          WITH ({with_clause(local_kinesis, out, 'raw')})""")
    result = t_env.execute_sql(
        "INSERT INTO lines_out SELECT UPPER(line) FROM lines_in WHERE CHAR_LENGTH(line) > 12"
    )
    expected = Counter(line.upper() for line in lines if len(line) > 12)
    arrived = run_until_complete(result, local_kinesis, out, sum(expected.values()))
    assert Counter(r.text for r in arrived) == expected


# The Avro schema Flink derives for ROW<id BIGINT NOT NULL, customer STRING NOT NULL, ...>.
AVRO_SCHEMA = fastavro.parse_schema({
    "type": "record",
    "name": "record",
    "namespace": "org.apache.flink.avro.generated",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "int"},
    ],
})


def avro_bytes(record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, AVRO_SCHEMA, record)
    return buffer.getvalue()


def test_avro_format_round_trips_records_written_with_fastavro(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    local_kinesis.put_records(source, [avro_bytes(o) for o in ORDERS])
    columns = "id BIGINT NOT NULL, customer STRING NOT NULL, amount INT NOT NULL"
    extra = {"scan.stream.initpos": "TRIM_HORIZON"}
    t_env.execute_sql(f"""CREATE TABLE orders ({columns})
                          WITH ({with_clause(local_kinesis, source, 'avro', **extra)})""")
    t_env.execute_sql(f"""CREATE TABLE big_orders ({columns})
                          WITH ({with_clause(local_kinesis, out, 'avro')})""")
    result = t_env.execute_sql("INSERT INTO big_orders SELECT * FROM orders WHERE amount >= 50")
    arrived = run_until_complete(result, local_kinesis, out, len(BIG))
    decoded: list[Any] = [
        fastavro.schemaless_reader(io.BytesIO(r.data), AVRO_SCHEMA) for r in arrived
    ]
    assert sorted(decoded, key=lambda o: int(o["id"])) == BIG


METADATA_COLUMNS = """
          arrived TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
          shard STRING METADATA FROM 'shard-id' VIRTUAL,
          seq STRING METADATA FROM 'sequence-number' VIRTUAL"""


def assert_metadata(rows: list[dict[str, Any]], written: dict[int, KinesisRecord]) -> None:
    """Each row's id, shard, sequence number and arrival time (a metadata column cast to a
    string in UTC) are those of the record written with its id."""
    assert sorted(row["id"] for row in rows) == sorted(written)
    for row in rows:
        original = written[row["id"]]
        assert (row["shard"], row["seq"]) == (original.shard_id, original.sequence_number)
        arrival = datetime.strptime(row["arrived"], "%Y-%m-%d %H:%M:%S.%f")
        expected = original.approximate_arrival_timestamp.astimezone(timezone.utc)
        assert arrival.replace(tzinfo=timezone.utc) == expected.replace(
            microsecond=expected.microsecond // 1000 * 1000
        )


def test_a_5x_ddl_reads_with_our_source_beside_a_legacy_table_read_by_the_consumer(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    """'stream.arn' with source.* options (5.x's DDL) and 'stream' with scan.* in one job, each
    with the metadata columns."""
    source, out, legacy_out = stream_factory(3), stream_factory(1), stream_factory(1)
    local_kinesis.put_records(source, [json.dumps({"id": i}) for i in range(60)])
    written = {json.loads(r.data)["id"]: r for r in local_kinesis.read_all(source)}
    assert len({r.shard_id for r in written.values()}) == 3
    start = {"source.init.position": "TRIM_HORIZON"}
    source_arn = stream_arn(local_kinesis, source)
    arn_options = options(local_kinesis, source_arn, "json", **start)
    t_env.execute_sql(f"""
        CREATE TABLE events (id BIGINT, {METADATA_COLUMNS})
        WITH ({with_clause(local_kinesis, source_arn, 'json', **start)})""")
    t_env.execute_sql(f"""
        CREATE TABLE described (id BIGINT, arrived STRING, shard STRING, seq STRING)
        WITH ({with_clause(local_kinesis, stream_arn(local_kinesis, out), 'json')})""")
    t_env.execute_sql(f"""CREATE TABLE legacy_events (id BIGINT, {METADATA_COLUMNS})
        WITH ({with_clause(local_kinesis, source, 'json',
                           **{'scan.stream.initpos': 'TRIM_HORIZON'})})""")
    t_env.execute_sql(f"""
        CREATE TABLE legacy_described (id BIGINT, arrived STRING, shard STRING, seq STRING)
        WITH ({with_clause(local_kinesis, legacy_out, 'json')})""")

    shown = show_create_table(t_env, "events")
    assert "'connector' = 'pyflink-kinesis'" in shown
    assert "sql-secret-key" not in shown
    for key, value in arn_options:
        if key not in ("connector", "aws.credentials.basic.secretkey"):
            assert f"'{key}' = '{value}'" in shown
    assert "'aws.credentials.basic.secretkey' = '****'" in shown
    assert "'connector' = 'kinesis'" in show_create_table(t_env, "legacy_events")

    t_env.get_config().set("table.local-time-zone", "UTC")
    statements = t_env.create_statement_set()
    statements.add_insert_sql(
        "INSERT INTO described SELECT id, CAST(arrived AS STRING), shard, seq FROM events")
    statements.add_insert_sql("INSERT INTO legacy_described SELECT id, CAST(arrived AS STRING), "
                              "shard, seq FROM legacy_events")
    arrived = run_until_all_complete(
        statements.execute(), local_kinesis, {out: 60, legacy_out: 60})
    assert_metadata([json.loads(r.data) for r in arrived[out]], written)
    assert_metadata([json.loads(r.data) for r in arrived[legacy_out]], written)
    # Which reader read which table: our source's enumerator and the consumer log the stream.
    log = flink_log()
    ours = rf"ShardEnumerator .* Listing the shards of {re.escape(source_arn)} "
    consumer = rf"FlinkKinesisConsumer .* following streams: {re.escape(source)},"
    assert re.search(ours, log) and re.search(consumer, log)


def show_create_table(t_env: TableEnvironment, table: str) -> str:
    with t_env.execute_sql(f"SHOW CREATE TABLE {table}").collect() as rows:
        return str(next(rows)[0])


def test_at_timestamp_with_scan_stream_initpos_timestamp(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    local_kinesis.put_records(source, [json.dumps({"id": -i}) for i in range(1, 41)])
    time.sleep(1.0)
    start_at = time.time()
    time.sleep(1.0)
    local_kinesis.put_records(source, [json.dumps({"id": i}) for i in range(40)])
    extra = {
        "scan.stream.initpos": "AT_TIMESTAMP",
        "scan.stream.initpos-timestamp": f"{start_at:.3f}",
    }
    t_env.execute_sql(f"""CREATE TABLE numbers (id BIGINT)
                          WITH ({with_clause(local_kinesis, source, 'json', **extra)})""")
    t_env.execute_sql(f"""CREATE TABLE copied (id BIGINT)
                          WITH ({with_clause(local_kinesis, out, 'json')})""")
    result = t_env.execute_sql("INSERT INTO copied SELECT id FROM numbers")
    arrived = run_until_complete(result, local_kinesis, out, 40)
    assert sorted(json.loads(r.data)["id"] for r in arrived) == list(range(40))


@pytest.mark.parametrize("partitioning", ["partitioned-by", "random", "fixed"])
def test_sink_partitioning(
    t_env: TableEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    partitioning: str,
) -> None:
    source, out = stream_factory(1), stream_factory(4)
    local_kinesis.put_records(source, [json.dumps(o) for o in ORDERS])
    t_env.execute_sql(f"""CREATE TABLE orders (id BIGINT, customer STRING, amount INT)
        WITH ({with_clause(local_kinesis, source, 'json',
                           **{'scan.stream.initpos': 'TRIM_HORIZON'})})""")
    if partitioning == "partitioned-by":
        sink_ddl = f"""CREATE TABLE keyed (id BIGINT, customer STRING, amount INT)
            PARTITIONED BY (customer) WITH ({with_clause(local_kinesis, out, 'json')})"""
    else:
        extra = {"sink.partitioner": partitioning}
        sink_ddl = f"""CREATE TABLE keyed (id BIGINT, customer STRING, amount INT)
            WITH ({with_clause(local_kinesis, out, 'json', **extra)})"""
    t_env.execute_sql(sink_ddl)
    result = t_env.execute_sql("INSERT INTO keyed SELECT * FROM orders")
    arrived = run_until_complete(result, local_kinesis, out, len(ORDERS))
    rows = [(json.loads(r.data), r.partition_key) for r in arrived]
    assert sorted(int(row["id"]) for row, _ in rows) == [o["id"] for o in ORDERS]
    keys = {key for _, key in rows}
    if partitioning == "partitioned-by":
        assert all(key == row["customer"] for row, key in rows)
    elif partitioning == "random":
        assert len(keys) == len(ORDERS) and all(uuid.UUID(k) for k in keys)
    else:  # one key per sink subtask, its index: the source's one shard feeds one subtask
        assert len(keys) == 1 and keys <= {"0", "1"}


def test_table_descriptor_from_the_datastream_style_config(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    """One config dict serves FlinkKinesisConsumer and the table helper alike."""
    source, out = stream_factory(2), stream_factory(1)
    local_kinesis.put_records(source, [json.dumps(o) for o in ORDERS])
    config = {
        "aws.region": local_kinesis.region,
        "aws.endpoint": local_kinesis.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "k",
        "aws.credentials.provider.basic.secretkey": "s",
        "flink.stream.initpos": "TRIM_HORIZON",
    }
    schema = (
        Schema.new_builder()
        .column("id", DataTypes.BIGINT())
        .column("customer", DataTypes.STRING())
        .column("amount", DataTypes.INT())
        .build()
    )
    t_env.create_temporary_table("orders", table_descriptor(source, schema, config, "json"))
    sink_config = {k: v for k, v in config.items() if not k.startswith("flink.")}
    t_env.create_temporary_table("big", table_descriptor(out, schema, sink_config, "json"))
    result = t_env.execute_sql("INSERT INTO big SELECT * FROM orders WHERE amount >= 50")
    arrived = run_until_complete(result, local_kinesis, out, len(BIG))
    assert sorted(json.loads(r.data)["id"] for r in arrived) == [o["id"] for o in BIG]


def test_bad_options_are_all_reported_before_anything_runs(t_env: TableEnvironment) -> None:
    ddl = """CREATE TABLE t (id BIGINT) WITH (
        'connector' = 'kinesis',
        'stream' = 'in',
        'aws.regoin' = 'us-east-1',
        'format' = 'json',
        'scan.stream.initpos' = 'EARLIEST',
        'aws.credentials.basic.secretkey' = 'do-not-show')"""
    with pytest.raises(KinesisConfigError) as error:
        t_env.execute_sql(ddl)
    message = str(error.value)
    assert "aws.regoin" in message and "aws.region" in message
    assert "EARLIEST" in message
    assert "do-not-show" not in message
    assert "t" not in [str(name) for name in t_env.list_tables()]


EXACTLY_ONCE = {
    "sink.delivery-guarantee": "exactly-once",
    "sink.exactly-once.max-buffered-bytes": str(8 * 1024 * 1024),
    "sink.exactly-once.commit-timeout": "30 s",
}


def test_an_exactly_once_table_is_read_once_by_a_deduplicating_table(
    t_env: TableEnvironment, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    """orders -> once_orders ('sink.delivery-guarantee' = 'exactly-once') -> read by a
    'source.deduplication' table -> copied, in one job checkpointing every second: each order
    once in copied, and in once_orders each row once, in a KPL aggregate with its id tag."""
    source, once, out = stream_factory(2), stream_factory(2), stream_factory(1)
    local_kinesis.put_records(source, [json.dumps(o) for o in ORDERS])
    t_env.get_config().set("execution.checkpointing.interval", "1 s")
    columns = "id BIGINT, customer STRING, amount INT"
    t_env.execute_sql(f"""CREATE TABLE orders ({columns})
        WITH ({with_clause(local_kinesis, source, 'json',
                           **{'scan.stream.initpos': 'TRIM_HORIZON'})})""")
    t_env.execute_sql(f"""CREATE TABLE once_orders ({columns})
        WITH ({with_clause(local_kinesis, once, 'json', **EXACTLY_ONCE)})""")
    t_env.execute_sql(f"""CREATE TABLE once_read ({columns})
        WITH ({with_clause(local_kinesis, stream_arn(local_kinesis, once), 'json',
                           **{'source.init.position': 'TRIM_HORIZON',
                              'source.deduplication': 'true'})})""")
    t_env.execute_sql(f"""CREATE TABLE copied ({columns})
        WITH ({with_clause(local_kinesis, out, 'json')})""")
    assert "'connector' = 'pyflink-kinesis'" in show_create_table(t_env, "once_orders")

    statements = t_env.create_statement_set()
    statements.add_insert_sql("INSERT INTO once_orders SELECT * FROM orders")
    statements.add_insert_sql("INSERT INTO copied SELECT * FROM once_read")
    copied = run_until_complete(statements.execute(), local_kinesis, out, len(ORDERS))

    assert Counter(json.loads(r.data)["id"] for r in copied) == Counter(o["id"] for o in ORDERS)
    written = tagged(local_kinesis.read_all(once))
    assert sorted(json.loads(text)["id"] for _, _, text, _, _ in written) == [
        o["id"] for o in ORDERS]


def test_an_exactly_once_table_without_checkpointing_is_refused_on_submission(
    t_env: TableEnvironment, local_kinesis: LocalKinesis
) -> None:
    t_env.execute_sql(f"""CREATE TABLE once_orders (id BIGINT)
        WITH ({with_clause(local_kinesis, 'never-written', 'json', **EXACTLY_ONCE)})""")
    with pytest.raises(Py4JJavaError) as error:
        t_env.execute_sql("INSERT INTO once_orders VALUES (1)")
    message = str(error.value)
    assert "does not checkpoint, so it would write nothing" in message
    assert "'execution.checkpointing.interval'" in message
