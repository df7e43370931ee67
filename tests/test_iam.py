"""The IAM policy builder (``pyflink_kinesis.iam``) and ``pyflink-kinesis iam-policy``: no JVM.

The actions are what the bytecode of connector 4.3.0 and of our classes calls (read with
``javap -c -p``); tests/e2e/test_iam_policy.py runs real jobs under the printed policies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pyflink_kinesis import cli
from pyflink_kinesis.iam import IamPolicyError, job_policy

REPO = Path(__file__).parents[1]
ACCOUNT = "123456789012"
STREAM = f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/orders"
REGION = {"aws.region": "eu-west-1"}


def grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    """``{resource: actions}`` of an Allow-only policy."""
    found: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for resource in statement["Resource"]:
            found.setdefault(resource, set()).update(statement["Action"])
    return found


def reader(kind: str = "consumer", stream: str = STREAM, **properties: str) -> dict[str, Any]:
    return {"readers": [{"kind": kind, "stream": stream, "properties": properties}]}


def kinesis(*names: str) -> set[str]:
    return {f"kinesis:{n}" for n in names}


def test_a_polling_consumer_gets_discovery_and_polling_on_its_stream_only() -> None:
    assert grants(job_policy(reader())) == {
        STREAM: kinesis("DescribeStream", "ListShards", "GetShardIterator", "GetRecords")}


@pytest.mark.parametrize(("registration", "on_stream", "on_consumer"), [
    ("LAZY", ("DescribeStreamSummary", "RegisterStreamConsumer"),
     ("DescribeStreamConsumer", "SubscribeToShard", "DeregisterStreamConsumer")),
    ("EAGER", ("DescribeStreamSummary", "RegisterStreamConsumer"),
     ("DescribeStreamConsumer", "SubscribeToShard")),
])
def test_an_efo_consumer_that_registers_gets_its_consumer_by_name(
    registration: str, on_stream: tuple[str, ...], on_consumer: tuple[str, ...]
) -> None:
    policy = job_policy(reader(**{"flink.stream.recordpublisher": "EFO",
                                  "flink.stream.efo.consumername": "app",
                                  "flink.stream.efo.registration": registration}))
    assert grants(policy) == {
        STREAM: kinesis("DescribeStream", "ListShards", *on_stream),
        f"{STREAM}/consumer/app:*": kinesis(*on_consumer),
    }


def test_an_efo_consumer_with_registration_none_only_subscribes_to_the_given_consumer() -> None:
    consumer = f"{STREAM}/consumer/app:1700000000"
    policy = job_policy(reader(**{"flink.stream.recordpublisher": "EFO",
                                  "flink.stream.efo.registration": "NONE",
                                  "flink.stream.efo.consumerarn.orders": consumer}))
    assert grants(policy) == {STREAM: kinesis("DescribeStream", "ListShards"),
                              consumer: kinesis("SubscribeToShard")}


def test_the_source_by_name_also_looks_its_arn_up() -> None:
    polling = kinesis("ListShards", "GetShardIterator", "GetRecords")
    assert grants(job_policy(reader("source"))) == {STREAM: polling}
    by_name = {"account": ACCOUNT, **reader("source", "orders", **REGION)}
    assert grants(job_policy(by_name)) == {STREAM: polling | kinesis("DescribeStreamSummary")}


@pytest.mark.parametrize(("lifecycle", "on_stream", "on_consumer"), [
    ("JOB_MANAGED", ("RegisterStreamConsumer",), ("DeregisterStreamConsumer",)),
    ("SELF_MANAGED", (), ()),
])
def test_the_efo_source_subscribes_and_registers_only_when_it_manages_its_consumer(
    lifecycle: str, on_stream: tuple[str, ...], on_consumer: tuple[str, ...]
) -> None:
    policy = job_policy(reader("source", **{"source.reader.type": "EFO",
                                            "source.efo.consumer.name": "app",
                                            "source.efo.lifecycle": lifecycle}))
    assert grants(policy) == {
        STREAM: kinesis("ListShards", "GetShardIterator", "GetRecords", *on_stream),
        f"{STREAM}/consumer/app:*": kinesis("DescribeStreamConsumer", "SubscribeToShard",
                                            *on_consumer),
    }


def test_writers_firehose_and_glue() -> None:
    hose = f"arn:aws:firehose:eu-west-1:{ACCOUNT}:deliverystream/archive"
    glue = {"registry.name": "shop", "region": "eu-west-1",
            "schemaAutoRegistrationEnabled": "true"}
    description = {"account": ACCOUNT, "writers": [
        {"kind": "sink", "stream": "paid", "properties": REGION},
        {"kind": "aggregating-sink", "stream": STREAM, "glue": glue},
        {"kind": "firehose", "stream": "archive", "properties": REGION},
    ]}
    glue_actions = {"glue:CreateSchema", "glue:GetSchemaByDefinition", "glue:GetSchemaVersion",
                    "glue:RegisterSchemaVersion"}
    assert grants(job_policy(description)) == {
        f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/paid": kinesis("PutRecords"),
        STREAM: kinesis("ListShards", "PutRecords"),
        hose: {"firehose:PutRecordBatch"},
        f"arn:aws:glue:eu-west-1:{ACCOUNT}:registry/shop": glue_actions,
        f"arn:aws:glue:eu-west-1:{ACCOUNT}:schema/shop/*": glue_actions,
    }


def test_tables_read_and_write_by_their_options() -> None:
    description = {"account": ACCOUNT, "readers": [
        {"kind": "table", "properties": {"stream": "orders", "aws.region": "eu-west-1",
                                         "scan.stream.recordpublisher": "EFO",
                                         "scan.stream.efo.consumername": "app"}},
    ], "writers": [
        {"kind": "table", "properties": {"connector": "firehose", "delivery-stream": "archive",
                                         "aws.region": "eu-west-1"}},
    ]}
    found = grants(job_policy(description))
    assert found[f"{STREAM}/consumer/app:*"] >= kinesis("SubscribeToShard")
    assert found[f"arn:aws:firehose:eu-west-1:{ACCOUNT}:deliverystream/archive"] == {
        "firehose:PutRecordBatch"}


def test_exactly_once_writers_also_list_the_shards() -> None:
    description = {"account": ACCOUNT, "writers": [
        {"kind": "exactly-once-sink", "stream": "paid", "properties": REGION},
        {"kind": "table", "properties": {"stream": "orders", "aws.region": "eu-west-1",
                                         "sink.delivery-guarantee": "exactly-once"}},
        {"kind": "table", "properties": {"stream": "refunds", "aws.region": "eu-west-1",
                                         "sink.delivery-guarantee": "at-least-once"}},
    ]}
    assert grants(job_policy(description)) == {
        f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/paid": kinesis("ListShards", "PutRecords"),
        STREAM: kinesis("ListShards", "PutRecords"),
        f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/refunds": kinesis("PutRecords"),
    }


def test_check_streams_adds_describe_stream_summary_on_every_stream() -> None:
    policy = job_policy({"check_streams": True, **reader()})
    assert "kinesis:DescribeStreamSummary" in grants(policy)[STREAM]


def test_property_groups_give_the_stream_and_its_config() -> None:
    groups = {"InputStream": {"stream.name": "orders", "aws.region": "eu-west-1"}}
    description = {"account": ACCOUNT, "readers": [{"kind": "consumer", "group": "InputStream"}]}
    assert set(grants(job_policy(description, groups))) == {STREAM}


def test_every_problem_is_reported_at_once() -> None:
    description = {"account": "42", "readers": [
        {"kind": "consumer", "stream": "orders"},
        {"kind": "sink", "stream": STREAM},
        {"kind": "consumer", "stream": STREAM,
         "properties": {"flink.stream.recordpublisher": "EFO"}},
    ], "writers": [{"kind": "sink", "group": "Out"}, {"kind": "sink", "properties": "x"}]}
    with pytest.raises(IamPolicyError) as raised:
        job_policy(description)
    assert raised.value.problems == (
        "account: '42' is not a 12-digit AWS account id",
        "readers[0]: stream 'orders' is a name and aws.region and account are not given; give "
        "its ARN, or aws.region in its properties and the description's account",
        "readers[1]: kind 'sink' is not one of consumer, source, table",
        "readers[2]: EFO needs flink.stream.efo.consumername",
        "writers[0]: no property group 'Out'; pass the application properties (--properties) "
        "that hold it",
        "writers[1]: properties must be an object of config keys, got str",
    )


def test_the_command_prints_deploy_mds_sample_from_a_bundled_apps_properties(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/deploy.md's description, run as it shows, prints the policy it shows."""
    section = (REPO / "docs/deploy.md").read_text(encoding="utf-8").split(
        "### IAM: what the application's role needs")[1]
    description, shown = re.findall(r"```json\n(.*?)```", section, re.DOTALL)[:2]
    job = tmp_path / "job.json"
    job.write_text(description)
    properties = REPO / "demo/managed_flink/application_properties.json"
    assert cli.main(["iam-policy", str(job), "--properties", str(properties)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == json.loads(shown)
    assert grants(json.loads(printed)) == {
        f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders":
            kinesis("DescribeStream", "ListShards", "GetShardIterator", "GetRecords"),
        f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/paid-orders": kinesis("PutRecords"),
    }
