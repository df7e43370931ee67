"""Keyed writes in real jobs: each key keeps one shard and its order; fixed keys per subtask.

Every job writes to a 4-shard stream on kinesalite; the output is read back with boto3 in
shard and sequence order. Records carry ``(key, seq)``, ``seq`` counting each key's records
from 0 in the order the job produced them, so the order a key's records have in its shard is
checked against the order they were produced.

Run with ``-s`` to see one ``KEYED |`` line per run with the placement and order measured.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pytest
from pyflink.common import Configuration, Row, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, MapFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink.datastream.formats.json import JsonRowSerializationSchema
from pyflink.table import EnvironmentSettings, TableEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    PartitionKeyGenerator,
    RowFieldSerializationSchema,
)
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import FaultProxy, PartialFailure, Rate
from tests.e2e.jobs import failing_env, job_failure, start, string_sink_builder

StreamFactory = Callable[..., str]
KEYS = [f"customer-{k}" for k in range(7)]
PER_KEY = 320
PARALLELISM = 3
#: Records in the order the job produces them: the keys interleaved, each key's seq rising.
PRODUCED = [(KEYS[i % len(KEYS)], i // len(KEYS)) for i in range(len(KEYS) * PER_KEY)]
#: Fewer for the throttling measurements (one of them sends each record on its own).
THROTTLED_PER_KEY = 60
PAIR = Types.TUPLE([Types.STRING(), Types.INT()])
NAMED = Types.ROW_NAMED(["customer", "seq"], [Types.STRING(), Types.INT()])
POSITIONAL = Types.ROW([Types.STRING(), Types.INT()])
KEY_AND_PAYLOAD = Types.ROW([Types.STRING(), Types.STRING()])


def keyed_env(parallelism: int = PARALLELISM) -> StreamExecutionEnvironment:
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


@dataclass(frozen=True)
class Route:
    """One way to key records: how the stream is shaped, its schema and its generator.

    ``shape`` maps the ``(key, seq)`` pairs to the records the sink gets, ``key_of`` keys them
    in Python (``key_by``), ``read`` turns a written record back into ``(key, seq)``, and
    ``expected_key`` is the partition key a record of ``key`` must have.
    """

    shape: Callable[[DataStream], DataStream]
    key_of: Callable[[Any], str]
    schema: Callable[[], Any]
    keys: PartitionKeyGenerator
    read: Callable[[str], tuple[str, int]]
    expected_key: Callable[[str], str] = lambda key: key


def _read_row(text: str) -> tuple[str, int]:
    data = json.loads(text)
    values = list(data.values())
    return str(values[0]), int(values[1])


def _read_nested(text: str) -> tuple[str, int]:
    data = json.loads(text)
    return str(data["order"]["customer"]), int(data["seq"])


def _read_payload(text: str) -> tuple[str, int]:
    data = json.loads(text)
    return str(data["customer"]), int(data["seq"])


ROUTES = {
    "from-field-by-name": Route(
        shape=lambda ds: ds.map(lambda p: Row(customer=p[0], seq=p[1]), output_type=NAMED),
        key_of=lambda row: row.customer,
        schema=lambda: JsonRowSerializationSchema.builder().with_type_info(NAMED).build(),
        keys=PartitionKeyGenerator.from_field("customer"),
        read=_read_row,
    ),
    "from-field-by-position": Route(
        shape=lambda ds: ds.map(lambda p: Row(p[0], p[1]), output_type=POSITIONAL),
        key_of=lambda row: row[0],
        schema=lambda: JsonRowSerializationSchema.builder().with_type_info(POSITIONAL).build(),
        keys=PartitionKeyGenerator.from_field(0),
        read=_read_row,
    ),
    "json-field": Route(
        shape=lambda ds: ds.map(
            lambda p: json.dumps({"order": {"customer": p[0]}, "seq": p[1]}),
            output_type=Types.STRING(),
        ),
        key_of=lambda text: json.loads(text)["order"]["customer"],
        schema=SimpleStringSchema,
        keys=PartitionKeyGenerator.json_field("order.customer"),
        read=_read_nested,
    ),
    # Any Python function: the key is computed in the map, written as field 0, and only the
    # payload (field 1) becomes the record's data.
    "python-function": Route(
        shape=lambda ds: ds.map(
            lambda p: Row(p[0].upper(), json.dumps({"customer": p[0], "seq": p[1]})),
            output_type=KEY_AND_PAYLOAD,
        ),
        key_of=lambda row: row[0],
        schema=lambda: RowFieldSerializationSchema(1),
        keys=PartitionKeyGenerator.from_field(0),
        read=_read_payload,
        expected_key=str.upper,
    ),
}


@dataclass
class Placement:
    """Where each key's records landed and in which order, from a stream read back."""

    shards: dict[str, set[str]]
    partition_keys: dict[str, set[str]]
    seqs: dict[str, list[int]]

    @staticmethod
    def of(records: Iterable[KinesisRecord], read: Callable[[str], tuple[str, int]]) -> Placement:
        placement = Placement(defaultdict(set), defaultdict(set), defaultdict(list))
        for record in records:  # shard by shard, each in sequence order
            key, seq = read(record.text)
            placement.shards[key].add(record.shard_id)
            placement.partition_keys[key].add(record.partition_key)
            placement.seqs[key].append(seq)
        return placement

    def out_of_order(self) -> int:
        """Records written after a record of their key that was produced later."""
        late = 0
        for seqs in self.seqs.values():
            highest = -1
            for seq in seqs:
                late += seq < highest
                highest = max(highest, seq)
        return late

    def report(self, run: str) -> str:
        one_shard = sum(len(shards) == 1 for shards in self.shards.values())
        return (
            f"KEYED | {run} | keys in one shard: {one_shard}/{len(self.shards)} | "
            f"records {sum(len(s) for s in self.seqs.values())} | "
            f"written out of order: {self.out_of_order()}"
        )


def write_keyed(route: Route, aws_config: dict[str, object], stream: str,
                per_key: int = PER_KEY, **options: Any) -> None:
    """Produce ``per_key`` records of each key in order (``PRODUCED``), key them in Python,
    write them through the route's sink."""
    env = keyed_env()
    records = [(key, seq) for key, seq in PRODUCED if seq < per_key]
    produced = env.from_collection(records, type_info=PAIR)  # one source subtask: in order
    builder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(route.schema())
        .set_partition_key_generator(route.keys)
        .set_stream_name(stream)
        .set_max_time_in_buffer_ms(100)
    )
    for name, value in options.items():
        getattr(builder, f"set_{name}")(value)
    # The shaping map at the source's parallelism of 1: records reach key_by in order.
    route.shape(produced).set_parallelism(1).key_by(route.key_of).sink_to(builder.build())
    env.execute("keyed write")


def assert_each_key_in_one_shard_under_its_key(
    placement: Placement, route: Route, per_key: int = PER_KEY
) -> None:
    assert sorted(placement.seqs) == KEYS
    for key in KEYS:
        assert sorted(placement.seqs[key]) == list(range(per_key)), f"{key}: lost or doubled"
        assert len(placement.shards[key]) == 1, f"{key} is in {placement.shards[key]}"
        assert placement.partition_keys[key] == {route.expected_key(key)}


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_each_key_keeps_one_shard_and_its_order_with_one_request_in_flight(
    route: Route,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    stream = stream_factory(4)
    write_keyed(route, aws_config, stream, max_in_flight_requests=1)
    placement = Placement.of(local_kinesis.read_all(stream), route.read)
    print(placement.report(f"{route.keys!r}, 1 request in flight"))
    assert_each_key_in_one_shard_under_its_key(placement, route)
    assert placement.out_of_order() == 0
    assert len(set().union(*placement.shards.values())) > 1  # the keys spread over shards


@dataclass(frozen=True)
class Throttled:
    """A sink setting under test; ``throttled`` lets the proxy reject entries of PutRecords."""

    in_flight: int
    batch: int
    throttled: bool = True
    per_key: int = THROTTLED_PER_KEY


THROTTLING = {
    "50-in-flight-no-faults": Throttled(50, 50, throttled=False, per_key=PER_KEY),
    "default-settings": Throttled(50, 500),
    "one-request-in-flight": Throttled(1, 500),
    "one-record-per-request": Throttled(1, 1),
}


@pytest.mark.parametrize("case", THROTTLING.values(), ids=THROTTLING.keys())
def test_keys_keep_their_shard_under_throttling_and_order_needs_one_record_per_request(
    case: Throttled,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """PutRecords answers with some entries throttled, as Kinesis does when a shard is over its
    quota; the sink sends them again in a later request. Their key, so their shard, stays;
    their order does not, unless each request holds one record: the entries of the same
    request that were not throttled (later records of the same keys among them) are already
    written. Every case is measured; only the last promises order."""
    route = ROUTES["from-field-by-name"]
    stream = stream_factory(4)
    with FaultProxy(local_kinesis.endpoint, seed=16) as proxy:
        rule = proxy.inject(
            PartialFailure(entry_rate=0.3), operation="PutRecords",
            when=Rate(0.3 if case.throttled else 0.0),
        )
        write_keyed(
            route, {**aws_config, "aws.endpoint": proxy.endpoint}, stream, case.per_key,
            max_in_flight_requests=case.in_flight, max_batch_size=case.batch,
        )
    placement = Placement.of(local_kinesis.read_all(stream), route.read)
    print(placement.report(
        f"max_in_flight_requests={case.in_flight}, max_batch_size={case.batch}: "
        f"{rule.failed_entries} entries throttled in {rule.injected} of {rule.matched} PutRecords"
    ))
    assert (rule.failed_entries > 0) == case.throttled
    assert_each_key_in_one_shard_under_its_key(placement, route, case.per_key)
    if case.batch == 1:
        assert placement.out_of_order() == 0


class TagSubtask(MapFunction):  # type: ignore[misc]
    """Prefixes each record with the index of the subtask that handled it: ``<index>|<seq>``."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self.index = runtime_context.get_index_of_this_subtask()

    def map(self, value: str) -> str:
        return f"{self.index}|{value}"


@pytest.mark.parametrize(
    "keys",
    [
        PartitionKeyGenerator.fixed(),
        PartitionKeyGenerator.custom(
            "org.apache.flink.connector.kinesis.table.FixedKinesisPartitionKeyGenerator"
        ),
    ],
    ids=["fixed", "connectors-fixed-through-custom"],
)
def test_fixed_keys_are_one_per_sink_subtask(
    keys: PartitionKeyGenerator,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    stream = stream_factory(4)
    env = keyed_env()
    sink = (
        string_sink_builder(aws_config, stream)
        .set_partition_key_generator(keys)
        .set_max_in_flight_requests(1)
        .build()
    )
    records = [str(seq) for seq in range(900)]
    # The tagging map is chained to the sink: a record's tag is its sink subtask.
    env.from_collection(records, type_info=Types.STRING()).rebalance().map(
        TagSubtask(), output_type=Types.STRING()
    ).sink_to(sink)
    env.execute("fixed keys")
    arrived = local_kinesis.read_all(stream)
    assert sorted(int(r.text.split("|")[1]) for r in arrived) == list(range(900))
    assert all(r.partition_key == r.text.split("|")[0] for r in arrived)
    assert {r.partition_key for r in arrived} == {str(i) for i in range(PARALLELISM)}
    placement = Placement.of(arrived, lambda text: (text.split("|")[0], int(text.split("|")[1])))
    print(placement.report(f"{keys!r} at parallelism {PARALLELISM}"))
    assert all(len(shards) == 1 for shards in placement.shards.values())
    assert placement.out_of_order() == 0


def test_sql_fixed_partitioner_gives_one_key_per_sink_subtask(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(4)
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("python.executable", sys.executable)
    t_env.get_config().set("parallelism.default", str(PARALLELISM))
    t_env.execute_sql(
        "CREATE TABLE numbers (id BIGINT) WITH ('connector' = 'datagen', "
        "'number-of-rows' = '600', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
        "'fields.id.end' = '600')"
    )
    t_env.execute_sql(f"""
        CREATE TABLE keyed (id BIGINT) WITH (
          'connector' = 'kinesis', 'stream' = '{stream}', 'format' = 'json',
          'aws.region' = '{local_kinesis.region}', 'aws.endpoint' = '{local_kinesis.endpoint}',
          'aws.credentials.provider' = 'BASIC', 'aws.credentials.basic.accesskeyid' = 'k',
          'aws.credentials.basic.secretkey' = 's',
          'sink.partitioner' = 'fixed', 'sink.requests.max-inflight' = '1')""")
    t_env.execute_sql("INSERT INTO keyed SELECT id FROM numbers").wait()
    arrived = local_kinesis.read_all(stream)
    assert sorted(json.loads(r.text)["id"] for r in arrived) == list(range(1, 601))
    by_key: dict[str, list[KinesisRecord]] = defaultdict(list)
    for record in arrived:
        by_key[record.partition_key].append(record)
    print(f"KEYED | SQL 'fixed' at parallelism {PARALLELISM} | keys {sorted(by_key)} | "
          f"shards per key {[len({r.shard_id for r in rs}) for rs in by_key.values()]}")
    assert sorted(by_key) == [str(i) for i in range(PARALLELISM)]
    for records in by_key.values():
        ids = [json.loads(r.text)["id"] for r in records]
        assert len({r.shard_id for r in records}) == 1
        assert ids == sorted(ids)  # each subtask's records in the order it wrote them


def test_per_key_order_holds_from_input_stream_to_output_stream(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, aws_config: dict[str, object]
) -> None:
    """Kinesis in (keyed by customer) -> FlinkKinesisConsumer -> key_by in Python ->
    from_field -> Kinesis out: each customer's records leave in the order they came in."""
    source, out = stream_factory(4), stream_factory(4)
    texts = [json.dumps({"customer": key, "seq": seq}) for key, seq in PRODUCED]
    local_kinesis.put_records(source, texts, [key for key, _ in PRODUCED])
    env = keyed_env(2)
    consumer = FlinkKinesisConsumer(
        source, SimpleStringSchema(), {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(JsonRowSerializationSchema.builder().with_type_info(NAMED).build())
        .set_partition_key_generator(PartitionKeyGenerator.from_field("customer"))
        .set_stream_name(out)
        .set_max_in_flight_requests(1)
        .set_max_time_in_buffer_ms(100)
        .build()
    )
    env.add_source(consumer).map(
        lambda text: Row(customer=json.loads(text)["customer"], seq=json.loads(text)["seq"]),
        output_type=NAMED,
    ).key_by(lambda row: row.customer).sink_to(sink)
    job = start(env, "keyed copy")
    try:
        job.wait_for(
            lambda: len(local_kinesis.read_all(out)) >= len(PRODUCED) or None, 240, "every record"
        )
    finally:
        job.cancel()
    placement = Placement.of(local_kinesis.read_all(out), _read_payload)
    print(placement.report("Kinesis -> key_by -> from_field('customer')"))
    assert_each_key_in_one_shard_under_its_key(placement, ROUTES["from-field-by-name"])
    assert placement.out_of_order() == 0


def bad_input_env(
    keys: PartitionKeyGenerator, texts: list[str], aws_config: dict[str, object], stream: str
) -> StreamExecutionEnvironment:
    """A one-subtask job writing ``texts`` with ``keys``, failing at its first error."""
    env = failing_env()
    sink = string_sink_builder(aws_config, stream).set_partition_key_generator(keys).build()
    env.from_collection(texts, type_info=Types.STRING()).sink_to(sink)
    return env


LONG_KEY = "k" * 257
BAD_KEYS = [
    '{"id": "a"}', '{"id": "b"}', "not json", '{"other": 1}', '{"id": null}',
    json.dumps({"id": LONG_KEY}), '{"id": "c"}',
]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (BAD_KEYS[:3], "record 3 of sink subtask 1 of 1 (counted from 1 since the subtask "
                       "started): the record is not valid JSON"),
        (BAD_KEYS[:2] + BAD_KEYS[3:4], "record 3 of sink subtask 1 of 1 (counted from 1 since "
                                       "the subtask started): the record has no field 'id' or "
                                       "it is null; give every record the field, or set "
                                       "default_key"),
        (BAD_KEYS[5:6], "record 1 of sink subtask 1 of 1 (counted from 1 since the subtask "
                        "started): the key is 257 characters long and Kinesis takes 1 to 256; "
                        "shorten the field, or set hash_long_keys=True"),
    ],
    ids=["not-json", "missing", "too-long"],
)
def test_a_record_without_a_usable_key_fails_the_job_naming_field_and_record(
    texts: list[str],
    message: str,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    env = bad_input_env(PartitionKeyGenerator.json_field("id"), texts, aws_config,
                        stream_factory(1))
    causes = job_failure(start(env, "bad keys"))
    assert f"json_field('id') has no partition key for {message}" in causes, causes


def test_chosen_fallbacks_write_every_record_under_a_documented_key(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, aws_config: dict[str, object]
) -> None:
    stream = stream_factory(2)
    keys = PartitionKeyGenerator.json_field("id", default_key="unkeyed", hash_long_keys=True)
    bad_input_env(keys, BAD_KEYS, aws_config, stream).execute("fallback keys")
    arrived = {r.text: r.partition_key for r in local_kinesis.read_all(stream)}
    assert len(arrived) == len(BAD_KEYS)
    assert arrived == {
        BAD_KEYS[0]: "a", BAD_KEYS[1]: "b", BAD_KEYS[2]: "unkeyed", BAD_KEYS[3]: "unkeyed",
        BAD_KEYS[4]: "unkeyed", BAD_KEYS[5]: hashlib.sha256(LONG_KEY.encode()).hexdigest(),
        BAD_KEYS[6]: "c",
    }
