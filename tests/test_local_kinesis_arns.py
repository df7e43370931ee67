"""kinesalite through our launcher takes StreamARN in place of StreamName, as Kinesis does.

The FLIP-27 ``KinesisStreamsSource`` names its stream only by ARN (ListShards,
GetShardIterator, GetRecords); plain kinesalite drops the ARN and answers that StreamName is
missing. Checked with boto3 against a real server.
"""

from __future__ import annotations

import botocore.exceptions
import pytest

from pyflink_kinesis.testing import LocalKinesis
from tests.support.kinesis_fixtures import MakeStream


def arn_of(kinesis: LocalKinesis, stream: str) -> str:
    summary = kinesis.client().describe_stream_summary(StreamName=stream)
    return str(summary["StreamDescriptionSummary"]["StreamARN"])


def error_code(call: object) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call()  # type: ignore[operator]
    return str(error.value.response["Error"]["Code"])


def test_the_actions_the_source_calls_take_an_arn(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    stream = stream_factory(2)
    arn = arn_of(local_kinesis, stream)
    local_kinesis.put_records(stream, [f"r{n}" for n in range(20)], [f"k{n}" for n in range(20)])
    client = local_kinesis.client(max_attempts=1)

    assert client.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == stream
    summary = client.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["StreamName"] == stream
    shards = client.list_shards(StreamARN=arn)["Shards"]
    assert len(shards) == 2
    after_first = client.list_shards(StreamARN=arn, ExclusiveStartShardId=shards[0]["ShardId"])
    assert [s["ShardId"] for s in after_first["Shards"]] == [shards[1]["ShardId"]]
    read = []
    for shard in shards:
        iterator = client.get_shard_iterator(
            StreamARN=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        read += [r["Data"] for r in
                 client.get_records(StreamARN=arn, ShardIterator=iterator)["Records"]]
    assert sorted(read) == sorted(f"r{n}".encode() for n in range(20))
    client.put_record(StreamARN=arn, Data=b"by-arn", PartitionKey="k")
    assert "by-arn" in [r.text for r in local_kinesis.read_all(stream)]


def test_an_arn_that_names_no_stream_here_is_answered_as_kinesis_does(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    stream = stream_factory(1)
    arn = arn_of(local_kinesis, stream)
    client = local_kinesis.client(max_attempts=1)
    other_account = arn.replace(":000000000000:", ":123456789012:")
    other_region = arn.replace(f":{local_kinesis.region}:", ":eu-west-1:")

    assert error_code(lambda: client.list_shards(StreamARN=other_account)) == (
        "ResourceNotFoundException"
    )
    assert error_code(lambda: client.list_shards(StreamARN=other_region)) == (
        "ResourceNotFoundException"
    )
    assert error_code(lambda: client.list_shards(StreamARN=arn + "-gone")) == (
        "ResourceNotFoundException"
    )
    assert error_code(lambda: client.describe_stream_summary(StreamARN="arn:aws:s3:::b")) == (
        "ValidationException"
    )
    assert error_code(
        lambda: client.describe_stream_summary(StreamARN=arn, StreamName=stream + "x")
    ) == "InvalidArgumentException"
    # The same stream under both names is fine.
    both = client.describe_stream_summary(StreamARN=arn, StreamName=stream)
    assert both["StreamDescriptionSummary"]["StreamARN"] == arn
