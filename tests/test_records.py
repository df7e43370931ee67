"""put and tail without a server: batching, per-key order through retries, keys, start positions,
shard order, output formats and the client's credentials. Fakes stand in for Kinesis where a
local server cannot reject chosen entries or be driven shard by shard; the round trips against
kinesalite are in tests/e2e/test_records.py."""

from __future__ import annotations

import ast
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from pyflink_kinesis import records
from pyflink_kinesis.errors import KinesisRecordsError
from pyflink_kinesis.records import Connection, StartPosition, TailRecord

WHERE = "http://localhost:4567"
ARRIVAL = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)


# ----------------------------------------------------------------- put


@dataclass
class RejectingKinesis:
    """PutRecords that rejects each entry with probability ``reject``; stores the rest in order."""

    reject: float = 0.0
    seed: int = 7
    requests: list[list[tuple[str, bytes]]] = field(default_factory=list)
    stored: list[tuple[str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([(entry["PartitionKey"], entry["Data"]) for entry in Records])
        results = []
        for entry in Records:
            if self._random.random() < self.reject:
                results.append({"ErrorCode": "ProvisionedThroughputExceededException",
                                "ErrorMessage": "Rate exceeded for shard"})
            else:
                self.stored.append((entry["PartitionKey"], entry["Data"]))
                results.append({"ShardId": "shardId-000000000000", "SequenceNumber": "1"})
        return {"Records": results}


def put(kinesis: RejectingKinesis, lines: list[bytes], key_of: records.KeyOf,
        **options: Any) -> records.PutSummary:
    return records.put_lines(kinesis, "orders", lines, key_of, where=WHERE,  # type: ignore[arg-type]
                             sleep=lambda _: None, **options)


def test_rejected_records_go_again_before_their_keys_next_ones() -> None:
    lines = [json.dumps({"customer": f"c{i % 7}", "n": i}).encode() + b"\n" for i in range(3000)]
    kinesis = RejectingKinesis(reject=0.3)
    summary = put(kinesis, lines, records.json_field_key("customer"), max_attempts=50)
    assert summary.records == 3000 and summary.retried > 500
    assert sorted(kinesis.stored) == sorted(
        (json.loads(line)["customer"], line.rstrip(b"\n")) for line in lines)
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, data in kinesis.stored:
        by_key[key].append(json.loads(data)["n"])
    assert all(numbers == sorted(numbers) for numbers in by_key.values())


def test_requests_hold_at_most_500_records_5_mib_and_one_record_per_key() -> None:
    kinesis = RejectingKinesis()
    many = [b"%d" % i for i in range(1200)]
    summary = put(kinesis, many, records.random_key)
    assert [len(request) for request in kinesis.requests] == [500, 500, 200]
    assert summary.requests == 3 and summary.records == 1200

    big = RejectingKinesis()
    put(big, [b"x" * (1000 * 1024)] * 12, records.random_key)
    assert [len(request) for request in big.requests] == [5, 5, 2]

    one_key = RejectingKinesis()
    put(one_key, [b"a", b"b", b"c"], records.fixed_key("k"))
    assert one_key.requests == [[("k", b"a")], [("k", b"b")], [("k", b"c")]]


def test_blank_lines_are_skipped_and_line_ends_removed() -> None:
    kinesis = RejectingKinesis()
    put(kinesis, [b"one\r\n", b"\n", b"   \n", b"two"], records.fixed_key("k"))
    assert [data for _, data in kinesis.stored] == [b"one", b"two"]


def test_a_record_rejected_too_often_stops_the_put_saying_which() -> None:
    kinesis = RejectingKinesis(reject=1.0)
    with pytest.raises(KinesisRecordsError, match=(
        r"the record of line 1 was rejected 3 times \(ProvisionedThroughputExceededException: "
        r"Rate exceeded for shard\); 0 records were put into 'orders'"
    )):
        put(kinesis, [b"a"], records.random_key, max_attempts=3)


def test_a_bad_line_is_reported_after_the_lines_before_it_are_put() -> None:
    kinesis = RejectingKinesis()
    lines = [b'{"customer": "a"}', b'{"customer": "b"}', b"not json", b'{"customer": "c"}']
    with pytest.raises(KinesisRecordsError, match=(
        r"^line 3 is not JSON, so it has no field 'customer'; the 2 records before it were put "
        r"into 'orders'$"
    )):
        put(kinesis, lines, records.json_field_key("customer"))
    assert len(kinesis.stored) == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"order": 5}', "line 1 has no field 'order.customer' (a value on its path is not an "
                          "object)"),
        (b'{"order": {"customer": null}}', "line 1 has no field 'order.customer', or it is null"),
        (b'{"order": {"customer": ""}}', "line 1: its partition key is 0 characters long"),
        (b"\xff\xfe", "line 1 is not UTF-8 text"),
        (b'{"order": {"customer": "' + b"x" * 1024 * 1024 + b'"}}',
         "line 1: its partition key is 1048576 characters long"),
    ],
)
def test_lines_that_cannot_be_records_say_why(line: bytes, problem: str) -> None:
    with pytest.raises(KinesisRecordsError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        put(RejectingKinesis(), [line], records.json_field_key("order.customer"))


def test_a_line_over_1_mib_is_refused() -> None:
    with pytest.raises(KinesisRecordsError, match=r"line 1 is 1,048,577 bytes with its key"):
        put(RejectingKinesis(), [b"x" * (1024 * 1024)], records.fixed_key("k"))


def test_json_field_keys_read_as_json_field_reads_them() -> None:
    key_of = records.json_field_key("order.customer")
    assert key_of('{"order": {"customer": "ann"}}') == "ann"
    assert key_of('{"order": {"customer": 42}}') == "42"
    assert key_of('{"order": {"customer": 1.5}}') == "1.5"
    assert key_of('{"order": {"customer": true}}') == "true"
    assert key_of('{"order": {"customer": {"id": 1, "name": "é"}}}') == '{"id":1,"name":"é"}'
    with pytest.raises(KinesisRecordsError, match=r"--key-field 'order\.' has an empty field name"):
        records.json_field_key("order.")
    with pytest.raises(KinesisRecordsError, match="--key is 257 characters long"):
        records.fixed_key("k" * 257)
    assert records.random_key("x") != records.random_key("x")


# ----------------------------------------------------------------- start positions and output


def test_start_positions() -> None:
    assert records.parse_start("trim_horizon") == StartPosition("TRIM_HORIZON")
    assert records.parse_start("LATEST") == StartPosition("LATEST")
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert records.parse_start("1714564800") == StartPosition("AT_TIMESTAMP", moment)
    assert records.parse_start("1714564800.5").timestamp == moment.replace(microsecond=500000)
    assert records.parse_start("2024-05-01T12:00:00Z").timestamp == moment
    assert records.parse_start("2024-05-01T14:00:00+02:00").timestamp == moment
    assert records.parse_start("2024-05-01T12:00").timestamp == moment  # UTC without an offset
    with pytest.raises(KinesisRecordsError, match="--from 'yesterday' is not TRIM_HORIZON"):
        records.parse_start("yesterday")


def test_text_and_json_lines() -> None:
    text = TailRecord('{"n": "ü"}'.encode(), "ann", "4960", None, "shardId-000000000001", ARRIVAL)
    assert text.text() == '{"n": "ü"}'
    assert json.loads(text.json()) == {
        "data": '{"n": "ü"}', "encoding": "utf-8", "partition_key": "ann",
        "sequence_number": "4960", "shard": "shardId-000000000001",
        "arrival": "2024-05-01T12:00:00.123+00:00",
    }
    binary = TailRecord(b"\xff\x00", "k", "4961", 3, "shardId-000000000001", ARRIVAL)
    assert binary.text() == "/wA="
    shown = json.loads(binary.json())
    assert (shown["data"], shown["encoding"], shown["sub_sequence_number"]) == ("/wA=", "base64", 3)


# ----------------------------------------------------------------- tail


@dataclass
class FakeShard:
    parents: tuple[str, ...] = ()
    data: list[bytes] = field(default_factory=list)
    closed: bool = False


class ShardedKinesis:
    """ListShards, GetShardIterator and GetRecords over ``shards``, two records a call."""

    def __init__(self, shards: dict[str, FakeShard]) -> None:
        self.shards = shards
        self.calls: list[str] = []
        self.iterator_types: dict[str, str] = {}

    def list_shards(self, StreamName: str) -> dict[str, Any]:
        listed = []
        for shard_id, shard in self.shards.items():
            entry: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {
                "StartingSequenceNumber": "0"}}
            if shard.closed:
                entry["SequenceNumberRange"]["EndingSequenceNumber"] = "9"
            for name, parent in zip(("ParentShardId", "AdjacentParentShardId"), shard.parents):
                entry[name] = parent
            listed.append(entry)
        return {"Shards": listed}

    def get_shard_iterator(self, StreamName: str, ShardId: str, ShardIteratorType: str,
                           **arguments: Any) -> dict[str, Any]:
        self.iterator_types[ShardId] = ShardIteratorType
        start = len(self.shards[ShardId].data) if ShardIteratorType == "LATEST" else 0
        return {"ShardIterator": f"{ShardId}/{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split("/")
        self.calls.append(shard_id)
        shard, start = self.shards[shard_id], int(position)
        page = shard.data[start:start + 2]
        end = start + len(page)
        response: dict[str, Any] = {"Records": [
            {"Data": data, "PartitionKey": "k", "SequenceNumber": f"{shard_id}-{start + i}",
             "ApproximateArrivalTimestamp": ARRIVAL} for i, data in enumerate(page)]}
        if not (shard.closed and end == len(shard.data)):
            response["NextShardIterator"] = f"{shard_id}/{end}"
        return response


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_tail(kinesis: ShardedKinesis, start: str = "TRIM_HORIZON", **options: Any) -> list[bytes]:
    clock = Clock()
    seen: list[bytes] = []
    records.tail(kinesis, "orders", records.parse_start(start),  # type: ignore[arg-type]
                 lambda record: seen.append(record.data), where=WHERE, clock=clock,
                 sleep=clock.sleep, **options)
    return seen


def resharded() -> ShardedKinesis:
    """Shard 0 split into 1 and 2, which merged into 3."""
    return ShardedKinesis({
        "s3": FakeShard(("s1", "s2"), [b"3a", b"3b"]),
        "s2": FakeShard(("s0",), [b"2a", b"2b", b"2c"], closed=True),
        "s1": FakeShard(("s0",), [b"1a"], closed=True),
        "s0": FakeShard((), [b"0a", b"0b", b"0c"], closed=True),
    })


def test_children_are_read_after_their_parents_to_the_end() -> None:
    kinesis = resharded()
    seen = run_tail(kinesis, count=9)
    assert sorted(seen) == sorted(data for shard in kinesis.shards.values() for data in shard.data)
    assert seen[:3] == [b"0a", b"0b", b"0c"]
    assert seen[-2:] == [b"3a", b"3b"]
    assert kinesis.calls.index("s3") > max(i for i, s in enumerate(kinesis.calls) if s in ("s1",
                                                                                         "s2"))


def test_latest_skips_closed_shards_and_reads_later_ones_from_their_start() -> None:
    kinesis = ShardedKinesis({"s0": FakeShard((), [b"old"])})
    clock = Clock()
    seen: list[bytes] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now > 0.5 and "s1" not in kinesis.shards:  # a split while tail runs
            kinesis.shards["s0"].data.append(b"new in s0")
            kinesis.shards["s0"].closed = True
            kinesis.shards["s1"] = FakeShard(("s0",), [b"in s1"])

    records.tail(kinesis, "orders", StartPosition("LATEST"),  # type: ignore[arg-type]
                 lambda record: seen.append(record.data), where=WHERE, count=2, timeout_s=5,
                 clock=clock, sleep=sleep)
    assert seen == [b"new in s0", b"in s1"]
    assert kinesis.iterator_types == {"s0": "LATEST", "s1": "TRIM_HORIZON"}

    closed = ShardedKinesis({"s0": FakeShard((), [b"old"], closed=True),
                             "s1": FakeShard(("s0",), [b"a"])})
    assert run_tail(closed, "LATEST", timeout_s=1) == []
    assert "s0" not in closed.iterator_types


def test_aggregates_come_out_one_user_record_each() -> None:
    from tests.test_kpl import USER_RECORDS, aws_kinesis_agg

    kinesis = ShardedKinesis({"s0": FakeShard((), [b"plain", aws_kinesis_agg(USER_RECORDS)])})
    clock = Clock()
    seen: list[TailRecord] = []
    records.tail(kinesis, "orders", StartPosition("TRIM_HORIZON"),  # type: ignore[arg-type]
                 seen.append, where=WHERE, count=6, clock=clock, sleep=clock.sleep)
    assert [r.data for r in seen] == [b"plain"] + [r.data for r in USER_RECORDS]
    assert [r.partition_key for r in seen[1:]] == [r.partition_key for r in USER_RECORDS]
    assert [r.sub_sequence_number for r in seen] == [None, 0, 1, 2, 3, 4]
    assert {r.sequence_number for r in seen[1:]} == {"s0-1"}


def test_the_timeout_ends_tail_with_an_error_only_when_count_was_not_reached() -> None:
    kinesis = ShardedKinesis({"s0": FakeShard((), [b"a", b"b"])})
    with pytest.raises(KinesisRecordsError,
                       match=r"^timed out after 3 s with 2 of 5 records from 'orders'$"):
        run_tail(kinesis, count=5, timeout_s=3)
    assert run_tail(kinesis, timeout_s=3) == [b"a", b"b"]
    assert run_tail(kinesis, count=1, timeout_s=3) == [b"a"]


def test_an_idle_shard_is_asked_at_most_five_times_a_second() -> None:
    kinesis = ShardedKinesis({"s0": FakeShard(), "s1": FakeShard()})
    run_tail(kinesis, timeout_s=10)
    assert 40 <= kinesis.calls.count("s0") <= 51 and 40 <= kinesis.calls.count("s1") <= 51


# ----------------------------------------------------------------- the client


@pytest.fixture
def no_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_settings")
def test_a_local_endpoint_without_credentials_gets_dummy_ones_and_us_east_1() -> None:
    client, region = records.kinesis_client(Connection("http://localhost:4567"))
    assert region == "us-east-1"
    assert client.meta.endpoint_url == "http://localhost:4567"
    credentials = client._request_signer._credentials  # type: ignore[attr-defined]
    assert (credentials.access_key, credentials.secret_key) == ("local", "local")


@pytest.mark.usefixtures("no_aws_settings")
def test_aws_needs_a_region_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KinesisRecordsError, match="no AWS region: give --region"):
        records.kinesis_client(Connection())
    with pytest.raises(KinesisRecordsError, match="no AWS credentials found"):
        records.kinesis_client(Connection(region="eu-west-1"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    client, region = records.kinesis_client(Connection(region="eu-west-1"))
    assert region == "eu-west-1"
    assert client.meta.endpoint_url == "https://kinesis.eu-west-1.amazonaws.com"


@pytest.mark.usefixtures("no_aws_settings")
def test_a_profile_gives_region_and_credentials(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile dev]\nregion = ap-south-1\n")
    (tmp_path / "credentials").write_text(
        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = devsecret\n")
    client, region = records.kinesis_client(Connection(profile="dev"))
    assert region == "ap-south-1"
    assert client._request_signer._credentials.access_key == "AKIDDEV"  # type: ignore[attr-defined]
    with pytest.raises(KinesisRecordsError, match="no AWS profile 'prod' in the AWS config files"):
        records.kinesis_client(Connection(profile="prod"))


def test_modules_do_not_import_pyflink_or_py4j() -> None:
    tree = ast.parse(Path(records.__file__).read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert not {name.split(".")[0] for name in imported} & {"pyflink", "py4j"}


class RefusingKinesis:
    """DescribeStreamSummary answered with the error AWS gives for unknown credentials."""

    def describe_stream_summary(self, StreamName: str) -> dict[str, Any]:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "UnrecognizedClientException",
                       "Message": "The security token included in the request is invalid.\n"}},
            "DescribeStreamSummary")


def test_refused_credentials_are_one_line() -> None:
    with pytest.raises(KinesisRecordsError) as raised:
        records.check_stream(RefusingKinesis(), "orders", "AWS region eu-west-1")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "AWS region eu-west-1 refused the credentials (UnrecognizedClientException): The "
        "security token included in the request is invalid.")
