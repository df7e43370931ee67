"""Each credential provider signs a real job's requests with the key it must yield.

Local servers accept any key, so a job that moves its records proves nothing about its
credentials. Here every reader and writer talks to kinesalite through its own ``FaultProxy``,
which records the SigV4 access key id of every request; each test asserts that every request of
every operation was signed with the one key its provider must yield. ``ASSUME_ROLE`` calls
moto's STS (server mode, the session's moto server) through a proxy as well, so the key that
called STS is checked too, and the key the job then signs with must be the temporary key moto
issued for the configured role, session name and external id (read from moto's state).

``SYS_PROP`` reads the JVM's system properties: the job runs in the test's own JVM (PyFlink's
mini-cluster), so the test sets them on that JVM through the gateway and removes them after.
``ENV_VAR``, ``AUTO`` and ``PROFILE`` without a path read the environment the JVM started with,
which is fixed once the session's gateway runs: their job (``credentials_job.py``) runs in a
process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway

from pyflink_kinesis import FlinkKinesisConsumer, JobFailedError, KinesisStreamsSource
from pyflink_kinesis.testing import LocalKinesis
from pyflink_kinesis.testing.fault_proxy import (
    ErrorResponse,
    Every,
    FaultProxy,
    QueryErrorResponse,
)
from tests.e2e.jobs import failing_env, start, string_sink
from tests.e2e.test_secrets import LOG_DIR, logs_mentioning
from tests.support.environment import fresh_process_environment
from tests.support.moto_fixtures import LocalFirehose, LocalGlueRegistry

StreamFactory = Callable[..., str]
ROLE_ARN = "arn:aws:iam::123456789012:role/pyflink-kinesis-job"
PROVIDER = "aws.credentials.provider"
# The system properties SYS_PROP reads: AWS SDK v1 (the consumer's polling client) reads
# aws.secretKey, v2 (the sink and the FLIP-27 source) aws.secretAccessKey.
SYSTEM_PROPERTIES = ("aws.accessKeyId", "aws.secretKey", "aws.secretAccessKey")
RECORDS = 20
REPO = Path(__file__).parents[2]


@pytest.fixture
def proxies(local_kinesis: LocalKinesis) -> Iterator[Callable[[], FaultProxy]]:
    """``new_proxy()``: a started proxy to kinesalite; all are stopped after the test."""
    started: list[FaultProxy] = []

    def new_proxy() -> FaultProxy:
        started.append(FaultProxy(local_kinesis.endpoint).start())
        return started[-1]

    yield new_proxy
    for proxy in started:
        proxy.stop()


@pytest.fixture
def sts_proxy(glue_registry: LocalGlueRegistry) -> Iterator[FaultProxy]:
    """A proxy to moto (STS): records the key that signed each AssumeRole call."""
    with FaultProxy(glue_registry.endpoint) as proxy:
        yield proxy


@pytest.fixture
def system_properties() -> Iterator[Callable[[str, str], None]]:
    """``set_keys(access_key_id, secret)``: the JVM's system properties SYS_PROP reads;
    removed after the test."""
    system = get_gateway().jvm.System

    def set_keys(access_key_id: str, secret: str) -> None:
        system.setProperty("aws.accessKeyId", access_key_id)
        system.setProperty("aws.secretKey", secret)
        system.setProperty("aws.secretAccessKey", secret)

    yield set_keys
    for name in SYSTEM_PROPERTIES:
        system.clearProperty(name)


def profile_file(directory: Path, **profiles: str) -> Path:
    """A credentials file with one profile per ``name=access_key_id`` (secrets made up)."""
    path = directory / "credentials"
    path.write_text(
        "".join(
            f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = secret-of-{key}\n"
            for name, key in profiles.items()
        )
    )
    return path


def assumed_keys(
    moto: LocalGlueRegistry, session_name: str, external_id: str
) -> dict[str, str]:
    """The temporary access key ids moto's STS issued for ``ROLE_ARN`` in this role session,
    with their session tokens."""
    with urllib.request.urlopen(f"{moto.endpoint}/moto-api/data.json", timeout=10) as response:
        state = json.load(response)
    return {
        role["access_key_id"]: role["session_token"]
        for role in state.get("sts", {}).get("AssumedRole", [])
        if role["role_arn"] == ROLE_ARN
        and role["session_name"] == session_name
        and role["external_id"] == external_id
    }


def signers(proxy: FaultProxy) -> dict[str, set[str]]:
    """The keys that signed each operation the proxy saw (at least one operation)."""
    keys = proxy.access_keys
    assert keys, "no request went through the proxy"
    return keys


def test_profile_sys_prop_and_assume_role_sign_every_request(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    glue_registry: LocalGlueRegistry,
    stream_factory: StreamFactory,
    proxies: Callable[[], FaultProxy],
    sts_proxy: FaultProxy,
    system_properties: Callable[[str, str], None],
    tmp_path: Path,
) -> None:
    """One job, two pipelines, each reader and writer with its own provider and proxy:
    FlinkKinesisConsumer (PROFILE: file and profile name) -> KinesisStreamsSink (ASSUME_ROLE
    with session name and external id, calling STS with PROFILE credentials nested under
    ``...role.provider``), and KinesisStreamsSource (SYS_PROP) -> KinesisStreamsSink (BASIC).
    Neither the external id nor the session tokens STS issued reach the Flink log."""
    region = local_kinesis.region
    credentials = profile_file(tmp_path, reader="AKIDPROFILEREADER", assumer="AKIDPROFILEASSUMER")
    system_properties("AKIDSYSPROP", "secret-of-sys-prop")
    session_name = f"job-{uuid.uuid4().hex[:8]}"
    external_id = f"external-{uuid.uuid4().hex[:8]}"
    consumer_in, sink_out, source_in, basic_out = (stream_factory(1) for _ in range(4))
    for stream in (consumer_in, source_in):
        local_kinesis.put_records(stream, [f"{stream}-{i}" for i in range(RECORDS)])
    consumer_proxy, sink_proxy, source_proxy = proxies(), proxies(), proxies()

    consumer = FlinkKinesisConsumer(
        consumer_in,
        SimpleStringSchema(),
        {
            "aws.region": region,
            "aws.endpoint": consumer_proxy.endpoint,
            PROVIDER: "PROFILE",
            f"{PROVIDER}.profile.path": str(credentials),
            f"{PROVIDER}.profile.name": "reader",
            "flink.stream.initpos": "TRIM_HORIZON",
        },
    )
    assume_role: dict[str, object] = {
        "aws.region": region,
        "aws.endpoint": sink_proxy.endpoint,
        PROVIDER: "ASSUME_ROLE",
        f"{PROVIDER}.role.arn": ROLE_ARN,
        f"{PROVIDER}.role.sessionName": session_name,
        f"{PROVIDER}.role.externalId": external_id,
        f"{PROVIDER}.role.stsEndpoint": sts_proxy.endpoint,
        f"{PROVIDER}.role.provider": "PROFILE",
        f"{PROVIDER}.role.provider.profile.path": str(credentials),
        f"{PROVIDER}.role.provider.profile.name": "assumer",
    }
    sys_prop: dict[str, object] = {
        "aws.region": region, "aws.endpoint": source_proxy.endpoint, PROVIDER: "SYS_PROP"
    }
    basic: dict[str, object] = {
        "aws.region": region,
        "aws.endpoint": local_kinesis.endpoint,
        f"{PROVIDER}.basic.accesskeyid": "local-access-key",
        f"{PROVIDER}.basic.secretkey": "local-secret-key",
    }
    env.add_source(consumer).map(str.upper, output_type=Types.STRING()).sink_to(
        string_sink(assume_role, sink_out)
    )
    # By ARN: resolving a name would ask Kinesis from Python, which cannot see SYS_PROP's keys.
    source_arn = local_kinesis.client().describe_stream_summary(StreamName=source_in)[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    source = (
        KinesisStreamsSource.builder()
        .set_stream_arn(source_arn)
        .set_source_config({**sys_prop, "flink.stream.initpos": "TRIM_HORIZON"})
        .set_deserialization_schema(SimpleStringSchema())
        .build()
    )
    env.from_source(source, WatermarkStrategy.no_watermarks(), "sys-prop source").sink_to(
        string_sink(basic, basic_out)
    )

    job_name = f"credentials-{session_name}"
    job = start(env, job_name)
    try:
        for stream in (sink_out, basic_out):
            job.wait_for(
                lambda: len(local_kinesis.read_all(stream)) >= RECORDS or None,  # noqa: B023
                120,
                f"{RECORDS} records in {stream}",
            )
    finally:
        job.cancel()

    assert sorted(r.text for r in local_kinesis.read_all(sink_out)) == sorted(
        f"{consumer_in}-{i}".upper() for i in range(RECORDS)
    )
    temporary = assumed_keys(glue_registry, session_name, external_id)
    assert len(temporary) >= 1, "moto's STS issued no key for the job's role session"
    assert set(signers(sts_proxy)) == {""}  # STS speaks the query protocol: no X-Amz-Target
    assert signers(sts_proxy)[""] == {"AKIDPROFILEASSUMER"}
    sink_signers = signers(sink_proxy)
    assert "PutRecords" in sink_signers, sink_signers
    assert all(keys <= temporary.keys() for keys in sink_signers.values()), sink_signers
    secrets = [external_id, *temporary.values()]
    assert logs_mentioning(job_name), f"the job logged nothing to {LOG_DIR}"
    assert [s for s in secrets if logs_mentioning(s)] == []
    for proxy, key in ((consumer_proxy, "AKIDPROFILEREADER"), (source_proxy, "AKIDSYSPROP")):
        keys = signers(proxy)
        assert "GetRecords" in keys and all(k == {key} for k in keys.values()), (key, keys)


def test_env_var_auto_and_the_default_profile_read_the_environment(
    local_kinesis: LocalKinesis,
    local_firehose: LocalFirehose,
    stream_factory: StreamFactory,
    proxies: Callable[[], FaultProxy],
    tmp_path: Path,
) -> None:
    """One job in a process started with the AWS environment variables of both kinds: a
    KinesisStreamsSink with ENV_VAR and an SQL table with AUTO sign with AWS_ACCESS_KEY_ID
    (AUTO tries the environment before any profile), a KinesisFirehoseSink with PROFILE and
    neither path nor name with AWS_SHARED_CREDENTIALS_FILE's profile AWS_PROFILE."""
    credentials = profile_file(tmp_path, default="AKIDDEFAULT", named="AKIDNAMEDPROFILE")
    environment = fresh_process_environment(
        AWS_ACCESS_KEY_ID="AKIDENVIRONMENT",
        AWS_SECRET_ACCESS_KEY="secret-of-the-environment",
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_PROFILE="named",
        PYFLINK_KINESIS_EXTRAS="firehose",
    )
    firehose_proxy = FaultProxy(local_firehose.endpoint).start()
    delivery_stream = local_firehose.delivery_stream("credentials")
    writers = {
        "kinesis:ENV_VAR": (proxies(), stream_factory(1), "AKIDENVIRONMENT"),
        "table:AUTO": (proxies(), stream_factory(1), "AKIDENVIRONMENT"),
        "firehose:PROFILE": (firehose_proxy, delivery_stream, "AKIDNAMEDPROFILE"),
    }
    try:
        process = subprocess.run(
            [sys.executable, "-m", "tests.e2e.credentials_job", local_kinesis.region,
             str(RECORDS),
             *(f"{w}={proxy.endpoint}={stream}" for w, (proxy, stream, _) in writers.items())],
            cwd=REPO, env=environment, capture_output=True, text=True, timeout=300,
        )
    finally:
        firehose_proxy.stop()
    assert process.returncode == 0, process.stderr[-4000:]
    assert len(local_firehose.records(delivery_stream)) == RECORDS
    for writer, (_, stream, _) in writers.items():
        if not writer.startswith("firehose"):
            assert len(local_kinesis.read_all(stream)) == RECORDS, writer
    signed = {writer: signers(proxy) for writer, (proxy, _, _) in writers.items()}
    assert all(keys.keys() & {"PutRecords", "PutRecordBatch"} for keys in signed.values()), signed
    assert {
        writer: keys for writer, keys in signed.items()
        if any(k != {writers[writer][2]} for k in keys.values())
    } == {}


def test_a_missing_profile_fails_the_job_naming_the_provider_and_what_to_do(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, tmp_path: Path
) -> None:
    """Where the job runs (here: a sink, which asks nothing before the job starts), the SDK's
    message comes with what to do about the provider."""
    credentials = profile_file(tmp_path, present="AKIDPRESENT")
    config: dict[str, object] = {
        "aws.region": local_kinesis.region, "aws.endpoint": local_kinesis.endpoint,
        PROVIDER: "PROFILE", f"{PROVIDER}.profile.path": str(credentials),
        f"{PROVIDER}.profile.name": "absent",
    }
    env = failing_env()
    env.from_collection(["a"], Types.STRING()).sink_to(string_sink(config, stream_factory(1)))
    with pytest.raises(JobFailedError) as failed:
        env.execute("credentials: a missing profile")
    assert "Profile file contained no credentials for profile 'absent'" in str(failed.value)
    assert "What to do: PROFILE (or AUTO) found no such profile" in str(failed.value)


def test_a_role_sts_refuses_fails_the_job_naming_the_provider_and_what_to_do(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, sts_proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    """STS answers AssumeRole with AccessDenied (moto's STS issues any role, so the proxy in
    front of it refuses, as AWS answers a role whose trust policy does not allow the caller)."""
    refusal = sts_proxy.inject(QueryErrorResponse(
        403, "AccessDenied", f"User: arn:aws:iam::123456789012:user/job is not authorized to "
        f"perform: sts:AssumeRole on resource: {ROLE_ARN}"), operation=None, when=Every(1))
    credentials = profile_file(tmp_path, assumer="AKIDPROFILEASSUMER")
    config: dict[str, object] = {
        "aws.region": local_kinesis.region, "aws.endpoint": local_kinesis.endpoint,
        PROVIDER: "ASSUME_ROLE", f"{PROVIDER}.role.arn": ROLE_ARN,
        f"{PROVIDER}.role.sessionName": "refused", f"{PROVIDER}.role.stsEndpoint":
        sts_proxy.endpoint, f"{PROVIDER}.role.provider": "PROFILE",
        f"{PROVIDER}.role.provider.profile.path": str(credentials),
        f"{PROVIDER}.role.provider.profile.name": "assumer",
    }
    env = failing_env()
    env.from_collection(["a"], Types.STRING()).sink_to(string_sink(config, stream_factory(1)))
    with pytest.raises(JobFailedError) as failed:
        env.execute("credentials: a role STS refuses")
    assert refusal.injected >= 1
    assert "not authorized to perform: sts:AssumeRole" in str(failed.value)
    assert "What to do: ASSUME_ROLE: STS refused to issue credentials" in str(failed.value)


def test_expired_credentials_fail_the_job_with_what_to_do(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory,
    proxies: Callable[[], FaultProxy], aws_config: dict[str, object],
) -> None:
    """Kinesis answers with ExpiredTokenException (as for a session token given as BASIC keys
    once it expires); the polling consumer does not retry it."""
    stream = stream_factory(1)
    local_kinesis.put_records(stream, ["a"])
    proxy = proxies()
    expired = proxy.inject(ErrorResponse(
        400, "ExpiredTokenException", "The security token included in the request is expired"),
        operation="GetRecords", when=Every(1))
    config = {**aws_config, "aws.endpoint": proxy.endpoint, "flink.stream.initpos":
              "TRIM_HORIZON"}
    env = failing_env()
    env.add_source(FlinkKinesisConsumer(stream, SimpleStringSchema(), config)).sink_to(
        string_sink(aws_config, stream_factory(1)))
    with pytest.raises(JobFailedError) as failed:
        env.execute("credentials: expired")
    assert expired.injected >= 1
    assert "The security token included in the request is expired" in str(failed.value)
    assert "What to do: the credentials expired" in str(failed.value)


def test_an_unreadable_token_file_fails_the_job_with_what_to_do(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, tmp_path: Path,
) -> None:
    """WEB_IDENTITY_TOKEN reads its token file before it calls STS (which no local server can
    stand in for: the SDK asks sts.amazonaws.com), so a missing file fails here already."""
    config: dict[str, object] = {
        "aws.region": local_kinesis.region, "aws.endpoint": local_kinesis.endpoint,
        PROVIDER: "WEB_IDENTITY_TOKEN", f"{PROVIDER}.role.arn": ROLE_ARN,
        f"{PROVIDER}.webIdentityToken.file": str(tmp_path / "no-token"),
    }
    env = failing_env()
    env.from_collection(["a"], Types.STRING()).sink_to(string_sink(config, stream_factory(1)))
    with pytest.raises(JobFailedError) as failed:
        env.execute("credentials: an unreadable token file")
    assert str(tmp_path / "no-token") in str(failed.value)
    assert "What to do: WEB_IDENTITY_TOKEN cannot read its token file" in str(failed.value)
