"""The full credentials matrix, run by hand: every provider carries every reader and writer.

    PYFLINK_KINESIS_EXTRAS=firehose AWS_ACCESS_KEY_ID=AKIDENV AWS_SECRET_ACCESS_KEY=s \\
        python -m tests.e2e.credentials_matrix [PROVIDER...]

For each provider one job runs FlinkKinesisConsumer -> KinesisStreamsSink, KinesisStreamsSource
-> (BASIC sink), an SQL ``kinesis`` table -> SQL ``kinesis`` table, and a collection ->
KinesisFirehoseSink, each reader and writer with the provider and its own FaultProxy; it prints
one line per reader and writer: the records it moved and the access key ids that signed its
requests, against the key the provider must yield. It starts kinesalite and moto itself.
``AUTO-profile`` (which sets AWS_PROFILE) must run in a process without AWS_ACCESS_KEY_ID,
``AUTO-environment`` in one
without a ``SYS_PROP`` provider (the system properties are set for those only: AWS SDK v2, the
sink's, the source's and Firehose's, takes them before the environment; v1, the polling
consumer's, after); the others need AWS_ACCESS_KEY_ID.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment

from pyflink_kinesis import FlinkKinesisConsumer, KinesisFirehoseSink, KinesisStreamsSource
from pyflink_kinesis.table import create_table_ddl
from pyflink_kinesis.testing import LocalKinesis
from pyflink_kinesis.testing.fault_proxy import FaultProxy
from tests.e2e.jobs import Job, start, string_sink
from tests.support.moto_fixtures import LocalFirehose, LocalGlueRegistry

P = "aws.credentials.provider"
ROLE = "arn:aws:iam::123456789012:role/matrix"
COUNT = 10
TEMPORARY = "a temporary key moto issued"


def providers(profile: Path, sts: str) -> dict[str, tuple[dict[str, str], str]]:
    """Each provider's credential keys and the access key id it must yield."""
    role = {P: "ASSUME_ROLE", f"{P}.role.arn": ROLE, f"{P}.role.sessionName": "matrix",
            f"{P}.role.externalId": "matrix-external", f"{P}.role.stsEndpoint": sts}
    basic = {f"{P}.basic.accesskeyid": "AKIDBASIC", f"{P}.basic.secretkey": "s"}
    return {
        "BASIC": ({P: "BASIC", **basic}, "AKIDBASIC"),
        "ENV_VAR": ({P: "ENV_VAR"}, "AKIDENV"),
        "SYS_PROP": ({P: "SYS_PROP"}, "AKIDSYS"),
        "PROFILE": ({P: "PROFILE", f"{P}.profile.path": str(profile),
                     f"{P}.profile.name": "matrix"}, "AKIDPROFILE"),
        "ASSUME_ROLE(BASIC)": ({**role, f"{P}.role.provider": "BASIC",
                                **{k.replace(P, f"{P}.role.provider"): v
                                   for k, v in basic.items()}}, TEMPORARY),
        "ASSUME_ROLE(PROFILE)": ({**role, f"{P}.role.provider": "PROFILE",
                                  f"{P}.role.provider.profile.path": str(profile),
                                  f"{P}.role.provider.profile.name": "matrix"}, TEMPORARY),
        "ASSUME_ROLE(SYS_PROP)": ({**role, f"{P}.role.provider": "SYS_PROP"}, TEMPORARY),
        "AUTO-environment": ({P: "AUTO"}, "AKIDENV"),
        "AUTO-profile": ({P: "AUTO"}, "AKIDPROFILE"),
    }


def issued(moto: LocalGlueRegistry) -> set[str]:
    with urllib.request.urlopen(f"{moto.endpoint}/moto-api/data.json", timeout=10) as response:
        state = json.load(response)
    return {r["access_key_id"] for r in state.get("sts", {}).get("AssumedRole", [])}


def run_provider(name: str, credentials: dict[str, str], expected: str, kinesis: LocalKinesis,
                 firehose: LocalFirehose) -> list[str]:
    proxies = {kind: FaultProxy(firehose.endpoint if kind == "firehose" else kinesis.endpoint)
               .start() for kind in ("consumer", "sink", "source", "table-in", "table-out",
                                     "firehose")}
    streams = {kind: f"matrix-{kind}-{uuid.uuid4().hex[:6]}"
               for kind in ("consumer", "sink", "source", "source-out", "table-in", "table-out")}
    for stream in streams.values():
        kinesis.create_stream(stream, 1)
    for kind in ("consumer", "source", "table-in"):
        kinesis.put_records(streams[kind], [f"{kind}-{i}\n" for i in range(COUNT)])
    delivery = firehose.delivery_stream("matrix")

    def config(kind: str) -> dict[str, object]:
        return {"aws.region": kinesis.region, "aws.endpoint": proxies[kind].endpoint,
                **credentials}

    basic: dict[str, object] = {
        "aws.region": kinesis.region, "aws.endpoint": kinesis.endpoint,
        f"{P}.basic.accesskeyid": "k", f"{P}.basic.secretkey": "s"}
    settings = Configuration()
    settings.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(settings)
    env.set_parallelism(1)
    env.add_source(FlinkKinesisConsumer(
        streams["consumer"], SimpleStringSchema(),
        {**config("consumer"), "flink.stream.initpos": "TRIM_HORIZON"},
    )).sink_to(string_sink(config("sink"), streams["sink"]))
    arn = kinesis.client().describe_stream_summary(StreamName=streams["source"])[
        "StreamDescriptionSummary"]["StreamARN"]
    source = (KinesisStreamsSource.builder().set_stream_arn(arn)
              .set_source_config({**config("source"), "flink.stream.initpos": "TRIM_HORIZON"})
              .set_deserialization_schema(SimpleStringSchema()).build())
    env.from_source(source, WatermarkStrategy.no_watermarks(), "source").sink_to(
        string_sink(basic, streams["source-out"]))
    env.from_collection([f"firehose-{i}\n" for i in range(COUNT)], Types.STRING()).sink_to(
        KinesisFirehoseSink.builder().set_firehose_client_properties(config("firehose"))
        .set_serialization_schema(SimpleStringSchema()).set_delivery_stream_name(delivery)
        .set_max_time_in_buffer_ms(100).build())
    t_env = StreamTableEnvironment.create(env)
    t_env.execute_sql(create_table_ddl(
        "tin", "payload STRING", streams["table-in"],
        {**config("table-in"), "scan.stream.initpos": "TRIM_HORIZON"}, "raw"))
    t_env.execute_sql(create_table_ddl(
        "tout", "payload STRING", streams["table-out"], config("table-out"), "raw"))
    inserts = t_env.create_statement_set()
    inserts.add_insert_sql("INSERT INTO tout SELECT payload FROM tin")
    inserts.attach_as_datastream()

    outputs = {"sink": streams["sink"], "source": streams["source-out"],
               "table-out": streams["table-out"]}
    job: Job = start(env, f"matrix {name}")
    deadline = time.monotonic() + 90
    moved: dict[str, int] = {}
    try:
        while time.monotonic() < deadline:
            moved = {k: len(kinesis.read_all(s)) for k, s in outputs.items()}
            moved["firehose"] = len(firehose.records(delivery))
            if all(n >= COUNT for n in moved.values()):
                break
            time.sleep(1)
    finally:
        job.cancel()
    moved.update({"consumer": moved["sink"], "table-in": moved["table-out"]})
    temporary = issued(firehose.server)
    lines = []
    for kind, proxy in proxies.items():
        signed = set().union(*proxy.access_keys.values()) if proxy.access_keys else set()
        ok = signed == {expected} or (expected == TEMPORARY and signed and signed <= temporary)
        lines.append(f"{name:22} | {kind:9} | moved {moved[kind]:3}/{COUNT} | signed by "
                     f"{sorted(signed)} | must be {expected} | {'OK' if ok else 'WRONG'}")
        proxy.stop()
    return lines


def main(names: list[str]) -> None:
    names = names or list(providers(Path(), ""))
    directory = Path(tempfile.mkdtemp(prefix="matrix-"))
    profile = directory / "credentials"
    profile.write_text("[matrix]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n")
    # Read by the JVM at its start, which comes after this: the credentials file for AWS SDK v2
    # (all but the polling consumer and SQL sources) and for v1 (those).
    os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", str(profile))
    os.environ.setdefault("AWS_CREDENTIAL_PROFILES_FILE", str(profile))
    if "AUTO-profile" in names:
        os.environ["AWS_PROFILE"] = "matrix"
    if any("SYS_PROP" in name for name in names):
        system = get_gateway().jvm.System
        for key, value in (("aws.accessKeyId", "AKIDSYS"), ("aws.secretKey", "s"),
                           ("aws.secretAccessKey", "s")):
            system.setProperty(key, value)
    with LocalKinesis() as kinesis:
        moto = LocalGlueRegistry().start()
        try:
            firehose = LocalFirehose(moto)
            table: dict[str, Any] = providers(profile, moto.endpoint)
            for name in names:
                credentials, expected = table[name]
                for line in run_provider(name, credentials, expected, kinesis, firehose):
                    print(line, flush=True)
        finally:
            moto.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
