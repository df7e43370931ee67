"""FaultProxy in front of kinesalite: each fault as botocore (retries off) sees it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Callable, Iterator

import boto3
import botocore.config
import botocore.exceptions
import pytest

from pyflink_kinesis.testing import LocalKinesis
from pyflink_kinesis.testing.fault_proxy import (
    Delay,
    ErrorResponse,
    Every,
    FaultProxy,
    FaultProxyError,
    First,
    PartialFailure,
    Rate,
    Reset,
    Window,
    expired_iterator,
    internal_failure,
    limit_exceeded,
    service_unavailable,
    throttle,
)
from tests.support.moto_fixtures import LocalFirehose

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

StreamFactory = Callable[..., str]


@pytest.fixture
def proxy(local_kinesis: LocalKinesis) -> Iterator[FaultProxy]:
    with FaultProxy(local_kinesis.endpoint, seed=11) as running:
        yield running


def client(
    endpoint: str, read_timeout_s: float = 10.0, access_key_id: str = "local"
) -> KinesisClient:
    """A boto3 client that never retries, so each request shows what the proxy answered."""
    config = botocore.config.Config(
        retries={"total_max_attempts": 1}, read_timeout=read_timeout_s, connect_timeout=5
    )
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key="local",
        config=config,
    )


def put_one(kinesis: KinesisClient, stream: str, text: str) -> None:
    kinesis.put_record(StreamName=stream, Data=text.encode(), PartitionKey=text)


def texts(local_kinesis: LocalKinesis, stream: str) -> list[str]:
    return [r.text for r in local_kinesis.read_all(stream)]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (throttle(), 400, "ProvisionedThroughputExceededException"),
        (limit_exceeded(), 400, "LimitExceededException"),
        (internal_failure(), 500, "InternalFailure"),
        (service_unavailable(), 503, "ServiceUnavailable"),
        (ErrorResponse(400, "KMSThrottlingException", "custom"), 400, "KMSThrottlingException"),
    ],
    ids=["throttle", "limit-exceeded", "500", "503", "custom"],
)
def test_an_error_fault_answers_instead_of_the_server_and_botocore_parses_it(
    proxy: FaultProxy,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    fault: ErrorResponse,
    status: int,
    code: str,
) -> None:
    stream = stream_factory(1)
    rule = proxy.inject(fault, operation="PutRecord", when=First(1))
    kinesis = client(proxy.endpoint)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        put_one(kinesis, stream, "refused")
    put_one(kinesis, stream, "accepted")

    error = raised.value.response
    assert error["Error"]["Code"] == code
    assert error["Error"]["Message"] == fault.message
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert (rule.matched, rule.injected) == (2, 1)
    assert texts(local_kinesis, stream) == ["accepted"]  # the refused one never reached it


def test_botocore_retries_injected_throttling_and_5xx_like_real_ones(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    throttled = proxy.inject(throttle(), operation="PutRecord", when=First(1))
    failed = proxy.inject(service_unavailable(), operation="PutRecord", when=First(1))
    config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3})
    kinesis = boto3.client(
        "kinesis",
        endpoint_url=proxy.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )
    response = kinesis.put_record(StreamName=stream, Data=b"third-try", PartitionKey="k")

    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert (throttled.injected, failed.injected) == (1, 1)
    assert texts(local_kinesis, stream) == ["third-try"]


def test_expired_iterator_on_get_records(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    local_kinesis.put_records(stream, ["a", "b"])
    rule = proxy.inject(expired_iterator(), operation="GetRecords", when=First(1))
    kinesis = client(proxy.endpoint)
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    with pytest.raises(kinesis.exceptions.ExpiredIteratorException):
        kinesis.get_records(ShardIterator=iterator)
    records = kinesis.get_records(ShardIterator=iterator)["Records"]

    assert [r["Data"] for r in records] == [b"a", b"b"]
    assert rule.injected == 1


def test_reset_aborts_the_connection_without_forwarding(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    rule = proxy.inject(Reset(), operation="PutRecord", when=First(1))
    kinesis = client(proxy.endpoint)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        put_one(kinesis, stream, "lost")
    put_one(kinesis, stream, "after-reset")  # a fresh connection works

    assert rule.injected == 1
    assert texts(local_kinesis, stream) == ["after-reset"]


def test_reset_after_forward_writes_but_the_client_never_hears_of_it(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    rule = proxy.inject(Reset(after_forward=True), operation="PutRecord", when=First(1))
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        put_one(client(proxy.endpoint), stream, "written-anyway")

    assert rule.injected == 1
    assert texts(local_kinesis, stream) == ["written-anyway"]


def test_delay_forwards_late_and_a_short_client_timeout_gives_up(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    short = proxy.inject(Delay(0.2), operation="PutRecord", when=First(1))
    put_one(client(proxy.endpoint), stream, "slow")
    proxy.remove(short)
    long = proxy.inject(Delay(3.0), operation="PutRecord", when=First(1))
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        put_one(client(proxy.endpoint, read_timeout_s=0.5), stream, "too-slow")

    assert (short.injected, long.injected) == (1, 1)
    # The delayed request is still forwarded after the client gave up, as on a real network.
    arrived = local_kinesis.wait_for_records(stream, 2, timeout_s=10)
    assert sorted(r.text for r in arrived) == ["slow", "too-slow"]


def test_partial_failure_writes_exactly_the_entries_reported_as_written(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(2)
    rule = proxy.inject(PartialFailure(entry_rate=0.4), operation="PutRecords", when=First(3))
    kinesis = client(proxy.endpoint)
    sent: list[str] = []
    reported_written: list[str] = []
    reported_failed = 0
    for batch in range(4):
        payloads = [f"b{batch}-r{i}-{uuid.uuid4().hex[:6]}" for i in range(20)]
        response = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": p.encode(), "PartitionKey": p} for p in payloads],
        )
        results = response["Records"]
        assert len(results) == len(payloads)
        failed = [r for r in results if "ErrorCode" in r]
        assert response["FailedRecordCount"] == len(failed)
        assert all(r["ErrorCode"] == "ProvisionedThroughputExceededException" for r in failed)
        assert all("ErrorMessage" in r and "SequenceNumber" not in r for r in failed)
        reported_failed += len(failed)
        sent += payloads
        reported_written += [p for p, r in zip(payloads, results) if "SequenceNumber" in r]

    arrived = local_kinesis.read_all(stream)
    assert sorted(r.text for r in arrived) == sorted(reported_written)
    assert 0 < reported_failed < 60  # only the first 3 batches were touched
    assert (rule.matched, rule.injected, rule.failed_entries) == (4, 3, reported_failed)
    assert len(reported_written) == len(sent) - reported_failed


def test_partial_failure_response_keeps_each_entrys_sequence_number_in_place(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    proxy.inject(PartialFailure(entry_rate=0.5), operation="PutRecords", when=First(1))
    payloads = [f"p{i}" for i in range(30)]
    response = client(proxy.endpoint).put_records(
        StreamName=stream, Records=[{"Data": p.encode(), "PartitionKey": p} for p in payloads]
    )
    by_sequence = {r.sequence_number: r.text for r in local_kinesis.read_all(stream)}
    for payload, result in zip(payloads, response["Records"]):
        if "SequenceNumber" in result:
            assert by_sequence[result["SequenceNumber"]] == payload


def test_partial_failure_of_every_entry_forwards_nothing(
    proxy: FaultProxy, local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    rule = proxy.inject(PartialFailure(entry_rate=1.0), operation="PutRecords", when=First(1))
    response = client(proxy.endpoint).put_records(
        StreamName=stream, Records=[{"Data": b"x", "PartitionKey": str(i)} for i in range(5)]
    )
    assert response["FailedRecordCount"] == 5
    assert rule.failed_entries == 5
    assert proxy.requests.get("PutRecords") == 1
    assert texts(local_kinesis, stream) == []


def test_records_the_access_key_id_that_signed_each_operation(
    proxy: FaultProxy, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    put_one(client(proxy.endpoint, access_key_id="AKIDWRITER"), stream, "x")
    reader = client(proxy.endpoint, access_key_id="AKIDREADER")
    reader.list_shards(StreamName=stream)
    put_one(reader, stream, "y")
    assert proxy.access_keys == {
        "PutRecord": {"AKIDWRITER", "AKIDREADER"},
        "ListShards": {"AKIDREADER"},
    }


def test_schedules_pick_the_documented_requests(
    proxy: FaultProxy, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    every_third = proxy.inject(throttle(), operation="DescribeStreamSummary", when=Every(3))
    first_two = proxy.inject(internal_failure(), operation="ListShards", when=First(2))
    limited = proxy.inject(limit_exceeded(), operation="DescribeStream", when=Every(1), limit=2)
    kinesis = client(proxy.endpoint)

    def outcomes(call: Callable[[], object]) -> str:
        result = ""
        for _ in range(9):
            try:
                call()
                result += "."
            except botocore.exceptions.ClientError:
                result += "X"
        return result

    assert outcomes(lambda: kinesis.describe_stream_summary(StreamName=stream)) == "..X..X..X"
    assert outcomes(lambda: kinesis.list_shards(StreamName=stream)) == "XX......."
    assert outcomes(lambda: kinesis.describe_stream(StreamName=stream)) == "XX......."
    assert (every_third.matched, every_third.injected) == (9, 3)
    assert (first_two.matched, first_two.injected) == (9, 2)
    assert limited.injected == 2
    assert proxy.requests["ListShards"] == 9


def test_window_fires_only_inside_its_time_window(
    proxy: FaultProxy, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    later = proxy.inject(throttle(), operation="ListShards", when=Window(start_s=3600))
    kinesis = client(proxy.endpoint)
    kinesis.list_shards(StreamName=stream)
    proxy.remove(later)
    now = proxy.inject(throttle(), operation="ListShards", when=Window(start_s=0, end_s=3600))
    with pytest.raises(botocore.exceptions.ClientError):
        kinesis.list_shards(StreamName=stream)
    assert (later.matched, later.injected, now.injected) == (1, 0, 1)


def test_rate_is_reproducible_for_a_seed(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)

    def pattern(seed: int) -> tuple[str, int]:
        with FaultProxy(local_kinesis.endpoint, seed=seed) as proxy:
            rule = proxy.inject(throttle(), operation="ListShards", when=Rate(0.5))
            kinesis = client(proxy.endpoint)
            result = ""
            for _ in range(24):
                try:
                    kinesis.list_shards(StreamName=stream)
                    result += "."
                except kinesis.exceptions.ProvisionedThroughputExceededException:
                    result += "X"
            return result, rule.injected

    first, injected = pattern(5)
    assert pattern(5) == (first, injected)
    assert injected == first.count("X")
    assert 0 < injected < 24


def test_rules_match_only_their_operation_and_the_first_firing_rule_wins(
    proxy: FaultProxy, stream_factory: StreamFactory
) -> None:
    stream = stream_factory(1)
    by_target = proxy.inject(
        internal_failure(), operation="Kinesis_20131202.ListShards", when=First(1)
    )
    shadowed = proxy.inject(throttle(), operation="ListShards", when=First(5))
    other = proxy.inject(throttle(), operation="GetRecords", when=Every(1))
    kinesis = client(proxy.endpoint)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        kinesis.list_shards(StreamName=stream)
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    kinesis.describe_stream_summary(StreamName=stream)

    assert by_target.operation == "ListShards"
    assert (by_target.injected, shadowed.matched, other.matched) == (1, 0, 0)
    proxy.clear()
    kinesis.list_shards(StreamName=stream)
    assert proxy.rules == ()


def test_stop_closes_the_listener_and_open_connections(local_kinesis: LocalKinesis) -> None:
    proxy = FaultProxy(local_kinesis.endpoint).start()
    kinesis = client(proxy.endpoint)
    kinesis.list_streams()
    proxy.stop()
    proxy.stop()
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        kinesis.list_streams()
    with pytest.raises(FaultProxyError, match="not started"):
        _ = proxy.endpoint


@pytest.mark.parametrize(
    "make",
    [
        lambda: FaultProxy("https://127.0.0.1:4567"),
        lambda: FaultProxy("127.0.0.1:4567"),
        lambda: Rate(1.5),
        lambda: Every(0),
        lambda: First(-1),
        lambda: Window(5, 1),
        lambda: Delay(-1),
        lambda: PartialFailure(entry_rate=2),
    ],
    ids=["https", "no-scheme", "rate", "every", "first", "window", "delay", "entry-rate"],
)
def test_bad_settings_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(FaultProxyError):
        make()


def test_partial_failure_of_a_firehose_batch_delivers_exactly_the_entries_reported_written(
    local_firehose: LocalFirehose,
) -> None:
    """PutRecordBatch's shape: ``RequestResponses`` in entry order and ``FailedPutCount``."""
    stream = local_firehose.delivery_stream("proxy")
    with FaultProxy(local_firehose.endpoint, seed=3) as firehose_proxy:
        rule = firehose_proxy.inject(
            PartialFailure(entry_rate=0.5, error_code="ServiceUnavailableException"),
            operation="PutRecordBatch",
            when=First(1),
        )
        firehose = boto3.client(
            "firehose", endpoint_url=firehose_proxy.endpoint, region_name=local_firehose.region,
            aws_access_key_id="k", aws_secret_access_key="s",
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )
        payloads = [f"r{i}\n" for i in range(20)]
        responses = []
        for _ in range(2):
            responses.append(firehose.put_record_batch(
                DeliveryStreamName=stream, Records=[{"Data": p.encode()} for p in payloads]
            ))
    first, second = responses
    failed = [r for r in first["RequestResponses"] if "ErrorCode" in r]
    assert 0 < first["FailedPutCount"] == len(failed) == rule.failed_entries < 20
    assert {r["ErrorCode"] for r in failed} == {"ServiceUnavailableException"}
    assert len(first["RequestResponses"]) == 20 and second["FailedPutCount"] == 0
    written = [p.strip() for p, r in zip(payloads, first["RequestResponses"]) if "RecordId" in r]
    assert sorted(local_firehose.records(stream)) == sorted(written + [p.strip() for p in payloads])
