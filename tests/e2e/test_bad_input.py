"""Bad input: each mistake fails the job with an error that names its cause, and loses nothing.

Unknown stream, unreachable endpoint, rejected credentials, a record over the sink's maximum
record size, a payload the deserializer cannot parse, and a stream deleted while read. The
failure is read from the job's own exception chain (``JobClient.get_job_execution_result``).
Where records were already in the stream, a corrected job started from the failed job's last
retained checkpoint reads them: the output then holds every record produced.

None of these is known in Python before the job runs: the package checks the config's shape
(keys, types, values), not whether the stream or the endpoint exists.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from pyflink.common import Row, Types
from pyflink.common.serialization import DeserializationSchema, SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.formats.json import JsonRowDeserializationSchema

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import Job, failing_env, job_failure, start, string_sink

StreamFactory = Callable[..., str]
TIMEOUT_S = 180.0
ROW = Types.ROW_NAMED(["id"], [Types.INT()])


def checkpointed_env(
    checkpoints: Path, restore_from: Path | None = None
) -> StreamExecutionEnvironment:
    """A failing_env that checkpoints every 500 ms, keeps its checkpoints after the job ends
    and, given ``restore_from``, starts from that checkpoint."""
    settings = {
        "execution.checkpointing.interval": "500 ms",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "state.checkpoints.dir": checkpoints.as_uri(),
    }
    if restore_from is not None:
        settings["execution.savepoint.path"] = restore_from.as_uri()
    return failing_env(**settings)


def aws(endpoint: str) -> dict[str, object]:
    return {
        "aws.region": "us-east-1",
        "aws.endpoint": endpoint,
        "aws.credentials.provider.basic.accesskeyid": "bad-input-access-key",
        "aws.credentials.provider.basic.secretkey": "bad-input-secret-key",
    }


def client_only(config: dict[str, object]) -> dict[str, object]:
    """The AWS client keys of a consumer config: what a sink takes."""
    return {key: value for key, value in config.items() if key.startswith("aws.")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_reading(
    env: StreamExecutionEnvironment,
    stream: str,
    config: dict[str, object],
    out: str,
    deserializer: DeserializationSchema | None = None,
    to_text: Callable[[Any], str] = str,
    sink: KinesisStreamsSink | None = None,
) -> Job:
    """Start source -> map(to_text) -> sink, each operator with a fixed uid (restorable)."""
    consumer = FlinkKinesisConsumer(stream, deserializer or SimpleStringSchema(), config)
    (
        env.add_source(consumer).uid("kinesis-source")
        .map(to_text, output_type=Types.STRING()).uid("to-text")
        .sink_to(sink or string_sink(client_only(config), out)).uid("kinesis-sink")
    )
    return start(env, "bad input")


# ------------------------------------------------------------------ errors known only in the job


def test_unknown_stream_fails_the_job_naming_the_stream(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    missing, out = f"no-such-stream-{uuid.uuid4().hex[:8]}", stream_factory(1)
    config = {**aws(local_kinesis.endpoint), "flink.stream.initpos": "TRIM_HORIZON"}
    failure = job_failure(start_reading(failing_env(), missing, config, out))
    assert "ResourceNotFoundException" in failure and missing in failure, failure


def test_unreachable_endpoint_fails_the_job_naming_the_address() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = {**aws(endpoint), "flink.stream.initpos": "TRIM_HORIZON"}
    failure = job_failure(start_reading(failing_env(), "orders", config, "orders-out"))
    assert "Connection refused" in failure and endpoint.removeprefix("http://") in failure, failure


class _RejectingKinesis(BaseHTTPRequestHandler):
    """Answers every call as Kinesis answers a request signed with a wrong secret key."""

    body = json.dumps({
        "__type": "InvalidSignatureException",
        "message": "The request signature we calculated does not match the signature you "
        "provided. Check your AWS Secret Access Key and signing method.",
    }).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", "InvalidSignatureException")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def rejecting_endpoint() -> Iterator[str]:
    """A loopback endpoint that rejects every request's signature (local servers accept any
    credentials, so a wrong secret key cannot be shown with them)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RejectingKinesis)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_rejected_credentials_fail_the_job_with_the_service_error(
    rejecting_endpoint: str,
) -> None:
    config = {**aws(rejecting_endpoint), "flink.stream.initpos": "TRIM_HORIZON"}
    failure = job_failure(start_reading(failing_env(), "orders", config, "orders-out"))
    assert "InvalidSignatureException" in failure and "Secret Access Key" in failure, failure
    assert "bad-input-secret-key" not in failure


# ------------------------------------------- errors in the middle of a stream: fail, fix, resume


@dataclass
class Resumed:
    """What a failed job and its corrected successor did with the stream's records."""

    failure: str
    produced: list[str]
    output: Counter[str]

    @property
    def lost(self) -> list[str]:
        return [r for r in self.produced if r not in self.output]

    @property
    def duplicated(self) -> int:
        return sum(self.output.values()) - len(self.output)

    def report(self, scenario: str, injected: str) -> None:
        """Print the reliability-table row of this run (shown with ``pytest -s``)."""
        print(
            f"\n| {scenario} | {injected} | {len(self.produced)} | "
            f"{sum(self.output.values())} | {len(self.lost)} | {self.duplicated} |"
        )


def latest_checkpoint(checkpoints: Path) -> Path | None:
    """The newest completed checkpoint (``chk-N`` with its ``_metadata``) under ``checkpoints``."""
    done = [m.parent for m in checkpoints.glob("*/chk-*/_metadata")]
    return max(done, key=lambda chk: int(chk.name.removeprefix("chk-")), default=None)


def fail_then_resume(
    local_kinesis: LocalKinesis,
    streams: StreamFactory,
    checkpoints: Path,
    first_job: Callable[[StreamExecutionEnvironment, dict[str, object], str, str], Job],
    corrected_job: Callable[[StreamExecutionEnvironment, dict[str, object], str, str], Job],
    before: list[str],
    bad: str,
    after: list[str],
) -> Resumed:
    """Run ``first_job`` over ``before``, then add ``bad`` and ``after``: it must fail. Then run
    ``corrected_job`` from its last checkpoint until every record reached the output.

    The corrected job starts at LATEST: without the checkpoint it would read none of the
    records already in the stream.
    """
    source, out = streams(2), streams(1)
    config = {**aws(local_kinesis.endpoint), "flink.stream.initpos": "TRIM_HORIZON"}
    local_kinesis.put_records(source, before)
    first = first_job(checkpointed_env(checkpoints), config, source, out)
    first.wait_for(lambda: len(local_kinesis.read_all(out)) >= len(before) or None,
                   TIMEOUT_S, "the records before the bad one")
    read_all_at = latest_checkpoint(checkpoints)
    first.wait_for(lambda: latest_checkpoint(checkpoints) != read_all_at or None,
                   TIMEOUT_S, "a checkpoint after the records before the bad one")
    local_kinesis.put_records(source, [bad, *after])
    failure = job_failure(first)

    restore_from = latest_checkpoint(checkpoints)
    assert restore_from is not None, f"the failed job left no checkpoint in {checkpoints}"
    produced = [*before, bad, *after]
    second = corrected_job(
        checkpointed_env(checkpoints / "corrected", restore_from),
        {**config, "flink.stream.initpos": "LATEST"}, source, out,
    )
    try:
        second.wait_for(
            lambda: all(r in {x.text for x in local_kinesis.read_all(out)} for r in produced)
            or None,
            TIMEOUT_S, "every produced record in the output",
        )
        time.sleep(2)  # a duplicate would arrive within the sink's 100 ms flush interval
    finally:
        second.cancel()
    return Resumed(failure, produced, Counter(r.text for r in local_kinesis.read_all(out)))


def test_unparseable_payload_fails_naming_it_and_a_corrected_job_resumes_from_the_checkpoint(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, tmp_path: Path
) -> None:
    def strict(env: StreamExecutionEnvironment, config: dict[str, object], source: str,
               out: str) -> Job:
        schema = JsonRowDeserializationSchema.builder().type_info(ROW).build()
        return start_reading(env, source, config, out, schema, to_json)

    def lenient(env: StreamExecutionEnvironment, config: dict[str, object], source: str,
                out: str) -> Job:
        return start_reading(env, source, config, out, SimpleStringSchema(), normalized)

    bad = "{not json: " + uuid.uuid4().hex
    resumed = fail_then_resume(
        local_kinesis, stream_factory, tmp_path,
        strict, lenient,
        before=[json.dumps({"id": i}) for i in range(150)],
        bad=bad,
        after=[json.dumps({"id": i}) for i in range(150, 250)],
    )
    assert "Failed to deserialize JSON" in resumed.failure and bad in resumed.failure, (
        resumed.failure
    )
    assert resumed.lost == []
    resumed.report("unparseable payload (JSON row schema)",
                 "1 non-JSON record after 150 good ones; corrected job from the checkpoint")


def to_json(row: Row) -> str:
    return json.dumps({"id": row[0]})


def normalized(text: str) -> str:
    """The corrected job's transform: JSON as the strict job wrote it, anything else as is."""
    try:
        return json.dumps({"id": json.loads(text)["id"]})
    except ValueError:
        return text


def test_record_over_the_sink_maximum_fails_naming_the_size_and_a_larger_limit_resumes(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, tmp_path: Path
) -> None:
    def sink(config: dict[str, object], out: str, max_record_size: int) -> KinesisStreamsSink:
        return (
            KinesisStreamsSink.builder()
            .set_kinesis_client_properties(client_only(config))
            .set_serialization_schema(SimpleStringSchema())
            .set_partition_key_generator(PartitionKeyGenerator.random())
            .set_stream_name(out)
            .set_max_time_in_buffer_ms(100)
            .set_max_record_size_in_bytes(max_record_size)
            .build()
        )

    def small_limit(env: StreamExecutionEnvironment, config: dict[str, object], source: str,
                    out: str) -> Job:
        return start_reading(env, source, config, out, sink=sink(config, out, 1024))

    def default_limit(env: StreamExecutionEnvironment, config: dict[str, object], source: str,
                      out: str) -> Job:
        return start_reading(env, source, config, out, sink=sink(config, out, 1024 * 1024))

    resumed = fail_then_resume(
        local_kinesis, stream_factory, tmp_path,
        small_limit, default_limit,
        before=[f"small-{i}" for i in range(150)],
        bad="large-" + "x" * 5000,
        after=[f"small-{i}" for i in range(150, 250)],
    )
    assert "maxRecordSizeInBytes" in resumed.failure and "1024" in resumed.failure, (
        resumed.failure
    )
    assert resumed.lost == []
    resumed.report(
        "record over the sink's max_record_size_in_bytes",
        "1 record of 5006 B with a 1024 B limit; corrected job (1 MiB) from the checkpoint",
    )


def test_stream_deleted_while_read_fails_the_job_naming_the_stream(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    source, out = f"deleted-while-read-{uuid.uuid4().hex[:8]}", stream_factory(1)
    local_kinesis.create_stream(source, 2)
    records = [f"before-delete-{i}" for i in range(200)]
    local_kinesis.put_records(source, records)
    config = {**aws(local_kinesis.endpoint), "flink.stream.initpos": "TRIM_HORIZON"}
    job = start_reading(failing_env(), source, config, out)
    job.wait_for(lambda: len(local_kinesis.read_all(out)) >= len(records) or None,
                 TIMEOUT_S, "every record before the delete")
    local_kinesis.delete_stream(source)
    failure = job_failure(job)
    assert "ResourceNotFoundException" in failure and source in failure, failure
    output = Counter(r.text for r in local_kinesis.read_all(out))
    assert set(output) == set(records)
    Resumed(failure, records, output).report(
        "stream deleted while read", "DeleteStream after all 200 records were copied")
