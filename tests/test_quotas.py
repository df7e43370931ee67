"""AWS's per-shard quotas in kinesalite (``LocalKinesis(quotas=...)``), through boto3.

One server for the module; every test sets its quotas first (which refills every bucket) and
uses its own streams, so the buckets of one test never carry over to the next. Small custom
quotas keep the counts exact: a bucket starts full, and one request is admitted in a few
microseconds, far less than the time a bucket needs to refill one token.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Iterator

import boto3
import botocore.config
import botocore.exceptions
import pytest

from pyflink_kinesis.testing import LocalKinesis, QuotaCounters, Quotas

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

MIB = 1024 * 1024
THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalKinesis]:
    with LocalKinesis() as kinesis:
        yield kinesis


@pytest.fixture
def kinesis(server: LocalKinesis) -> KinesisClient:
    """A client that never retries, so every throttle shows."""
    config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client(
        "kinesis", endpoint_url=server.endpoint, region_name=server.region,
        aws_access_key_id="local", aws_secret_access_key="local", config=config,
    )


def _stream(server: LocalKinesis, shards: int = 1) -> str:
    name = f"quotas-{uuid.uuid4().hex[:10]}"
    server.create_stream(name, shards)
    return name


def _rate_exceeded(stream: str, shard_id: str) -> str:
    return f"Rate exceeded for shard {shard_id} in stream {stream} under account 000000000000."


def _put(
    kinesis: KinesisClient, stream: str, sizes: list[int], key: str = "k"
) -> list[dict[str, Any]]:
    """PutRecords of one record per size (data of that size, partition key ``key`` or, with
    ``key="*"``, key i for entry i); the response entries with their request's Data added."""
    entries: list[PutRecordsRequestEntryTypeDef] = [
        {"Data": f"{i:06d}".encode().ljust(size, b"."),
         "PartitionKey": str(i) if key == "*" else key}
        for i, size in enumerate(sizes)
    ]
    response = kinesis.put_records(StreamName=stream, Records=entries)
    assert response["FailedRecordCount"] == sum(1 for e in response["Records"] if "ErrorCode" in e)
    return [dict(answer, Data=entry["Data"]) for answer, entry in zip(response["Records"], entries)]


def _throttle_error(call: Callable[[], object]) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value


def _iterator(kinesis: KinesisClient, stream: str, shard: int = 0) -> str:
    return kinesis.get_shard_iterator(
        StreamName=stream, ShardId=f"shardId-{shard:012d}", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]


# ----------------------------------------------------------------- the Quotas value


def test_quotas_default_to_aws_provisioned_per_shard_quotas() -> None:
    assert Quotas() == Quotas(
        write_records_per_s=1000, write_bytes_per_s=MIB, read_calls_per_s=5,
        read_bytes_per_s=2 * MIB,
    )


def test_quotas_name_every_bad_limit_at_once() -> None:
    with pytest.raises(ValueError) as caught:
        Quotas(write_records_per_s=0, read_bytes_per_s=-1)
    assert "write_records_per_s must be a positive number, not 0" in str(caught.value)
    assert "read_bytes_per_s must be a positive number, not -1" in str(caught.value)


# ----------------------------------------------------------------- off unless asked


def test_quotas_are_off_by_default(server: LocalKinesis, kinesis: KinesisClient) -> None:
    assert LocalKinesis().quotas is None
    server.set_quotas(None)
    stream = _stream(server)
    before = server.quota_counters()
    for _ in range(6):  # 3,000 records and 3 MB on one shard, as fast as the client can
        assert not any("ErrorCode" in e for e in _put(kinesis, stream, [1000] * 500))
    iterator = _iterator(kinesis, stream)
    for _ in range(10):
        iterator = kinesis.get_records(ShardIterator=iterator, Limit=100)["NextShardIterator"]
    assert server.quota_counters() == before


# ----------------------------------------------------------------- writes


def test_put_records_over_the_record_quota_fail_per_entry_and_the_rest_is_stored(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    server.set_quotas(Quotas(write_records_per_s=100))
    stream = _stream(server)
    answers = _put(kinesis, stream, [10] * 150)
    assert [("ErrorCode" in a) for a in answers] == [False] * 100 + [True] * 50
    for answer in answers[100:]:
        assert answer["ErrorCode"] == THROTTLED
        assert answer["ErrorMessage"] == _rate_exceeded(stream, "shardId-000000000000")
        assert "SequenceNumber" not in answer and "ShardId" not in answer
    server.set_quotas(None)
    assert [r.data for r in server.read_all(stream)] == [a["Data"] for a in answers[:100]]


def test_put_records_over_the_byte_quota_fail_per_entry_in_request_order(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    # A record's size is its data plus its partition key: 5,999 + "k" = 6,000 bytes.
    server.set_quotas(Quotas(write_bytes_per_s=10_000))
    stream = _stream(server)
    answers = _put(kinesis, stream, [5_999, 5_999, 2_999, 999, 1])
    # 10,000 -> 4,000 left: the second is over, the third fits (1,000 left), the fourth fits
    # exactly (0 left), the fifth (2 bytes) is over.
    assert [a.get("ErrorCode") for a in answers] == [None, THROTTLED, None, None, THROTTLED]
    server.set_quotas(None)
    stored = [r.data for r in server.read_all(stream)]
    assert stored == [answers[i]["Data"] for i in (0, 2, 3)]


def test_write_quotas_are_per_shard(server: LocalKinesis, kinesis: KinesisClient) -> None:
    server.set_quotas(Quotas(write_records_per_s=100))
    stream = _stream(server, shards=2)
    answers = _put(kinesis, stream, [10] * 400, key="*")
    shard_of = [
        a["ShardId"] if "ShardId" in a else a["ErrorMessage"].split()[4] for a in answers
    ]
    assert set(shard_of) == {"shardId-000000000000", "shardId-000000000001"}
    for shard in set(shard_of):
        mine = [a for a, s in zip(answers, shard_of) if s == shard]
        assert len(mine) > 100  # both shards got more than their quota
        # Each shard takes its first 100 entries in request order and throttles the rest,
        # but for the few tokens its bucket refills while the request is handled (one per
        # 10 ms: a loaded machine takes some milliseconds for 400 entries).
        throttled = [("ErrorCode" in a) for a in mine]
        assert throttled[:100] == [False] * 100
        assert 100 <= throttled.count(False) <= 105, throttled.count(False)
        for answer in mine:
            if "ErrorCode" in answer:
                assert answer["ErrorMessage"] == _rate_exceeded(stream, shard)
    server.set_quotas(None)
    stored = Counter(r.data for r in server.read_all(stream))
    assert stored == Counter(a["Data"] for a in answers if "ErrorCode" not in a)


def test_a_request_with_every_entry_over_quota_succeeds_and_stores_nothing(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    server.set_quotas(Quotas(write_records_per_s=2))
    stream = _stream(server)
    _put(kinesis, stream, [10, 10])
    response = kinesis.put_records(
        StreamName=stream, Records=[{"Data": b"x", "PartitionKey": "k"}] * 3
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["FailedRecordCount"] == 3
    assert {r["ErrorCode"] for r in response["Records"]} == {THROTTLED}
    server.set_quotas(None)
    assert len(server.read_all(stream)) == 2


def test_put_record_over_quota_is_a_400(server: LocalKinesis, kinesis: KinesisClient) -> None:
    server.set_quotas(Quotas(write_records_per_s=3))
    stream = _stream(server)
    for _ in range(3):
        kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k")
    error = _throttle_error(
        lambda: kinesis.put_record(StreamName=stream, Data=b"y", PartitionKey="k")
    )
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == THROTTLED
    assert error.response["Error"]["Message"] == _rate_exceeded(stream, "shardId-000000000000")
    server.set_quotas(None)
    assert [r.data for r in server.read_all(stream)] == [b"x"] * 3


def test_write_quota_recovers_at_its_rate(server: LocalKinesis, kinesis: KinesisClient) -> None:
    server.set_quotas(Quotas(write_records_per_s=100))
    stream = _stream(server)
    assert sum("ErrorCode" not in a for a in _put(kinesis, stream, [10] * 150)) == 100
    time.sleep(0.3)  # about 30 tokens back
    accepted = sum("ErrorCode" not in a for a in _put(kinesis, stream, [10] * 150))
    assert 25 <= accepted <= 45
    time.sleep(1.1)  # full again: one second of quota, never more
    assert sum("ErrorCode" not in a for a in _put(kinesis, stream, [10] * 150)) == 100


# ----------------------------------------------------------------- reads


def test_get_records_over_the_call_quota_is_a_400_per_shard(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    server.set_quotas(Quotas())
    stream = _stream(server, shards=2)
    first, second = _iterator(kinesis, stream, 0), _iterator(kinesis, stream, 1)
    for _ in range(5):
        first = kinesis.get_records(ShardIterator=first)["NextShardIterator"]
    error = _throttle_error(lambda: kinesis.get_records(ShardIterator=first))
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == THROTTLED
    assert error.response["Error"]["Message"] == _rate_exceeded(stream, "shardId-000000000000")
    for _ in range(5):  # the other shard has its own five calls
        second = kinesis.get_records(ShardIterator=second)["NextShardIterator"]
    time.sleep(0.25)  # a call's worth (and a little) back on the first shard
    kinesis.get_records(ShardIterator=first)


def test_get_records_over_the_byte_quota_throttles_until_the_debt_is_paid(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    server.set_quotas(None)
    stream = _stream(server, shards=2)
    server.put_records(stream, [b"r" * 999] * 60, ["k"] * 30 + ["a"] * 30)
    per_shard = sorted(Counter(r.shard_id for r in server.read_all(stream)).items())
    assert [count for _, count in per_shard] == [30, 30]
    (busy, _), (other, _) = per_shard
    server.set_quotas(Quotas(read_bytes_per_s=20_000, read_calls_per_s=1000))
    iterators = {shard: _iterator(kinesis, stream, int(shard[-1])) for shard in (busy, other)}
    # One call may take more than the bucket holds (30,000 bytes of 20,000): then the shard
    # owes 10,000 bytes, half a second at 20,000 bytes/s.
    page = kinesis.get_records(ShardIterator=iterators[busy])
    assert len(page["Records"]) == 30
    error = _throttle_error(lambda: kinesis.get_records(ShardIterator=page["NextShardIterator"]))
    assert error.response["Error"]["Message"] == _rate_exceeded(stream, busy)
    assert len(kinesis.get_records(ShardIterator=iterators[other])["Records"]) == 30
    time.sleep(0.6)
    assert kinesis.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []


def test_one_get_records_answer_holds_at_most_10_mib(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    server.set_quotas(None)
    stream = _stream(server)
    server.put_records(stream, [bytes([i]) * MIB for i in range(11)], ["k"] * 11)
    server.set_quotas(Quotas(read_bytes_per_s=100 * MIB))
    page = kinesis.get_records(ShardIterator=_iterator(kinesis, stream), Limit=10_000)
    # Ten 1 MiB records and their keys are over 10 MiB: nine fit.
    assert [bytes(r["Data"][:1]) for r in page["Records"]] == [bytes([i]) for i in range(9)]
    rest = kinesis.get_records(ShardIterator=page["NextShardIterator"], Limit=10_000)
    assert [bytes(r["Data"][:1]) for r in rest["Records"]] == [bytes([9]), bytes([10])]


# ----------------------------------------------------------------- run time changes, counters


def test_quotas_change_on_a_running_server_and_counters_count(
    server: LocalKinesis, kinesis: KinesisClient
) -> None:
    server.set_quotas(None)
    stream = _stream(server)
    assert not any("ErrorCode" in a for a in _put(kinesis, stream, [10] * 300))
    before = server.quota_counters()
    server.set_quotas(Quotas(write_records_per_s=100, read_calls_per_s=1))
    assert server.quotas == Quotas(write_records_per_s=100, read_calls_per_s=1)
    assert sum("ErrorCode" in a for a in _put(kinesis, stream, [10] * 150)) == 50
    iterator = _iterator(kinesis, stream)
    page = kinesis.get_records(ShardIterator=iterator, Limit=400)
    _throttle_error(lambda: kinesis.get_records(ShardIterator=page["NextShardIterator"]))
    assert server.quota_counters() - before == QuotaCounters(
        write_requests=1, write_requests_throttled=1, write_records=100,
        write_records_throttled=50, write_bytes=100 * 11, read_calls=1, read_calls_throttled=1,
        read_records=400, read_bytes=400 * 11,
    )
    server.set_quotas(None)
    assert not any("ErrorCode" in a for a in _put(kinesis, stream, [10] * 300))
    assert len(server.read_all(stream)) == 300 + 100 + 300


def test_the_admin_endpoint_rejects_bad_quotas_naming_each(server: LocalKinesis) -> None:
    request = urllib.request.Request(
        server.endpoint + "/_pyflink_kinesis/quotas", method="POST",
        data=json.dumps({"write_records_per_s": "many", "reads": 1}).encode(),
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    error = json.load(caught.value)["error"]
    assert "write_records_per_s must be a positive number" in error
    assert 'unknown quota "reads"' in error


def test_quotas_start_with_the_server() -> None:
    with LocalKinesis(quotas=Quotas(write_records_per_s=10)) as server:
        stream = _stream(server)
        answers = server.client(max_attempts=1).put_records(
            StreamName=stream, Records=[{"Data": b"x", "PartitionKey": "k"}] * 12
        )
        assert answers["FailedRecordCount"] == 2


# ----------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quota", "writes=5"], "--quota takes NAME=VALUE"),
        (["--quota", "read_calls_per_s=0"], "--quota takes NAME=VALUE"),
        (["--server", "kinesis-mock", "--aws-quotas"], "kinesalite only"),
    ],
)
def test_the_command_line_refuses_quotas_it_cannot_apply(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", "local-kinesis", *args],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert message in result.stderr
