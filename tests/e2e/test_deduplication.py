"""``KinesisStreamsSource`` with ``source.deduplication`` in a real PyFlink job on kinesalite.

The stream holds what a committing sink leaves after re-sending committables: KPL aggregates
whose user records carry a ``pfk-id`` tag (``<writer id as 32 hex>:<sequence number>``), some
of them written twice. The aggregates are built here, by hand, in the KPL format (the committing
sink is not part of this test). One job reads the stream with two sources: the de-duplicating
one emits each id once, and its subtasks' ``duplicatesDropped`` counters (read through Flink's
REST API) add up to the copies dropped; the other emits every user record as written.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from typing import Callable

from pyflink.common import Configuration, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSource
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import start, string_sink
from tests.e2e.test_source import rest
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


def aggregate(records: list[tuple[str, str | None]]) -> bytes:
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


def test_the_deduplicating_source_emits_each_id_once_the_other_every_copy(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """W1's committable 5..9 is re-sent with 10..14 (5..9 land twice), W2's 0..4 is re-sent
    whole; user records without an id and a plain record pass both sources untouched."""
    stream = stream_factory(1)
    outs = {dedup: stream_factory(1) for dedup in (True, False)}
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
    expected = {True: once, False: every_copy}
    port = free_port()
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("rest.bind-address", "127.0.0.1")
    config.set_string("rest.port", str(port))
    config.set_string("metrics.fetcher.update-interval", "100")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    for dedup, out in outs.items():
        source = (
            KinesisStreamsSource.builder()
            .set_stream_name(stream)
            .set_source_config({**aws_config, "source.init.position": "TRIM_HORIZON",
                                "source.deduplication": dedup})
            .set_deserialization_schema(SimpleStringSchema())
            .build()
        )
        (
            env.from_source(source, WatermarkStrategy.no_watermarks(), f"dedup={dedup}")
            .sink_to(string_sink(aws_config, out))
        )
    job = start(env, "de-duplicating source")
    try:
        def texts(out: str) -> Counter[str]:
            return Counter(record.text for record in local_kinesis.read_all(out))

        job.wait_for(lambda: all(sum(texts(out).values()) >= sum(expected[dedup].values())
                                 for dedup, out in outs.items()) or None,
                     TIMEOUT_S, "both outputs")
        time.sleep(1.0)  # a record emitted twice would arrive within the sink's 100 ms flush
        got = {dedup: texts(out) for dedup, out in outs.items()}
        job_id = str(job.client.get_job_id())
        copies = sum((every_copy - once).values())
        job.wait_for(
            lambda: duplicates_dropped(port, job_id, "dedup=True") == copies or None,
            TIMEOUT_S, f"duplicatesDropped = {copies}")
    finally:
        job.cancel()

    print(f"de-duplication: {sum(got[True].values())} records emitted de-duplicating, "
          f"{sum(got[False].values())} without; duplicatesDropped {copies}")
    assert got[True] == once
    assert got[False] == every_copy
