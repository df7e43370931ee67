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
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

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
from pyflink_kinesis.testing.fault_proxy import (
    Delay,
    Every,
    Fault,
    FaultProxy,
    FaultRule,
    PartialFailure,
    Rate,
    Reset,
    internal_failure,
    throttle,
)
from tests.e2e.jobs import (
    failing_env,
    job_failure,
    start,
    string_sink_builder,
    wait_for_new_checkpoint,
)
from tests.e2e.test_restore import TIMEOUT_S, checkpointed_env, legacy_consumer

StreamFactory = Callable[..., str]
KEYS = [f"customer-{k}" for k in range(7)]
PER_KEY = 320
PARALLELISM = 3
#: Records in the order the job produces them: the keys interleaved, each key's seq rising.
PRODUCED = [(KEYS[i % len(KEYS)], i // len(KEYS)) for i in range(len(KEYS) * PER_KEY)]
#: Fewer for the throttling measurements (one of them sends each record on its own).
THROTTLED_PER_KEY = 60
#: For the ordered sink under faults: each key's records go one round trip apart.
ORDERED_PER_KEY = 160
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


class Stored(Protocol):
    """A record read back: a Kinesis record, or a user record taken out of an aggregate."""

    @property
    def shard_id(self) -> str: ...

    @property
    def partition_key(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass
class Placement:
    """Where each key's records landed and in which order, from a stream read back."""

    shards: dict[str, set[str]]
    partition_keys: dict[str, set[str]]
    seqs: dict[str, list[int]]

    @staticmethod
    def of(records: Iterable[Stored], read: Callable[[str], tuple[str, int]]) -> Placement:
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

    def first_copies(self) -> dict[str, list[int]]:
        """Each key's records in the order their first copies were written."""
        return {key: list(dict.fromkeys(seqs)) for key, seqs in self.seqs.items()}

    def copies(self) -> int:
        """Records written more than once (at-least-once), counted once per extra copy."""
        return sum(len(seqs) - len(set(seqs)) for seqs in self.seqs.values())

    def keys_out_of_order(self, first_copies: bool = False) -> int:
        """Keys with a record written after a record of theirs produced later; with
        ``first_copies``, counting only the first copy of each record."""
        keys = self.first_copies() if first_copies else self.seqs
        return sum(
            any(seq < highest for seq, highest in zip(seqs[1:], _running_max(seqs)))
            for seqs in keys.values()
        )

    def report(self, run: str) -> str:
        one_shard = sum(len(shards) == 1 for shards in self.shards.values())
        return (
            f"KEYED | {run} | keys in one shard: {one_shard}/{len(self.shards)} | "
            f"records {sum(len(s) for s in self.seqs.values())} | "
            f"written out of order: {self.out_of_order()} | keys out of order: "
            f"{self.keys_out_of_order()} ({self.keys_out_of_order(first_copies=True)} counting "
            f"first copies only) | copies: {self.copies()}"
        )


def _running_max(seqs: list[int]) -> list[int]:
    """For each position, the highest of the values up to and including it."""
    highest, result = -1, []
    for seq in seqs:
        highest = max(highest, seq)
        result.append(highest)
    return result


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


#: What the ordered sink meets in each job, besides throttled entries and delays: whole
#: requests failing, each kind at most once per rule. The SDK tries a request 4 times and a
#: reset on the 4th fails the job, so no job has more than 3 such faults.
WHOLE_REQUEST_FAULTS: dict[str, Sequence[Fault]] = {
    "500, reset after forwarding, throttled request": (
        internal_failure(), Reset(after_forward=True), throttle(),
    ),
    "reset before and after forwarding": (Reset(), Reset(after_forward=True)),
}


def inject_sink_faults(proxy: FaultProxy, whole_request: Sequence[Fault]) -> list[FaultRule]:
    """Every fault a PutRecords caller meets: a fifth of the requests get 30% of their entries
    throttled, some are delayed (so later requests overtake them), and the ``whole_request``
    faults fail one request each."""
    rules = [
        proxy.inject(PartialFailure(entry_rate=0.3), operation="PutRecords", when=Rate(0.2)),
        proxy.inject(Delay(0.2), operation="PutRecords", when=Rate(0.05), limit=10),
    ]
    for index, fault in enumerate(whole_request):
        rules.append(
            proxy.inject(fault, operation="PutRecords", when=Every(5 + index), limit=1)
        )
    return rules


def faults_report(rules: Sequence[FaultRule]) -> str:
    return ", ".join(
        f"{type(r.fault).__name__}"
        + (f"[{r.fault.error_type}]" if hasattr(r.fault, "error_type") else "")
        + (" after forwarding" if getattr(r.fault, "after_forward", False) else "")
        + f" {r.injected}x"
        + (f" ({r.failed_entries} entries)" if r.failed_entries else "")
        for r in rules
    )


def assert_in_order_none_lost(placement: Placement, per_key: int = PER_KEY) -> None:
    """Every record of every key is there, and the first copy of each comes before every later
    record of its key (a request stored twice repeats its records after them)."""
    assert sorted(placement.seqs) == KEYS
    assert placement.first_copies() == {key: list(range(per_key)) for key in KEYS}


@dataclass(frozen=True)
class OrderedCase:
    """The ordered sink under faults: requests in flight, batch size, the whole-request faults."""

    in_flight: int
    batch: int
    faults: str


ORDERED = {
    "50-in-flight": OrderedCase(50, 500, "500, reset after forwarding, throttled request"),
    "5-in-flight-batches-of-20": OrderedCase(5, 20, "reset before and after forwarding"),
}


@pytest.mark.parametrize("case", ORDERED.values(), ids=ORDERED.keys())
def test_keep_key_order_writes_each_keys_records_in_order_through_every_fault(
    case: OrderedCase,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """``set_keep_key_order()``, after a Python map and ``key_by``: throttled entries, failed,
    reset and delayed requests, and requests in flight together (the faults that reorder the
    connector's sink, above). Every key's records are written in order; a request sent again
    after a reset may store its records twice, next to each other."""
    route = ROUTES["from-field-by-name"]
    stream = stream_factory(4)
    with FaultProxy(local_kinesis.endpoint, seed=23) as proxy:
        rules = inject_sink_faults(proxy, WHOLE_REQUEST_FAULTS[case.faults])
        write_keyed(
            route, {**aws_config, "aws.endpoint": proxy.endpoint}, stream, ORDERED_PER_KEY,
            max_in_flight_requests=case.in_flight, max_batch_size=case.batch,
            keep_key_order=True,
        )
    placement = Placement.of(local_kinesis.read_all(stream), route.read)
    print(placement.report(
        f"keep_key_order, max_in_flight_requests={case.in_flight}, "
        f"max_batch_size={case.batch}: {faults_report(rules)}"
    ))
    assert_in_order_none_lost(placement, ORDERED_PER_KEY)
    assert placement.keys_out_of_order() == 0  # a plain record's copy comes right after it
    assert all(rule.injected > 0 for rule in rules), rules
    assert all(len(shards) == 1 for shards in placement.shards.values())


def runs(seqs: list[int]) -> list[list[int]]:
    """``seqs`` cut into rising runs: wherever a record comes again, or after a later one."""
    cut: list[list[int]] = []
    for seq in seqs:
        if not cut or seq <= cut[-1][-1]:
            cut.append([])
        cut[-1].append(seq)
    return cut


class FailWhenArmed(MapFunction):  # type: ignore[misc]
    """Passes records on; once ``armed`` exists, raises on the next record, once across
    restarts (``failed`` marks it)."""

    def __init__(self, armed: str, failed: str) -> None:
        self.armed = armed
        self.failed = failed

    def map(self, value: str) -> str:
        if Path(self.armed).exists():
            try:
                Path(self.failed).touch(exist_ok=False)
            except FileExistsError:
                return value
            raise RuntimeError(f"injected failure at record {value}")
        return value


def test_keep_key_order_after_a_restore_writes_again_in_order_what_came_after_the_checkpoint(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
) -> None:
    """Kinesis -> a Python map that fails once -> key_by -> ordered sink, checkpointed every
    500 ms. Half of each key's records are written and checkpointed; while the next part is
    being written (the sink holds a backlog, in its state at each checkpoint) the job fails
    and restarts from its last checkpoint. Each key's records are all there, their first
    copies in order, followed at most by one repeated run (what was written between the
    checkpoint and the failure), in order too."""
    source, out = stream_factory(4), stream_factory(4)
    half, last = PER_KEY // 2, PER_KEY - 10
    parts = [
        [(json.dumps({"customer": key, "seq": seq}), key) for key, seq in PRODUCED
         if low <= seq < high]
        for low, high in ((0, half), (half, last), (last, PER_KEY))
    ]
    checkpoints, armed, failed = (
        tmp_path / "checkpoints", tmp_path / "armed", tmp_path / "failed"
    )
    env = checkpointed_env(checkpoints, **{
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "3",
        "restart-strategy.fixed-delay.delay": "1 s",
    })
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(JsonRowSerializationSchema.builder().with_type_info(NAMED).build())
        .set_partition_key_generator(PartitionKeyGenerator.from_field("customer"))
        .set_stream_name(out)
        .set_max_time_in_buffer_ms(100)
        .set_keep_key_order()
        .build()
    )
    legacy_consumer(env, aws_config, source).map(
        FailWhenArmed(str(armed), str(failed)), output_type=Types.STRING()
    ).map(
        lambda text: Row(customer=json.loads(text)["customer"], seq=json.loads(text)["seq"]),
        output_type=NAMED,
    ).key_by(lambda row: row.customer).sink_to(sink)

    def put(part: list[tuple[str, str]]) -> None:
        local_kinesis.put_records(source, [text for text, _ in part], [key for _, key in part])

    def written(count: int) -> Placement | None:
        """What ``out`` holds, once it holds ``count`` distinct records."""
        placement = Placement.of(local_kinesis.read_all(out), _read_payload)
        distinct = sum(len(set(seqs)) for seqs in placement.seqs.values())
        return placement if distinct >= count else None

    put(parts[0])
    job = start(env, "ordered restore")
    try:
        job.wait_for(lambda: written(len(parts[0])), TIMEOUT_S, "the first half")
        wait_for_new_checkpoint(job, checkpoints)
        put(parts[1])
        job.wait_for(lambda: written(len(parts[0]) + 100), TIMEOUT_S, "the next part begun")
        armed.touch()
        put(parts[2])  # the map fails on the first of these
        placement = job.wait_for(lambda: written(len(PRODUCED)), TIMEOUT_S, "every record")
    finally:
        job.cancel_and_wait()
    cut = {key: runs(seqs) for key, seqs in placement.seqs.items()}
    repeated = {key: (r[1][0], r[1][-1]) for key, r in cut.items() if len(r) > 1}
    print(placement.report("keep_key_order, failure + restart from a checkpoint")
          + f" | repeated runs (first, last seq): {repeated}")
    assert failed.exists()  # the failure was injected
    assert_in_order_none_lost(placement)
    assert all(len(key_runs) <= 2 for key_runs in cut.values()), cut
    # Restored from a checkpoint after the first half, not from the stream's start.
    assert all(first >= half for first, _ in repeated.values()), repeated


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


def test_sql_keep_key_order_writes_each_keys_records_in_order_through_every_fault(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    """``'sink.keep-key-order' = 'true'`` on a kinesis table keyed by a column (PARTITIONED BY):
    the faults of the DataStream test, the same order."""
    stream = stream_factory(4)
    per_key = 100
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("python.executable", sys.executable)
    t_env.get_config().set("parallelism.default", "1")  # the records reach the sink in order
    t_env.execute_sql(
        f"CREATE TABLE numbers (id BIGINT) WITH ('connector' = 'datagen', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '0', "
        f"'fields.id.end' = '{len(KEYS) * per_key - 1}')"
    )
    with FaultProxy(local_kinesis.endpoint, seed=41) as proxy:
        rules = inject_sink_faults(
            proxy, WHOLE_REQUEST_FAULTS["500, reset after forwarding, throttled request"]
        )
        t_env.execute_sql(f"""
            CREATE TABLE keyed (customer STRING, seq BIGINT) PARTITIONED BY (customer) WITH (
              'connector' = 'kinesis', 'stream' = '{stream}', 'format' = 'json',
              'aws.region' = '{local_kinesis.region}', 'aws.endpoint' = '{proxy.endpoint}',
              'aws.credentials.provider' = 'BASIC', 'aws.credentials.basic.accesskeyid' = 'k',
              'aws.credentials.basic.secretkey' = 's', 'sink.flush-buffer.timeout' = '100',
              'sink.batch.max-size' = '20', 'sink.keep-key-order' = 'true')""")
        t_env.execute_sql(
            f"INSERT INTO keyed SELECT CONCAT('customer-', CAST(id % {len(KEYS)} AS STRING)), "
            f"id / {len(KEYS)} FROM numbers"
        ).wait()
    placement = Placement.of(local_kinesis.read_all(stream), _read_payload)
    print(placement.report(f"SQL 'sink.keep-key-order': {faults_report(rules)}"))
    assert_in_order_none_lost(placement, per_key)
    assert placement.keys_out_of_order() == 0
    assert all(rule.injected > 0 for rule in rules), rules
    assert all(keys == {key} for key, keys in placement.partition_keys.items())


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
        job.cancel_and_wait()
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
