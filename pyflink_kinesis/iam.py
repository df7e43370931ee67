"""``pyflink-kinesis iam-policy``: the least-privilege IAM policy for a job's readers and writers.

A job is described by the readers and writers it builds, each with the config it gives them
(the same dict it passes to the builder, or a property group of the application's runtime
properties)::

    {
      "account": "123456789012",
      "readers": [{"kind": "consumer", "group": "InputStream"}],
      "writers": [{"kind": "sink", "stream": "paid-orders",
                   "properties": {"aws.region": "eu-west-1"}}]
    }

Kinds: readers ``consumer`` (``FlinkKinesisConsumer``), ``source`` (``KinesisStreamsSource``,
polling or EFO), ``table``; writers ``sink`` (``KinesisStreamsSink``), ``aggregating-sink``
(the sink with ``set_aggregation``), ``exactly-once-sink`` (the sink with
``set_delivery_guarantee('exactly-once')``), ``firehose`` (``KinesisFirehoseSink``), ``table``
(a ``kinesis`` or ``firehose`` table). ``stream`` is a name or an ARN; an entry may instead
name a ``group`` of the application properties (``stream.name`` and the config). ``glue``
(optional) is the Glue Schema Registry config of the entry's schema. The region comes from the
ARN or ``aws.region``, the account from the ARN or ``account``. ``"check_streams": true`` adds
what :func:`pyflink_kinesis.check_streams` calls on each Kinesis stream.

Each statement holds the calls the code makes, read from the bytecode of connector 4.3.0 and
of our classes (``pyflink-kinesis docs deploy`` lists them): nothing more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pyflink_kinesis.config.consumer import (
    EFO_CONSUMER_ARN_PREFIX,
    EFO_CONSUMER_NAME,
    EFO_REGISTRATION,
    RECORD_PUBLISHER,
)
from pyflink_kinesis.config.firehose import DELIVERY_STREAM, TABLE_IDENTIFIER
from pyflink_kinesis.config.sink import EXACTLY_ONCE
from pyflink_kinesis.config.source import EFO_CONSUMER, EFO_LIFECYCLE, READER_TYPE
from pyflink_kinesis.config.table import CONNECTOR, DELIVERY_GUARANTEE, STREAM, STREAM_ARN
from pyflink_kinesis.errors import KinesisError

READERS = ("consumer", "source", "table")
WRITERS = ("sink", "aggregating-sink", "exactly-once-sink", "firehose", "table")

# The calls each reader and writer makes (read with javap -c -p from the jars):
# KinesisProxy (shard discovery and polling; DescribeStream looks up the stream's ARN).
_DISCOVERY = ("kinesis:DescribeStream", "kinesis:ListShards")
_POLLING = (*_DISCOVERY, "kinesis:GetRecords", "kinesis:GetShardIterator")
# KinesisStreamProxy, used by our KinesisStreamsSource: ListShards, GetShardIterator, GetRecords.
_SOURCE = ("kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards")
# Our EFO source: the enumerator lists shards; StreamConsumerRegistrar registers (JOB_MANAGED)
# or only describes (SELF_MANAGED) the consumer and deregisters it on close (JOB_MANAGED);
# FanOutShardSplitReader subscribes, and checks a closed shard's end with GetShardIterator and
# GetRecords.
_SOURCE_REGISTERING = ("kinesis:RegisterStreamConsumer",)
_SOURCE_SUBSCRIBING = ("kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard")
_SOURCE_DEREGISTERING = ("kinesis:DeregisterStreamConsumer",)
# Where the job is built: KinesisStreamsSource's set_stream_name and check_streams ask Kinesis
# (boto3) for the stream's summary.
_SUMMARY = ("kinesis:DescribeStreamSummary",)
# StreamConsumerRegistrar: DescribeStreamSummary (the stream's ARN), DescribeStreamConsumer,
# RegisterStreamConsumer; DeregisterStreamConsumer on close with LAZY only. NONE registers
# nothing and only subscribes.
_REGISTERING = ("kinesis:DescribeStreamSummary", "kinesis:RegisterStreamConsumer")
_EFO_STREAM = {"LAZY": _REGISTERING, "EAGER": _REGISTERING, "NONE": ()}
_EFO_CONSUMER = {
    "LAZY": ("kinesis:DeregisterStreamConsumer", "kinesis:DescribeStreamConsumer",
             "kinesis:SubscribeToShard"),
    "EAGER": ("kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"),
    "NONE": ("kinesis:SubscribeToShard",),
}
# KinesisStreamsSinkWriter: PutRecords; our aggregating writer and our exactly-once committer
# also list the shards (the shard map they pack aggregates by).
_WRITING = ("kinesis:PutRecords",)
_AGGREGATING = ("kinesis:ListShards", "kinesis:PutRecords")
_FIREHOSE = ("firehose:PutRecordBatch",)
# AWSSchemaRegistryClient: a deserializer reads schema versions; a serializer finds its
# schema's version by definition and, with auto-registration, creates the schema or a version.
_GLUE_READ = ("glue:GetSchemaVersion",)
_GLUE_WRITE = ("glue:GetSchemaByDefinition",)
_GLUE_REGISTER = ("glue:CreateSchema", "glue:GetSchemaByDefinition", "glue:GetSchemaVersion",
                  "glue:RegisterSchemaVersion")

_ARN = re.compile(
    r"arn:aws[a-z-]*:(?P<service>kinesis|firehose):(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>stream|deliverystream)/(?P<name>[^/]+)$"
)
_ACCOUNT = re.compile(r"\d{12}")


class IamPolicyError(KinesisError, ValueError):
    """The job description cannot give a policy; ``problems`` names each entry and what to do."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = [f"cannot write the IAM policy ({len(self.problems)} problem(s)):"]
        super().__init__("\n".join([*lines, *(f"  - {p}" for p in self.problems)]))


@dataclass(frozen=True)
class Statement:
    """One Allow statement: these actions on these resources."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"Effect": "Allow", "Action": list(self.actions), "Resource": list(self.resources)}


def policy_document(statements: Sequence[Statement]) -> dict[str, object]:
    """The IAM policy document (``Version`` 2012-10-17) of ``statements``."""
    return {"Version": "2012-10-17", "Statement": [s.as_json() for s in statements]}


def job_policy(
    description: Mapping[str, Any],
    groups: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, object]:
    """The policy document for the job ``description`` (see the module comment).

    ``groups`` are the application's property groups that entries name with ``group``.
    Raises :class:`IamPolicyError` listing every entry it cannot place (unknown kind, no
    stream, no region or account for a stream given by name, EFO without a consumer name).
    """
    problems: list[str] = []
    grants: dict[str, set[str]] = {}
    account = description.get("account")
    if account is not None and not (isinstance(account, str) and _ACCOUNT.fullmatch(account)):
        problems.append(f"account: {account!r} is not a 12-digit AWS account id")
        account = None
    for role, kinds in (("readers", READERS), ("writers", WRITERS)):
        entries = description.get(role, [])
        if not isinstance(entries, list):
            problems.append(f"{role}: expected a list of entries, got {type(entries).__name__}")
            continue
        for index, entry in enumerate(entries):
            where = f"{role}[{index}]"
            try:
                _grant(grants, role, kinds, _Entry.parse(entry, where, groups, account))
            except IamPolicyError as exc:
                problems.extend(exc.problems)
    if description.get("check_streams") is True:
        for resource in [r for r in grants if ":kinesis:" in r and "/consumer/" not in r]:
            grants[resource].update(_SUMMARY)
    if not grants and not problems:
        problems.append("the description has no readers and no writers")
    if problems:
        raise IamPolicyError(problems)
    return policy_document(_statements(grants))


def _statements(grants: Mapping[str, set[str]]) -> list[Statement]:
    """One statement per set of actions, holding every resource that needs exactly those."""
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for resource, actions in sorted(grants.items()):
        by_actions.setdefault(tuple(sorted(actions)), []).append(resource)
    return [Statement(actions, tuple(resources)) for actions, resources in by_actions.items()]


@dataclass(frozen=True)
class _Entry:
    where: str
    kind: str
    arn: str
    #: Whether the stream is given by name (the builder then looks its ARN up).
    by_name: bool
    region: str
    account: str
    properties: Mapping[str, str]
    glue: Mapping[str, str] | None

    @staticmethod
    def parse(
        entry: object,
        where: str,
        groups: Mapping[str, Mapping[str, str]] | None,
        account: str | None,
    ) -> _Entry:
        if not isinstance(entry, dict):
            raise IamPolicyError([f"{where}: expected an object, got {type(entry).__name__}"])
        kind = entry.get("kind")
        given = entry.get("properties", {})
        if not isinstance(given, dict):
            raise IamPolicyError([
                f"{where}: properties must be an object of config keys, got "
                f"{type(given).__name__}"
            ])
        properties = {str(key): str(value) for key, value in given.items()}
        stream = entry.get("stream")
        if "group" in entry:
            group = (groups or {}).get(entry["group"])
            if group is None:
                raise IamPolicyError([
                    f"{where}: no property group {entry['group']!r}; pass the application "
                    f"properties (--properties) that hold it"
                ])
            properties = {**group, **properties}
            stream = stream or properties.pop("stream.name", None)
        if kind == "table":
            stream = properties.get(STREAM_ARN) or properties.get(STREAM) or properties.get(
                DELIVERY_STREAM)
        if not isinstance(stream, str) or not stream:
            raise IamPolicyError([f"{where}: no stream; give 'stream' (a name or an ARN)"])
        service = "firehose" if _is_firehose(kind, properties) else "kinesis"
        found = _ARN.fullmatch(stream)
        if found:
            if found["service"] != service:
                raise IamPolicyError([f"{where}: {stream} is not a {service} ARN"])
            region, owner, name = found["region"], found["account"], found["name"]
        else:
            region = properties.get("aws.region", "")
            owner, name = account or "", stream
            missing = [what for what, value in (("aws.region", region), ("account", owner))
                       if not value]
            if missing:
                raise IamPolicyError([
                    f"{where}: stream {stream!r} is a name and {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not given; give its ARN, or "
                    f"aws.region in its properties and the description's account"
                ])
        kind_name = "deliverystream" if service == "firehose" else "stream"
        arn = f"arn:aws:{service}:{region}:{owner}:{kind_name}/{name}"
        glue = entry.get("glue")
        return _Entry(where, str(kind), arn, not found, region, owner, properties,
                      dict(glue) if isinstance(glue, dict) else None)


def _is_firehose(kind: object, properties: Mapping[str, str]) -> bool:
    return kind == "firehose" or (kind == "table"
                                  and properties.get(CONNECTOR) == TABLE_IDENTIFIER)


def _grant(grants: dict[str, set[str]], role: str, kinds: Sequence[str], entry: _Entry) -> None:
    if entry.kind not in kinds:
        raise IamPolicyError([
            f"{entry.where}: kind {entry.kind!r} is not one of {', '.join(kinds)}"
        ])
    for resource, actions in _needs(role, entry).items():
        grants.setdefault(resource, set()).update(actions)
    if entry.glue is not None:
        _grant_glue(grants, role, entry)


def _needs(role: str, entry: _Entry) -> dict[str, Sequence[str]]:
    """What ``entry`` calls, by resource ARN."""
    properties = entry.properties
    if role == "writers":
        if entry.kind in ("aggregating-sink", "exactly-once-sink") or (
                entry.kind == "table" and properties.get(DELIVERY_GUARANTEE) == EXACTLY_ONCE):
            return {entry.arn: _AGGREGATING}
        if entry.arn.startswith("arn:aws:firehose:"):
            return {entry.arn: _FIREHOSE}
        return {entry.arn: _WRITING}
    if entry.kind == "source" or (entry.kind == "table" and STREAM_ARN in properties):
        return _source_needs(entry)
    consumer = _consumer_properties(entry)
    if consumer.get(RECORD_PUBLISHER, "POLLING").upper() != "EFO":
        return {entry.arn: _POLLING}
    registration = consumer.get(EFO_REGISTRATION, "LAZY").upper()
    stream_name = entry.arn.rpartition("/")[2]
    if registration == "NONE":
        consumer_arn = consumer.get(EFO_CONSUMER_ARN_PREFIX + stream_name)
        if not consumer_arn:
            raise IamPolicyError([
                f"{entry.where}: registration NONE needs "
                f"{EFO_CONSUMER_ARN_PREFIX}{stream_name}, the consumer's ARN"
            ])
    else:
        name = consumer.get(EFO_CONSUMER_NAME)
        if not name:
            raise IamPolicyError([f"{entry.where}: EFO needs {EFO_CONSUMER_NAME}"])
        # A consumer's ARN ends with its creation time: stream/<s>/consumer/<name>:<time>.
        consumer_arn = f"{entry.arn}/consumer/{name}:*"
    if registration not in _EFO_STREAM:
        raise IamPolicyError([
            f"{entry.where}: {EFO_REGISTRATION} {registration!r} is not LAZY, EAGER or NONE"
        ])
    return {entry.arn: (*_DISCOVERY, *_EFO_STREAM[registration]),
            consumer_arn: _EFO_CONSUMER[registration]}


def _source_needs(entry: _Entry) -> dict[str, Sequence[str]]:
    """What a ``KinesisStreamsSource`` (or a ``stream.arn`` table) calls, by resource ARN."""
    looked_up = _SUMMARY if entry.by_name else ()
    if entry.properties.get(READER_TYPE, "POLLING").upper() != "EFO":
        return {entry.arn: (*_SOURCE, *looked_up)}
    name = entry.properties.get(EFO_CONSUMER)
    if not name:
        raise IamPolicyError([f"{entry.where}: EFO needs {EFO_CONSUMER}"])
    managed = entry.properties.get(EFO_LIFECYCLE, "JOB_MANAGED").upper() == "JOB_MANAGED"
    return {
        entry.arn: (*_SOURCE, *looked_up, *(_SOURCE_REGISTERING if managed else ())),
        f"{entry.arn}/consumer/{name}:*": (
            *_SOURCE_SUBSCRIBING, *(_SOURCE_DEREGISTERING if managed else ())),
    }


def _consumer_properties(entry: _Entry) -> dict[str, str]:
    """The consumer's properties; a table's ``scan.`` options are the consumer's ``flink.``."""
    if entry.kind != "table":
        return dict(entry.properties)
    return {("flink." + key[len("scan."):] if key.startswith("scan.") else key): value
            for key, value in entry.properties.items()}


def _grant_glue(grants: dict[str, set[str]], role: str, entry: _Entry) -> None:
    glue = entry.glue or {}
    registry = glue.get("registry.name", "default-registry")
    region = glue.get("region", entry.region)
    prefix = f"arn:aws:glue:{region}:{entry.account}"
    if role == "readers":
        actions: Sequence[str] = _GLUE_READ
    elif str(glue.get("schemaAutoRegistrationEnabled", "false")).lower() == "true":
        actions = _GLUE_REGISTER
    else:
        actions = _GLUE_WRITE
    for resource in (f"{prefix}:registry/{registry}", f"{prefix}:schema/{registry}/*"):
        grants.setdefault(resource, set()).update(actions)


def policy_json(policy: Mapping[str, object]) -> str:
    """The policy as the IAM console and ``aws iam create-policy`` take it."""
    return json.dumps(policy, indent=2)
