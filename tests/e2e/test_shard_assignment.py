"""Which source subtask reads which shard, observed in real jobs on kinesalite.

Each job tags every record, right after the source and with the source's parallelism, with
the index of the subtask that saw it. The plan shows FORWARD between the two, so map subtask
*i* is source subtask *i*. Every record was written with boto3, which reports its shard, so
the output read back from Kinesis tells which subtask read which shard. The expected spreads
come from ``tests/support/shard_assigners.py`` (the connector's rules restated in Python),
which the first test checks against the Java assigners.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from typing import Callable, Iterable, Mapping

import pytest
from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, MapFunction, RuntimeContext, StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisConfigError,
    KinesisShardAssigner,
    gateway,
)
from pyflink_kinesis._java import java_class
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import ArrivalOrder, Job, start, string_sink
from tests.support.shard_assigners import (
    default_assign,
    default_spread,
    subtask_for,
    uniform_assign,
    uniform_spread,
)

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0
CONNECTORS = "org.apache.flink.streaming.connectors.kinesis"
TAG = "tag subtask"


class TagSubtask(MapFunction):  # type: ignore[misc]
    """Prefixes each record with the index of the subtask that saw it: ``<index>|<record>``."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self.index = runtime_context.get_index_of_this_subtask()

    def map(self, value: str) -> str:
        return f"{self.index}|{value}"


def tagged_source(
    env: StreamExecutionEnvironment,
    stream: str,
    aws_config: Mapping[str, object],
    parallelism: int,
    assigner: KinesisShardAssigner | None,
    **config: object,
) -> DataStream:
    """The stream's records read from TRIM_HORIZON with ``parallelism`` subtasks, each tagged
    by the source subtask that read it (asserted to be forwarded, see ``assert_forwarded``)."""
    config = {**aws_config, "flink.stream.initpos": "TRIM_HORIZON", **config}
    consumer = FlinkKinesisConsumer(stream, SimpleStringSchema(), config)
    if assigner is not None:
        consumer.set_shard_assigner(assigner)
    return (
        env.add_source(consumer, "kinesis")
        .set_parallelism(parallelism)
        .map(TagSubtask(), output_type=Types.STRING())
        .name(TAG)
        .set_parallelism(parallelism)
    )


def assert_forwarded(env: StreamExecutionEnvironment) -> None:
    """The tagging map takes the source's records one to one: same parallelism, FORWARD.

    PyFlink may fuse the next Python step into the map's node (``tag subtask, ...``)."""
    nodes = {node["id"]: node for node in json.loads(env.get_execution_plan())["nodes"]}
    (tag,) = (node for node in nodes.values() if node["type"].split(", ")[0] == TAG)
    (edge,) = tag["predecessors"]
    source = nodes[edge["id"]]
    assert source["type"] == "Source: kinesis"
    assert edge["ship_strategy"] == "FORWARD"
    assert tag["parallelism"] == source["parallelism"]


def read_tagged(
    job: Job, local_kinesis: LocalKinesis, out: str, count: int
) -> list[tuple[int, str]]:
    """Wait until ``out`` holds ``count`` records; return them as (subtask, rest of record)."""

    def arrived() -> list[str] | None:
        texts = [r.text for r in local_kinesis.read_all(out)]
        return texts if len(texts) >= count else None

    texts = job.wait_for(arrived, TIMEOUT_S, f"{count} records in {out}")
    return [(int(index), rest) for index, rest in (t.split("|", 1) for t in texts)]


def observed_spread(
    tagged: Iterable[tuple[int, str]], shard_of: Mapping[str, str]
) -> dict[str, set[int]]:
    """Shard id -> the subtasks that emitted its records."""
    readers: dict[str, set[int]] = defaultdict(set)
    for index, payload in tagged:
        readers[shard_of[payload]].add(index)
    return dict(readers)


def only_reader(readers: Mapping[str, set[int]]) -> dict[str, int]:
    """Shard id -> its one reader; fails if a shard was read by several subtasks."""
    assert {shard: len(r) for shard, r in readers.items()} == {shard: 1 for shard in readers}
    return {shard: next(iter(r)) for shard, r in readers.items()}


def shards_per_subtask(spread: Mapping[str, int], parallelism: int) -> list[int]:
    return [list(spread.values()).count(index) for index in range(parallelism)]


def run_spread_job(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    assigner: KinesisShardAssigner | None,
    shards: int,
    parallelism: int,
) -> tuple[str, dict[str, int]]:
    """Read a ``shards``-shard stream with ``parallelism`` subtasks; check nothing is lost or
    read twice; return the stream's name and shard id -> subtask."""
    source, out = stream_factory(shards), stream_factory(1)
    payloads = [f"record-{i}" for i in range(50 * shards)]
    shard_of = {
        payload: put.shard_id
        for payload, put in zip(payloads, local_kinesis.put_records(source, payloads))
    }
    assert len(set(shard_of.values())) == shards  # every shard has records to read

    sink = string_sink(aws_config, out)
    tagged_source(env, source, aws_config, parallelism, assigner).sink_to(sink)
    assert_forwarded(env)
    job = start(env, "shard spread")
    try:
        tagged = read_tagged(job, local_kinesis, out, len(payloads))
    finally:
        job.cancel()
    assert Counter(payload for _, payload in tagged) == Counter(payloads)
    return source, only_reader(observed_spread(tagged, shard_of))


def assigners_of(*assigners: KinesisShardAssigner | None) -> list[object]:
    """The Java assigner a consumer holds after ``set_shard_assigner`` (None: none set)."""
    found = []
    for assigner in assigners:
        consumer = FlinkKinesisConsumer("s", SimpleStringSchema(), {"aws.region": "us-east-1"})
        if assigner is not None:
            consumer.set_shard_assigner(assigner)
        found.append(consumer._j_kinesis_consumer.getShardAssigner())
    return found


def assert_python_rule_matches(rule: str, j_assigner: object) -> None:
    """``rule`` ("default" or "uniform") gives what ``j_assigner`` gives, and the fetcher's
    subtask choice is ``subtask_for``; checked on 100 random streams, shards and parallelisms."""
    jvm = gateway.jvm()
    model = jvm.org.apache.flink.kinesis.shaded.com.amazonaws.services.kinesis.model
    handle = java_class(jvm, f"{CONNECTORS}.model.StreamShardHandle")
    fetcher = java_class(jvm, f"{CONNECTORS}.internals.KinesisDataFetcher")
    rnd = random.Random(4)
    for _ in range(100):
        stream = f"stream-{uuid.UUID(int=rnd.getrandbits(128))}-ü"
        shard_id = f"shardId-{rnd.randrange(10**12):012d}"
        start_key, end_key = sorted(str(rnd.randrange(2**128)) for _ in range(2))
        key_range = model.HashKeyRange().withStartingHashKey(start_key).withEndingHashKey(end_key)
        shard = handle(stream, model.Shard().withShardId(shard_id).withHashKeyRange(key_range))
        parallelism = rnd.randrange(1, 9)
        if rule == "default":
            expected = default_assign(stream, shard_id)
        else:
            expected = uniform_assign(stream, start_key, end_key, parallelism)
        assigned = j_assigner.assign(shard, parallelism)  # type: ignore[attr-defined]
        assert assigned == expected, (rule, stream, shard_id, parallelism)
        subtask = subtask_for(assigned, parallelism)
        assert fetcher.isThisSubtaskShouldSubscribeTo(assigned, parallelism, subtask)


def test_python_rules_match_the_connector_default_and_uniform_assigners() -> None:
    connector_default, uniform = assigners_of(None, KinesisShardAssigner.uniform_shard_assigner())
    assert_python_rule_matches("default", connector_default)
    assert_python_rule_matches("uniform", uniform)


def test_default_shard_assigner_is_the_connector_default() -> None:
    (ours,) = assigners_of(KinesisShardAssigner.default_shard_assigner())
    assert_python_rule_matches("default", ours)


@pytest.mark.parametrize(
    "assigner",
    [
        KinesisShardAssigner.uniform_shard_assigner(),
        KinesisShardAssigner.custom(f"{CONNECTORS}.util.UniformShardAssigner"),
    ],
    ids=["uniform", "custom-by-class-name"],
)
def test_uniform_assigner_gives_each_of_4_subtasks_2_of_8_shards(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    assigner: KinesisShardAssigner,
) -> None:
    source, spread = run_spread_job(
        env, local_kinesis, stream_factory, aws_config, assigner, shards=8, parallelism=4
    )
    print(f"uniform spread on {source}: {spread}")
    assert shards_per_subtask(spread, 4) == [2, 2, 2, 2]
    assert spread == uniform_spread(source, local_kinesis.list_shards(source), 4)


def test_default_assigner_spreads_by_hash_of_stream_and_shard_id(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, spread = run_spread_job(
        env, local_kinesis, stream_factory, aws_config, None, shards=8, parallelism=4
    )
    print(f"default spread on {source}: {spread}, per subtask {shards_per_subtask(spread, 4)}")
    assert spread == default_spread(source, spread, 4)
    assert set(spread) == {s["ShardId"] for s in local_kinesis.list_shards(source)}


@pytest.mark.parametrize(
    ("class_name", "message"),
    [
        (
            "no.such.Assigner",
            "the Java class could not be loaded (java.lang.ClassNotFoundException: "
            "no.such.Assigner); check the fully qualified name and add the jar that holds it "
            "with env.add_jars(",
        ),
        ("java.lang.String", f"does not implement {CONNECTORS}.KinesisShardAssigner"),
        (f"{CONNECTORS}.KinesisShardAssigner", "must be a concrete class with a public no-arg"),
    ],
    ids=["missing", "not-an-assigner", "interface"],
)
def test_custom_assigner_errors_name_the_class_and_the_fix(class_name: str, message: str) -> None:
    consumer = FlinkKinesisConsumer("s", SimpleStringSchema(), {"aws.region": "us-east-1"})
    with pytest.raises(KinesisConfigError) as raised:
        consumer.set_shard_assigner(KinesisShardAssigner.custom(class_name))
    text = str(raised.value)
    assert f"KinesisShardAssigner.custom({class_name!r})" in text
    assert message in text


def test_split_shard_hands_the_children_to_idle_subtasks_in_key_order(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(1), stream_factory(1)
    (parent,) = (s["ShardId"] for s in local_kinesis.list_shards(source))
    keys = [f"key{k}" for k in range(8)]
    per_key = 25
    shard_of: dict[str, str] = {}

    def produce(batch: int) -> list[str]:
        """``per_key`` records ``key:n`` per key, each key's written in order."""
        first = batch * per_key
        texts = [f"{k}:{n}" for n in range(first, first + per_key) for k in keys]
        puts = local_kinesis.put_records(source, texts, [t.split(":")[0] for t in texts])
        shard_of.update((text, put.shard_id) for text, put in zip(texts, puts))
        return texts

    (
        tagged_source(
            env, source, aws_config, 3, KinesisShardAssigner.uniform_shard_assigner(),
            **{"flink.shard.discovery.intervalmillis": "1000"},
        )
        .key_by(lambda s: s.split("|")[1].split(":")[0], key_type=Types.STRING())
        .process(ArrivalOrder(), output_type=Types.STRING())
        .sink_to(string_sink(aws_config, out))
    )
    assert_forwarded(env)
    job = start(env, "split shard")
    try:
        before = produce(0)
        tagged_before = read_tagged(job, local_kinesis, out, len(before))
        local_kinesis.client().split_shard(
            StreamName=source, ShardToSplit=parent, NewStartingHashKey=str(2**127)
        )
        local_kinesis.wait_until_active(source)
        after = produce(1)
        tagged = read_tagged(job, local_kinesis, out, len(before) + len(after))
    finally:
        job.cancel()

    shards = local_kinesis.list_shards(source)
    children = {s["ShardId"] for s in shards if s.get("ParentShardId") == parent}
    assert len(children) == 2
    assert {shard_of[t] for t in before} == {parent}
    assert {shard_of[t] for t in after} == children  # both children have records to read

    records: list[tuple[int, str, int]] = []  # (source subtask, key:n, arrival of the key)
    for index, rest in tagged:
        text, arrival = rest.split("|")
        records.append((index, text, int(arrival)))
    assert Counter(text for _, text, _ in records) == Counter(before + after)
    readers = only_reader(observed_spread(((i, t) for i, t, _ in records), shard_of))
    print(f"split spread on {source}: {readers}")
    assert readers == uniform_spread(source, shards, 3)
    (parent_reader,) = {index for index, _ in tagged_before}
    assert sorted(readers[child] for child in children) == sorted({0, 1, 2} - {parent_reader})

    arrivals: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for _, text, arrived in records:
        key, n = text.split(":")
        arrivals[key].append((arrived, int(n)))
    for key, seen in arrivals.items():
        assert [n for _, n in sorted(seen)] == list(range(2 * per_key)), key
