"""Jobs under the IAM policy ``pyflink-kinesis iam-policy`` prints for them.

The readers and writers under test talk to the local server (kinesalite, kinesis-mock for EFO,
moto for Firehose) through a ``FaultProxy`` that enforces the printed policy
(``pyflink_kinesis.testing.iam_enforcement``): every request the policy does not allow gets
AWS's ``AccessDeniedException``. The output is read back with boto3 directly from the server.
Under its printed policy each job moves every record, nothing is denied, and every printed
action is called (the policy holds nothing the job does not use):

* a polling ``FlinkKinesisConsumer`` -> sink, a ``KinesisStreamsSource`` -> aggregating
  sink and a ``KinesisStreamsSource`` -> exactly-once sink, in one job (checkpointing);
* ``kinesis`` SQL tables, one by stream name and one by ``stream.arn``, into a third;
* a ``KinesisFirehoseSink`` job and a SQL ``firehose`` table's ``INSERT`` (tests/e2e/
  firehose_job.py, each in its own process);
* EFO consumers LAZY, EAGER and NONE and a JOB_MANAGED EFO ``KinesisStreamsSource`` in one
  job, stopped with a savepoint (LAZY and JOB_MANAGED deregister then). The proxy serves
  HTTP/2, so ``SubscribeToShard`` and every call of the source's EFO client are enforced too.

With one action taken out, the job cannot move a record: it fails with the denial, or (where
the connector retries ``AccessDeniedException``) asks again and again and moves nothing; a LAZY
EFO consumer or JOB_MANAGED source without ``DeregisterStreamConsumer`` reads and is left
registered. The suite runs four such cases (one is ``IN_SUITE``);
``PYFLINK_KINESIS_IAM_MATRIX=1`` runs every action of every kind (each kind alone behind the
proxy), by hand. Not covered: Glue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from pyflink.common import Types, WatermarkStrategy
from pyflink.common.job_status import JobStatus
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import EnvironmentSettings, TableEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSource,
    PartitionKeyGenerator,
)
from pyflink_kinesis.efo import (
    deregister_stream_consumer,
    describe_stream_consumer,
    register_stream_consumer,
)
from pyflink_kinesis.iam import job_policy
from pyflink_kinesis.testing import KinesisMock, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import HTTP2, FaultProxy
from pyflink_kinesis.testing.iam_enforcement import (
    PolicyEnforcer,
    enforce_policy,
    policy_actions,
    without_action,
)
from tests.e2e.jobs import (
    Job,
    exactly_once_sink,
    failing_env,
    flip27_source,
    job_failure,
    start,
    string_sink,
    string_sink_builder,
)
from tests.e2e.test_aggregation import user_records
from tests.support.environment import fresh_process_environment
from tests.support.kinesis_fixtures import MakeStream
from tests.support.moto_fixtures import LocalFirehose

RECORDS = 40
TIMEOUT_S = 120.0
#: Denials of the missing action that show a writer asks again instead of failing.
DENIALS = 3
READERS = ("consumer", "source")
WRITERS = ("sink", "aggregating-sink", "exactly-once-sink")
#: Writers that write KPL aggregates (read back de-aggregated).
AGGREGATING = ("aggregating-sink", "exactly-once-sink")
MATRIX = os.environ.get("PYFLINK_KINESIS_IAM_MATRIX") == "1"
#: The EFO reader of a removal case: a consumer by its registration, or the JOB_MANAGED source.
SOURCE = "JOB_MANAGED"
#: The removal case of the EFO matrix that runs in the suite (the quickest: the source fails
#: at its first denied subscription).
IN_SUITE = (SOURCE, "kinesis:SubscribeToShard")
REPO = Path(__file__).parents[2]
FIREHOSE_JOB = Path(__file__).with_name("firehose_job.py")
#: The account of the delivery streams' ARNs (moto's default).
FIREHOSE_ACCOUNT = "123456789012"


@pytest.fixture
def proxy(local_kinesis: LocalKinesis) -> Iterator[FaultProxy]:
    with FaultProxy(local_kinesis.endpoint) as running:
        yield running


def account_of(local_kinesis: LocalKinesis, stream: str) -> str:
    summary = local_kinesis.client().describe_stream_summary(StreamName=stream)
    return str(summary["StreamDescriptionSummary"]["StreamARN"].split(":")[4])


def add_pipeline(
    env: StreamExecutionEnvironment,
    reader: str,
    writer: str,
    configs: dict[str, dict[str, object]],
    source: str,
    out: str,
) -> None:
    """``reader`` on ``source`` -> Python map -> ``writer`` to ``out``, each with its config."""
    if reader == "consumer":
        stream = env.add_source(FlinkKinesisConsumer(
            source, SimpleStringSchema(),
            {**configs[reader], "flink.stream.initpos": "TRIM_HORIZON"}))
    else:
        stream = env.from_source(flip27_source(configs[reader], source),
                                 WatermarkStrategy.no_watermarks(), "source")
    if writer == "exactly-once-sink":
        sink = exactly_once_sink(configs[writer], out, PartitionKeyGenerator.random())
    else:
        builder = string_sink_builder(configs[writer], out)
        if writer == "aggregating-sink":
            builder.set_aggregation()
        sink = builder.build()
    stream.map(lambda s: s, output_type=Types.STRING()).sink_to(sink)


def description(pipelines: list[tuple[str, str, str, str]], configs: dict[str, dict[str, object]],
                proxied: set[str], account: str) -> dict[str, object]:
    """The job description of the proxied readers and writers of ``pipelines``."""
    readers = [{"kind": r, "stream": s, "properties": configs[r]}
               for r, _, s, _ in pipelines if r in proxied]
    writers = [{"kind": w, "stream": o, "properties": configs[w]}
               for _, w, _, o in pipelines if w in proxied]
    return {"account": account, "readers": readers, "writers": writers}


def run(
    local_kinesis: LocalKinesis,
    proxy: FaultProxy,
    stream_factory: MakeStream,
    aws_config: dict[str, object],
    pairs: list[tuple[str, str]],
    proxied: set[str],
    removed: str | None = None,
) -> tuple[Job, PolicyEnforcer, dict[str, object], list[tuple[str, str, str, str]]]:
    """Start one job of ``pairs`` (reader, writer); the kinds in ``proxied`` go through the
    proxy, which enforces their printed policy (less ``removed``)."""
    pipelines = [(r, w, stream_factory(), stream_factory()) for r, w in pairs]
    for _, _, source, _ in pipelines:
        local_kinesis.put_records(source, [f"{source}-{i}" for i in range(RECORDS)],
                                  [f"key-{i % 7}" for i in range(RECORDS)])
    through = {**aws_config, "aws.endpoint": proxy.endpoint}
    configs = {kind: through if kind in proxied else aws_config for kind in (*READERS, *WRITERS)}
    account = account_of(local_kinesis, pipelines[0][2])
    policy = job_policy(description(pipelines, configs, proxied, account))
    enforced = without_action(policy, removed) if removed else policy
    enforcer = enforce_policy(proxy, enforced, account=account,
                              region=str(aws_config["aws.region"]))
    env = failing_env(**{"execution.checkpointing.interval": "1 s"})
    for reader, writer, source, out in pipelines:
        add_pipeline(env, reader, writer, configs, source, out)
    return start(env, "under-iam-policy"), enforcer, policy, pipelines


def arrived(local_kinesis: LocalKinesis, writer: str, out: str) -> set[str]:
    records = local_kinesis.read_all(out)
    if writer in AGGREGATING:
        return {r.data.decode() for r in user_records(records)}
    return {r.text for r in records}


def test_every_record_moves_under_the_printed_policy(
    local_kinesis: LocalKinesis,
    proxy: FaultProxy,
    stream_factory: MakeStream,
    aws_config: dict[str, object],
) -> None:
    pairs = [("consumer", "sink"), ("source", "aggregating-sink"),
             ("source", "exactly-once-sink")]
    job, enforcer, policy, pipelines = run(local_kinesis, proxy, stream_factory, aws_config,
                                           pairs, {*READERS, *WRITERS})
    try:
        for _, writer, source, out in pipelines:
            expected = {f"{source}-{i}" for i in range(RECORDS)}

            def all_arrived(w: str = writer, o: str = out, e: set[str] = expected) -> bool:
                return e <= arrived(local_kinesis, w, o)

            try:
                job.wait_for(all_arrived, TIMEOUT_S, f"every record of {source} in {out}")
            except AssertionError as error:
                raise AssertionError(f"{error}; the proxy denied {enforcer.denied}") from None
    finally:
        job.cancel_and_wait()
    print(f"\nIAM | allowed {enforcer.allowed} | denied {len(enforcer.denied)}")
    assert enforcer.denied == []
    assert sorted(enforcer.allowed) == policy_actions(policy)


def _removal_cases() -> list[Any]:
    """(kind, action) for every action of every kind; the suite runs two of them."""
    in_suite = {("consumer", "kinesis:GetRecords"), ("sink", "kinesis:PutRecords"),
                ("exactly-once-sink", "kinesis:PutRecords")}
    cases = []
    for kind, actions in {
        "consumer": ("DescribeStream", "ListShards", "GetShardIterator", "GetRecords"),
        "source": ("ListShards", "GetShardIterator", "GetRecords"),
        "sink": ("PutRecords",),
        "aggregating-sink": ("ListShards", "PutRecords"),
        "exactly-once-sink": ("ListShards", "PutRecords"),
    }.items():
        for name in actions:
            case = (kind, f"kinesis:{name}")
            marks = () if case in in_suite or MATRIX else pytest.mark.skip(
                reason="the removal matrix runs with PYFLINK_KINESIS_IAM_MATRIX=1")
            cases.append(pytest.param(*case, marks=marks, id=f"{kind}-without-{name}"))
    return cases


@pytest.mark.parametrize(("kind", "action"), _removal_cases())
def test_the_job_cannot_move_records_without_any_one_action(
    local_kinesis: LocalKinesis,
    proxy: FaultProxy,
    stream_factory: MakeStream,
    aws_config: dict[str, object],
    kind: str,
    action: str,
) -> None:
    """The job fails with the denial, or (a writer: connector 4.3.0's sink takes
    ``AccessDeniedException`` for retryable) it asks again and again and writes nothing."""
    pair = (kind, "sink") if kind in READERS else ("consumer", kind)
    job, enforcer, _, pipelines = run(local_kinesis, proxy, stream_factory, aws_config, [pair],
                                      {kind}, removed=action)
    _, writer, _, out = pipelines[0]

    def outcome() -> str | None:
        if job.status() in (JobStatus.FAILED, JobStatus.FINISHED):
            return "failed"
        return "stalled" if sum(d.action == action for d in enforcer.denied) >= DENIALS else None

    try:
        ended = wait(outcome, TIMEOUT_S, f"the job to fail or be denied {action} {DENIALS} times")
        if ended == "stalled":
            assert arrived(local_kinesis, writer, out) == set()
        else:
            failure = job_failure(job, TIMEOUT_S)
            assert f"is not authorized to perform: {action}" in failure, failure
    finally:
        job.cancel_and_wait()
    print(f"\nIAM | {kind} without {action} | {ended} | denied {len(enforcer.denied)} requests")
    assert {d.action for d in enforcer.denied} == {action}


def wait(probe: Callable[[], str | None], timeout_s: float, what: str) -> str:
    deadline = time.monotonic() + timeout_s
    while (value := probe()) is None:
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        time.sleep(0.5)
    return value


# --------------------------------------------------------------------------- Firehose


@pytest.fixture
def firehose_proxy(local_firehose: LocalFirehose) -> Iterator[FaultProxy]:
    with FaultProxy(local_firehose.endpoint) as running:
        yield running


def firehose_job(local_firehose: LocalFirehose, proxy: FaultProxy, mode: str,
                 stream: str) -> subprocess.Popen[str]:
    """firehose_job.py's ``mode`` job writing RECORDS records to ``stream`` through ``proxy``,
    in a fresh process whose JVM has the firehose jars."""
    arguments = {"datastream": ["false", stream], "sql": [stream]}[mode]
    return subprocess.Popen(
        [sys.executable, str(FIREHOSE_JOB), mode, proxy.endpoint, local_firehose.region,
         str(RECORDS), *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**fresh_process_environment(), "PYFLINK_KINESIS_EXTRAS": "firehose"})


def firehose_policy(local_firehose: LocalFirehose, stream: str, kind: str) -> dict[str, object]:
    properties = {"aws.region": local_firehose.region}
    entry: dict[str, object] = {"kind": kind, "stream": stream, "properties": properties}
    if kind == "table":
        entry = {"kind": kind, "properties": {
            **properties, "connector": "firehose", "delivery-stream": stream}}
    return job_policy({"account": FIREHOSE_ACCOUNT, "writers": [entry]})


def test_the_firehose_sink_and_table_deliver_every_record_under_their_printed_policy(
    local_firehose: LocalFirehose, firehose_proxy: FaultProxy
) -> None:
    for mode, kind in (("datastream", "firehose"), ("sql", "table")):
        stream = local_firehose.delivery_stream(f"iam-{mode}")
        policy = firehose_policy(local_firehose, stream, kind)
        firehose_proxy.clear()
        enforcer = enforce_policy(firehose_proxy, policy, account=FIREHOSE_ACCOUNT)
        job = firehose_job(local_firehose, firehose_proxy, mode, stream)
        _, stderr = job.communicate(timeout=TIMEOUT_S)
        assert job.returncode == 0, f"{stderr[-3000:]}\nthe proxy denied {enforcer.denied}"
        delivered = local_firehose.records(stream)
        print(f"\nIAM | firehose {mode} | allowed {enforcer.allowed} | denied "
              f"{len(enforcer.denied)} | delivered {len(delivered)}")
        assert sorted(delivered) == sorted(f"record-{i}" for i in range(RECORDS))
        assert enforcer.denied == []
        assert sorted(enforcer.allowed) == policy_actions(policy)


@pytest.mark.skipif(not MATRIX, reason="the removal matrix runs with PYFLINK_KINESIS_IAM_MATRIX=1")
def test_the_firehose_sink_cannot_deliver_without_put_record_batch(
    local_firehose: LocalFirehose, firehose_proxy: FaultProxy
) -> None:
    stream = local_firehose.delivery_stream("iam-denied")
    action = "firehose:PutRecordBatch"
    policy = without_action(firehose_policy(local_firehose, stream, "firehose"), action)
    enforcer = enforce_policy(firehose_proxy, policy, account=FIREHOSE_ACCOUNT)
    job = firehose_job(local_firehose, firehose_proxy, "datastream", stream)
    try:
        ended = wait(lambda: "failed" if job.poll() is not None else "stalled" if len(
            enforcer.denied) >= DENIALS else None, TIMEOUT_S, f"denials of {action}")
    finally:
        job.kill()
        _, stderr = job.communicate()
    print(f"\nIAM | firehose without {action} | {ended} | denied {len(enforcer.denied)}")
    if ended == "failed":
        assert f"is not authorized to perform: {action}" in stderr, stderr[-3000:]
    assert local_firehose.records(stream) == []
    assert {d.action for d in enforcer.denied} == {action}


# --------------------------------------------------------------------------- SQL


def test_kinesis_tables_move_every_record_under_their_printed_policy(
    local_kinesis: LocalKinesis,
    proxy: FaultProxy,
    stream_factory: MakeStream,
    aws_config: dict[str, object],
) -> None:
    """A ``kinesis`` table by stream name (read by FlinkKinesisConsumer) and one by
    ``stream.arn`` (read by our KinesisStreamsSource) into a ``kinesis`` table."""
    by_name, by_arn, out = stream_factory(), stream_factory(), stream_factory()
    for source in (by_name, by_arn):
        local_kinesis.put_records(source, [f"{source}-{i}" for i in range(RECORDS)])
    arn = str(local_kinesis.client().describe_stream_summary(StreamName=by_arn)[
        "StreamDescriptionSummary"]["StreamARN"])
    client = {"connector": "kinesis", "aws.region": str(aws_config["aws.region"]),
              "aws.endpoint": proxy.endpoint, "aws.credentials.provider": "BASIC",
              "aws.credentials.basic.accesskeyid": "sql-access-key",
              "aws.credentials.basic.secretkey": "sql-secret-key", "format": "raw"}
    tables = {
        "by_name": {**client, "stream": by_name, "scan.stream.initpos": "TRIM_HORIZON"},
        "by_arn": {**client, "stream.arn": arn, "source.init.position": "TRIM_HORIZON"},
        "lines_out": {**client, "stream": out},
    }
    account = arn.split(":")[4]
    policy = job_policy({"account": account, "readers": [
        {"kind": "table", "properties": tables["by_name"]},
        {"kind": "table", "properties": tables["by_arn"]},
    ], "writers": [{"kind": "table", "properties": tables["lines_out"]}]})
    enforcer = enforce_policy(proxy, policy, account=account,
                              region=str(aws_config["aws.region"]))
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("python.executable", sys.executable)
    for name, options in tables.items():
        clause = ", ".join(f"'{key}' = '{value}'" for key, value in options.items())
        t_env.execute_sql(f"CREATE TABLE {name} (line STRING) WITH ({clause})")
    result = t_env.execute_sql(
        "INSERT INTO lines_out SELECT line FROM by_name UNION ALL SELECT line FROM by_arn")
    client_of_job = result.get_job_client()
    assert client_of_job is not None
    job = Job(client_of_job)
    expected = {f"{s}-{i}" for s in (by_name, by_arn) for i in range(RECORDS)}
    try:
        job.wait_for(lambda: expected <= {r.text for r in local_kinesis.read_all(out)},
                     TIMEOUT_S, f"every record in {out}")
    except AssertionError as error:
        raise AssertionError(f"{error}; the proxy denied {enforcer.denied}") from None
    finally:
        job.cancel_and_wait()
    print(f"\nIAM | sql | allowed {enforcer.allowed} | denied {len(enforcer.denied)}")
    assert enforcer.denied == []
    assert sorted(enforcer.allowed) == policy_actions(policy)


# --------------------------------------------------------------------------- EFO


def test_efo_consumers_of_each_registration_read_every_record_under_their_printed_policy(
    kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    """One job with a LAZY, an EAGER and a NONE consumer and a JOB_MANAGED EFO source through
    a proxy in front of kinesis-mock, stopped cleanly (when LAZY and JOB_MANAGED deregister).
    Every call is checked, those over HTTP/2 included: the consumers' SubscribeToShard and every
    call of the source's EFO client (Register/Describe/DeregisterStreamConsumer,
    SubscribeToShard, and the GetShardIterator and GetRecords with which it asks an idle shard
    of a server that is not AWS whether it has ended)."""
    out = mock_stream_factory()
    readers: list[dict[str, Any]] = []
    sources: dict[str, str] = {}
    for reader in ("LAZY", "EAGER", "NONE", SOURCE):
        source = sources[reader] = mock_stream_factory()
        kinesis_mock.put_records(source, [f"{source}-{i}" for i in range(RECORDS)])
        _, properties = efo_reader(kinesis_mock, source, reader)
        readers.append({"kind": "source" if reader == SOURCE else "consumer", "stream": source,
                        "properties": properties})
    account = str(kinesis_mock.client().describe_stream_summary(StreamName=out)[
        "StreamDescriptionSummary"]["StreamARN"].split(":")[4])
    policy = job_policy({"account": account, "readers": readers})
    with FaultProxy(kinesis_mock.endpoint) as efo_proxy:
        enforcer = enforce_policy(efo_proxy, policy, account=account,
                                  region=kinesis_mock.region)
        env = failing_env()
        for entry in readers:
            config = {**entry["properties"], "aws.endpoint": efo_proxy.endpoint}
            if entry["kind"] == "consumer":
                stream = env.add_source(
                    FlinkKinesisConsumer(entry["stream"], SimpleStringSchema(), config))
            else:
                efo_source = KinesisStreamsSource.builder().set_stream_name(entry["stream"])\
                    .set_source_config(config).set_deserialization_schema(SimpleStringSchema())
                stream = env.from_source(efo_source.build(), WatermarkStrategy.no_watermarks(),
                                         "efo source")
            stream.sink_to(string_sink(
                {**efo_client(kinesis_mock), "aws.endpoint": kinesis_mock.endpoint}, out))
        job = start(env, "efo under iam policy")
        expected = {f"{s}-{i}" for s in sources.values() for i in range(RECORDS)}
        try:
            job.wait_for(lambda: expected <= {r.text for r in kinesis_mock.read_all(out)},
                         TIMEOUT_S, f"every record in {out}")
            # Against a server that is not AWS, the source asks an idle shard (2 s without
            # records) with GetShardIterator and GetRecords whether it has ended.
            job.wait_for(lambda: "kinesis:GetRecords" in enforcer.allowed, TIMEOUT_S,
                         "the source's end check of its idle shard")
        except AssertionError as error:
            raise AssertionError(f"{error}; the proxy denied {enforcer.denied}") from None
        finally:
            job.client.stop_with_savepoint(False, "file://" + tempfile.mkdtemp()).result()
        # LAZY and JOB_MANAGED deregister as the job stops (the source's client over HTTP/2).
        wait(lambda: "both" if enforcer.allowed.get("kinesis:DeregisterStreamConsumer") == 2
             else None, TIMEOUT_S, "LAZY's and JOB_MANAGED's DeregisterStreamConsumer")
        connections = efo_proxy.requests.get(HTTP2, 0)
    print(f"\nIAM | efo | allowed {enforcer.allowed} | HTTP/2 connections {connections} | "
          f"denied {len(enforcer.denied)}")
    assert enforcer.denied == []
    assert connections > 0
    assert sorted(enforcer.allowed) == policy_actions(policy)
    # The readers' key signed every call, SubscribeToShard's included.
    keys = efo_proxy.access_keys
    assert keys["SubscribeToShard"] == {"efo-access-key"}
    assert {key for signed in keys.values() for key in signed} == {"efo-access-key"}
    for reader in ("EAGER", "NONE"):
        deregister_stream_consumer(kinesis_mock.client(), sources[reader], f"iam-{reader.lower()}")


def _efo_removal_cases() -> list[Any]:
    """(reader, action) for every action of each EFO consumer's policy, and the source's EFO
    actions; the matrix only, but for ``IN_SUITE``."""
    actions = {
        "LAZY": ("DescribeStream", "ListShards", "DescribeStreamSummary",
                 "RegisterStreamConsumer", "DescribeStreamConsumer", "DeregisterStreamConsumer",
                 "SubscribeToShard"),
        "EAGER": ("DescribeStream", "ListShards", "DescribeStreamSummary",
                  "RegisterStreamConsumer", "DescribeStreamConsumer", "SubscribeToShard"),
        "NONE": ("DescribeStream", "ListShards", "SubscribeToShard"),
        SOURCE: ("RegisterStreamConsumer", "DescribeStreamConsumer", "DeregisterStreamConsumer",
                 "SubscribeToShard"),
    }
    skip = pytest.mark.skipif(not MATRIX, reason="the removal matrix runs with "
                              "PYFLINK_KINESIS_IAM_MATRIX=1")
    return [pytest.param(r, f"kinesis:{a}", id=f"{r}-without-{a}",
                         marks=() if (r, f"kinesis:{a}") == IN_SUITE else skip)
            for r, names in actions.items() for a in names]


def efo_client(kinesis_mock: KinesisMock) -> dict[str, object]:
    """Region and credentials of the EFO jobs' readers and writers."""
    return {"aws.region": kinesis_mock.region,
            "aws.credentials.provider.basic.accesskeyid": "efo-access-key",
            "aws.credentials.provider.basic.secretkey": "efo-secret-key"}


def efo_reader(
    kinesis_mock: KinesisMock, source: str, reader: str
) -> tuple[str, dict[str, object]]:
    """The consumer name and the properties of an EFO consumer of ``source`` with registration
    ``reader``, or of the JOB_MANAGED source (``SOURCE``)."""
    name = f"iam-{reader.lower().replace('_', '-')}"
    aws = {**efo_client(kinesis_mock), "flink.stream.initpos": "TRIM_HORIZON"}
    if reader == SOURCE:
        return name, {**aws, "source.reader.type": "EFO", "source.efo.consumer.name": name,
                      "source.efo.lifecycle": SOURCE,
                      "source.efo.describe.retry-strategy.delay.min": "200 ms"}
    properties: dict[str, object] = {
        **aws, "flink.stream.recordpublisher": "EFO", "flink.stream.efo.consumername": name,
        "flink.stream.efo.registration": reader}
    if reader == "NONE":
        properties[f"flink.stream.efo.consumerarn.{source}"] = register_stream_consumer(
            kinesis_mock.client(), source, name)
    return name, properties


@pytest.mark.parametrize(("reader", "action"), _efo_removal_cases())
def test_an_efo_reader_without_any_one_action(
    kinesis_mock: KinesisMock, mock_stream_factory: MakeStream, reader: str, action: str
) -> None:
    """The job fails (or, EAGER, the constructor), stalls, or (DeregisterStreamConsumer) reads
    everything and leaves its consumer registered at the stop."""
    source, out = mock_stream_factory(), mock_stream_factory()
    kinesis_mock.put_records(source, [f"{source}-{i}" for i in range(RECORDS)])
    name, properties = efo_reader(kinesis_mock, source, reader)
    account = str(kinesis_mock.client().describe_stream_summary(StreamName=source)[
        "StreamDescriptionSummary"]["StreamARN"].split(":")[4])
    kind = "source" if reader == SOURCE else "consumer"
    policy = job_policy({"account": account, "readers": [
        {"kind": kind, "stream": source, "properties": properties}]})
    expected = {f"{source}-{i}" for i in range(RECORDS)}
    sink = string_sink({**efo_client(kinesis_mock), "aws.endpoint": kinesis_mock.endpoint}, out)
    with FaultProxy(kinesis_mock.endpoint) as efo_proxy:
        enforcer = enforce_policy(efo_proxy, without_action(policy, action), account=account,
                                  region=kinesis_mock.region)
        config = {**properties, "aws.endpoint": efo_proxy.endpoint}
        env = failing_env()
        try:
            if reader == SOURCE:
                env.from_source(
                    KinesisStreamsSource.builder().set_stream_name(source)
                    .set_source_config(config).set_deserialization_schema(SimpleStringSchema())
                    .build(), WatermarkStrategy.no_watermarks(), "efo source").sink_to(sink)
            else:
                env.add_source(
                    FlinkKinesisConsumer(source, SimpleStringSchema(), config)).sink_to(sink)
        except Exception as error:  # EAGER registers in the constructor
            ended = "the constructor failed"
            assert f"is not authorized to perform: {action}" in str(error), error
        else:
            job = start(env, "efo without an action")

            def outcome() -> str | None:
                if job.status() in (JobStatus.FAILED, JobStatus.FINISHED):
                    return "failed"
                if expected <= {r.text for r in kinesis_mock.read_all(out)}:
                    return "read everything"
                denials = sum(d.action == action for d in enforcer.denied)
                return "stalled" if denials >= DENIALS else None

            ended = wait(outcome, TIMEOUT_S, f"the job to fail, stall or read {source}")
            if ended == "failed":
                failure = job_failure(job, TIMEOUT_S)
                assert f"is not authorized to perform: {action}" in failure, failure
            else:
                job.client.stop_with_savepoint(False, "file://" + tempfile.mkdtemp()).result()
        left = describe_stream_consumer(kinesis_mock.client(), source, name)
    if left is not None:
        deregister_stream_consumer(kinesis_mock.client(), source, name)
    print(f"\nIAM | efo {reader} without {action} | {ended} | consumer left "
          f"{left is not None} | denied {len(enforcer.denied)}")
    assert {d.action for d in enforcer.denied} == {action}
    if ended == "read everything":
        assert action == "kinesis:DeregisterStreamConsumer" and left is not None
