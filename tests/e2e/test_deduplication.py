"""``KinesisStreamsSource`` with ``source.deduplication`` in a real PyFlink job on kinesalite.

The stream holds what a committing sink leaves after re-sending committables: KPL aggregates
whose user records carry a ``pfk-id`` tag (``<writer id as 32 hex>:<sequence number>``), some
of them written twice. The aggregates are built here, by hand, in the KPL format (the committing
sink is not part of this test). One job reads the stream with two sources: the de-duplicating
one emits each id once, and its subtasks' ``duplicatesDropped`` counters (read through Flink's
REST API) add up to the copies dropped; the other emits every user record as written. A third
source of the same job reads a stream whose two shards were merged between a commit and its
re-commit: the child shard keeps each parent's mark for the parent's hash key range. A fourth
reads a stream merged during a commit: aggregates aimed at the two parents, each named for its
parent by its ``pfk-shard:`` partition key as the committer names them, land in the child
interleaved, and the child keeps a mark per intended range.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Callable, Sequence

from pyflink.common import WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema

from pyflink_kinesis import KinesisStreamsSource
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import metrics_env, start, string_sink
from tests.e2e.test_source import hash_key, rest
from tests.support.flink_cluster import free_port

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0
MAGIC = b"\xf3\x89\x9a\xc2"
W1 = "0123456789abcdef0123456789abcdef"
W2 = "fedcba9876543210fedcba9876543210"


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, content: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(content)) + content


def aggregate(records: Sequence[tuple[str, str | None]]) -> bytes:
    """A KPL aggregate of ``(text, pfk-id tag value or None)`` user records, each with its text
    as partition key."""
    keys = sorted({text for text, _ in records})
    body = b"".join(_field(1, key.encode()) for key in keys)
    for text, record_id in records:
        record = _varint(1 << 3) + _varint(keys.index(text)) + _field(3, text.encode())
        if record_id is not None:
            record += _field(4, _field(1, b"pfk-id") + _field(2, record_id.encode()))
        body += _field(3, record)
    return MAGIC + body + hashlib.md5(body).digest()


def ids(writer: str, first: int, last: int) -> list[tuple[str, str | None]]:
    return [(f"{writer[:2]}-{n}", f"{writer}:{n}") for n in range(first, last + 1)]


def duplicates_dropped(port: int, job_id: str, vertex_name: str) -> int | None:
    """The sum of a vertex's ``duplicatesDropped`` counters, None before they are reported."""
    vertex = next(v for v in rest(port, f"/jobs/{job_id}")["vertices"]
                  if vertex_name in v["name"])
    path = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
    ids = [m["id"] for m in rest(port, path) if m["id"].endswith(".duplicatesDropped")]
    if not ids:
        return None
    return sum(int(m["value"]) for m in rest(port, f"{path}?get={','.join(ids)}"))


def merged_between_commits(local_kinesis: LocalKinesis, stream: str) -> list[str]:
    """On a 2-shard ``stream``: W1's committable 0..19 lands whole in the low shard and up to id
    5 in the high one; the shards are merged; the committable is sent again into the child. The
    texts of the committable, each of which a de-duplicating reader must emit once."""
    low, high = sorted(local_kinesis.list_shards(stream),
                       key=lambda shard: int(shard["HashKeyRange"]["StartingHashKey"]))
    middle = int(high["HashKeyRange"]["StartingHashKey"])
    records = [(f"m-{n}", f"{W1}:{n}") for n in range(20)]
    in_low = [r for r in records if hash_key(r[0]) < middle]
    in_high = [r for r in records if hash_key(r[0]) >= middle]
    landed_high = [r for r in in_high if int(r[1].split(":")[1]) <= 5]
    highest_low = max(int(r[1].split(":")[1]) for r in in_low)
    # Ids above the high shard's mark and below the low one's: a single mark would drop them.
    assert any(5 < int(r[1].split(":")[1]) < highest_low for r in in_high)
    client = local_kinesis.client()
    for landed in (in_low, landed_high):
        client.put_record(StreamName=stream, PartitionKey=landed[0][0], Data=aggregate(landed))
    client.merge_shards(StreamName=stream, ShardToMerge=low["ShardId"],
                        AdjacentShardToMerge=high["ShardId"])
    local_kinesis.wait_until_active(stream)
    client.put_record(StreamName=stream, PartitionKey="p", Data=aggregate(records))
    return [text for text, _ in records]


def merged_during_a_commit(local_kinesis: LocalKinesis, stream: str) -> list[str]:
    """On a 2-shard ``stream`` merged after the committing sink listed its shards: W2's
    aggregates aimed at the two parents (explicit hash key: the parent's first; partition key:
    ``pfk-shard:<first>-<last>``) land in the child interleaved, low, high, low; the job fails
    before the second high one; after the restore the committable is sent again, aimed at the
    child. The texts of the committable, each of which a de-duplicating reader must emit once."""
    low, high = sorted(local_kinesis.list_shards(stream),
                       key=lambda shard: int(shard["HashKeyRange"]["StartingHashKey"]))
    low_range, high_range = ((int(shard["HashKeyRange"]["StartingHashKey"]),
                              int(shard["HashKeyRange"]["EndingHashKey"])) for shard in (low, high))
    records = [(f"i-{n}", f"{W2}:{n}") for n in range(30)]
    in_low = [r for r in records if hash_key(r[0]) < high_range[0]]
    in_high = [r for r in records if hash_key(r[0]) >= high_range[0]]
    low_runs = (in_low[:len(in_low) // 2], in_low[len(in_low) // 2:])
    high_run = in_high[:len(in_high) // 2]

    def number(record: tuple[str, str | None]) -> int:
        return int(str(record[1]).split(":")[1])

    # The high run has ids below the first low run's last: one mark per writer would drop them.
    assert min(map(number, high_run)) < max(map(number, low_runs[0]))
    client = local_kinesis.client()
    client.merge_shards(StreamName=stream, ShardToMerge=low["ShardId"],
                        AdjacentShardToMerge=high["ShardId"])
    local_kinesis.wait_until_active(stream)
    for run, (first, last) in ((low_runs[0], low_range), (high_run, high_range),
                               (low_runs[1], low_range), (records, (low_range[0], high_range[1]))):
        client.put_record(StreamName=stream, PartitionKey=f"pfk-shard:{first}-{last}",
                          ExplicitHashKey=str(first), Data=aggregate(run))
    return [text for text, _ in records]


def test_the_deduplicating_source_emits_each_id_once_the_other_every_copy(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """W1's committable 5..9 is re-sent with 10..14 (5..9 land twice), W2's 0..4 is re-sent
    whole; user records without an id and a plain record pass both sources untouched. Across
    the merge, and across the merge during a commit, every record of the committable is emitted
    once."""
    stream, merged, interleaved = stream_factory(1), stream_factory(2), stream_factory(2)
    untagged: list[tuple[str, str | None]] = [(f"untagged-{n}", None) for n in range(3)]
    put = [
        aggregate(ids(W1, 0, 9)),
        aggregate(ids(W2, 0, 4) + untagged),
        aggregate(ids(W1, 5, 14)),
        aggregate(ids(W2, 0, 4)),
    ]
    client = local_kinesis.client()
    for data in put:
        client.put_record(StreamName=stream, PartitionKey="p", Data=data)
    local_kinesis.put_records(stream, ["plain"])
    once = Counter(
        [t for t, _ in ids(W1, 0, 14) + ids(W2, 0, 4) + untagged] + ["plain"])
    every_copy = once + Counter([t for t, _ in ids(W1, 5, 9) + ids(W2, 0, 4)])
    # name: (stream read, de-duplicating, what it must emit)
    reads = {
        "deduplicated": (stream, True, once),
        "every-copy": (stream, False, every_copy),
        "merged": (merged, True, Counter(merged_between_commits(local_kinesis, merged))),
        "interleaved": (interleaved, True,
                        Counter(merged_during_a_commit(local_kinesis, interleaved))),
    }

    port = free_port()
    env = metrics_env(port, 2)
    outs = {name: stream_factory(1) for name in reads}
    for name, (read, dedup, _) in reads.items():
        source = (
            KinesisStreamsSource.builder()
            .set_stream_name(read)
            .set_source_config({**aws_config, "source.init.position": "TRIM_HORIZON",
                                "source.deduplication": dedup})
            .set_deserialization_schema(SimpleStringSchema())
            .build()
        )
        (
            env.from_source(source, WatermarkStrategy.no_watermarks(), name)
            .sink_to(string_sink(aws_config, outs[name]))
        )
    job = start(env, "de-duplicating source")
    try:
        def texts(out: str) -> Counter[str]:
            return Counter(record.text for record in local_kinesis.read_all(out))

        job.wait_for(lambda: all(sum(texts(outs[name]).values()) >= sum(expected.values())
                                 for name, (_, _, expected) in reads.items()) or None,
                     TIMEOUT_S, "every output")
        time.sleep(1.0)  # a record emitted twice would arrive within the sink's 100 ms flush
        got = {name: texts(out) for name, out in outs.items()}
        job_id = str(job.client.get_job_id())
        copies = sum((every_copy - once).values())
        job.wait_for(
            lambda: duplicates_dropped(port, job_id, "deduplicated") == copies or None,
            TIMEOUT_S, f"duplicatesDropped = {copies}")
    finally:
        job.cancel()

    print("de-duplication: " + ", ".join(
        f"{name} {sum(got[name].values())} records" for name in reads)
        + f"; duplicatesDropped {copies}")
    for name, (_, _, expected) in reads.items():
        assert got[name] == expected, name
