"""The fault proxy's policy-enforcing mode (``pyflink_kinesis.testing.iam_enforcement``):
IAM's matching, and boto3 calls through the proxy in front of kinesalite."""

from __future__ import annotations

from typing import Any, Iterator

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from pyflink_kinesis.iam import job_policy
from pyflink_kinesis.testing import LocalKinesis
from pyflink_kinesis.testing.fault_proxy import FaultProxy
from pyflink_kinesis.testing.iam_enforcement import (
    enforce_policy,
    is_allowed,
    policy_actions,
    without_action,
)
from tests.support.kinesis_fixtures import MakeStream

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
POLICY: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kinesis:Get*", "kinesis:ListShards"], "Resource": ARN},
    {"Effect": "Allow", "Action": "kinesis:SubscribeToShard",
     "Resource": [f"{ARN}/consumer/app:*"]},
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
]}


@pytest.mark.parametrize(("action", "resource", "allowed"), [
    ("kinesis:GetRecords", ARN, True),
    ("Kinesis:getrecords", ARN, True),  # actions ignore case
    ("kinesis:GetRecords", ARN.upper(), False),  # resources do not
    ("kinesis:GetRecords", ARN + "-2", False),
    ("kinesis:PutRecords", ARN, False),
    ("kinesis:SubscribeToShard", f"{ARN}/consumer/app:1700000000", True),
    ("kinesis:SubscribeToShard", f"{ARN}/consumer/app2:1700000000", False),
    ("kinesis:SubscribeToShard", ARN, False),
])
def test_allow_statements_match_as_iam_does(action: str, resource: str, allowed: bool) -> None:
    assert is_allowed(POLICY, action, resource) is allowed


def test_without_action_drops_it_from_every_statement() -> None:
    smaller = without_action(POLICY, "kinesis:SubscribeToShard")
    assert "kinesis:SubscribeToShard" not in policy_actions(smaller)
    assert len(smaller["Statement"]) == 2


@pytest.fixture
def proxy(local_kinesis: LocalKinesis) -> Iterator[FaultProxy]:
    with FaultProxy(local_kinesis.endpoint) as running:
        yield running


def test_the_proxy_forwards_what_the_policy_allows_and_denies_the_rest_as_aws_does(
    local_kinesis: LocalKinesis, proxy: FaultProxy, stream_factory: MakeStream
) -> None:
    readable, other = stream_factory(), stream_factory()
    client = local_kinesis.client()
    account = client.describe_stream_summary(StreamName=readable)[
        "StreamDescriptionSummary"]["StreamARN"].split(":")[4]
    policy = job_policy({"account": account, "readers": [
        {"kind": "source", "stream": readable, "properties": {"aws.region": "us-east-1"}}]})
    enforcer = enforce_policy(proxy, policy, account=account)
    kinesis = _client_at(proxy.endpoint)
    shard = kinesis.list_shards(StreamName=readable)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=readable, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    kinesis.get_records(ShardIterator=iterator)  # the iterator stands for its stream
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        kinesis.list_shards(StreamName=other)
    other_arn = f"arn:aws:kinesis:us-east-1:{account}:stream/{other}"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert denied.value.response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": f"User: arn:aws:iam::{account}:user/pyflink-kinesis-job is not authorized "
                   f"to perform: kinesis:ListShards on resource: {other_arn} because no "
                   f"identity-based policy allows the kinesis:ListShards action",
    }
    with pytest.raises(botocore.exceptions.ClientError):
        kinesis.put_record(StreamName=readable, Data=b"x", PartitionKey="k")
    assert [(d.action, d.resource) for d in enforcer.denied] == [
        ("kinesis:ListShards", other_arn),
        ("kinesis:PutRecord", f"arn:aws:kinesis:us-east-1:{account}:stream/{readable}")]
    assert enforcer.allowed == {"kinesis:ListShards": 1, "kinesis:GetShardIterator": 1,
                                "kinesis:GetRecords": 1}


def _client_at(endpoint: str) -> Any:
    """A boto3 client at ``endpoint`` that does not retry (a denial is final)."""
    return boto3.client(
        "kinesis", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )
