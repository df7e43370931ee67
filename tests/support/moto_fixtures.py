"""Pytest plugin: a session-wide moto server standing in for the AWS Glue Schema Registry.

moto's server mode (``moto_server``, the ``moto[server]`` pin of the ``dev`` extra) serves the
Glue registry calls the tests need: CreateRegistry, CreateSchema, RegisterSchemaVersion and
GetSchemaVersion (the only call the Glue Schema Registry deserializer makes).

* ``glue_registry`` (session): one moto server on a free loopback port, stopped at the end.
  If ``moto_server`` is missing, every test that uses it errors with install instructions.
* ``local_firehose`` (session): the same server as Kinesis Data Firehose with an S3 bucket:
  DirectPut delivery streams that write each PutRecordBatch to S3 at once, as one object.

Load it with ``pytest_plugins = ["tests.support.moto_fixtures"]`` (this also adds the server's
log to the report of a failed test that used it), or import ``glue_registry`` into a module.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Generator, Iterator

import boto3
import botocore.config
import botocore.exceptions
import pytest

from tests.support import stopping
from tests.support.environment import fresh_process_environment
from tests.support.tls import PrivateCA

__all__ = [
    "LocalFirehose",
    "LocalGlueRegistry",
    "glue_registry",
    "local_firehose",
    "pytest_runtest_makereport",
]

MOTO_VERSION = "5.2.5"
_HOST = "127.0.0.1"
_REGION = "us-east-1"
_START_TIMEOUT_S = 60.0
_LOG_TAIL_LINES = 60
_KEY = pytest.StashKey["LocalGlueRegistry"]()


class LocalGlueRegistry:
    """A moto server on loopback with helpers to register Avro schemas in its Glue registry."""

    def __init__(self, tls: PrivateCA | None = None) -> None:
        """``tls``: serve HTTPS with a certificate this CA signed (its clients trust the CA)."""
        self.port = 0
        self.tls = tls
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="moto-glue-"))
        self.log_path = self._log_dir / "moto.log"

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://{_HOST}:{self.port}"

    @property
    def verify(self) -> str | None:
        """What boto3 clients of this server verify its certificate with (None: the default)."""
        return str(self.tls.ca_pem) if self.tls else None

    @property
    def region(self) -> str:
        return _REGION

    def start(self) -> LocalGlueRegistry:
        """Start ``moto_server`` and wait until its Glue API answers."""
        executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        if executable is None:
            raise RuntimeError(
                f"moto_server was not found next to {sys.executable}; install the dev extra "
                f"(pip install -e '.[dev]', which pins moto[server]=={MOTO_VERSION})"
            )
        with socket.socket() as probe:
            probe.bind((_HOST, 0))
            self.port = probe.getsockname()[1]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [executable, "-H", _HOST, "-p", str(self.port), *self._tls_arguments()],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=fresh_process_environment(),
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                self.client().list_registries()
                return self
            except botocore.exceptions.BotoCoreError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"moto_server did not start on {self.endpoint}:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.2)

    def _tls_arguments(self) -> list[str]:
        if self.tls is None:
            return []
        return ["--ssl-cert", str(self.tls.server_pem), "--ssl-key", str(self.tls.server_key_pem)]

    def stop(self) -> None:
        """Stop the server (it keeps everything in memory: registries are gone after this)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines the server printed."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self) -> Any:
        """A boto3 Glue client for this server (dummy credentials)."""
        return boto3.client(
            "glue", endpoint_url=self.endpoint, region_name=_REGION, verify=self.verify,
            aws_access_key_id="local-access-key", aws_secret_access_key="local-secret-key",
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )

    def create_avro_schema(self, definition: dict[str, Any]) -> tuple[dict[str, str], uuid.UUID]:
        """Register a new Avro schema in a new registry; return its SchemaId and first version."""
        glue = self.client()
        suffix = uuid.uuid4().hex[:8]
        schema_id = {"RegistryName": f"registry-{suffix}", "SchemaName": f"schema-{suffix}"}
        glue.create_registry(RegistryName=schema_id["RegistryName"])
        created = glue.create_schema(
            RegistryId={"RegistryName": schema_id["RegistryName"]},
            SchemaName=schema_id["SchemaName"], DataFormat="AVRO", Compatibility="BACKWARD",
            SchemaDefinition=json.dumps(definition),
        )
        return schema_id, uuid.UUID(created["SchemaVersionId"])

    def register_version(self, schema_id: dict[str, str], definition: dict[str, Any]) -> uuid.UUID:
        """Register a new version of the schema ``schema_id``; return the version's id."""
        version = self.client().register_schema_version(
            SchemaId=schema_id, SchemaDefinition=json.dumps(definition)
        )
        return uuid.UUID(version["SchemaVersionId"])


@pytest.fixture(scope="session")
def glue_registry(request: pytest.FixtureRequest) -> Iterator[LocalGlueRegistry]:
    """A running moto server (Glue Schema Registry API) shared by the whole test session."""
    server = LocalGlueRegistry()
    request.config.stash[_KEY] = server
    server.start()
    try:
        yield server
    finally:
        stopping.wait_for_jobs()
        server.stop()


class LocalFirehose:
    """Firehose delivery streams on the moto server, each writing to its own prefix of one
    bucket; what a stream delivered is read back from S3 as newline-terminated records.

    moto delivers synchronously, one object per PutRecordBatch or PutRecord call, the records'
    bytes concatenated as sent; it never fails entries and checks no Firehose limit.
    """

    BUCKET = "firehose-out"

    def __init__(self, server: LocalGlueRegistry) -> None:
        self.server = server
        self.s3 = self.client("s3")
        self.s3.create_bucket(Bucket=self.BUCKET)

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def region(self) -> str:
        return self.server.region

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` for this server (dummy credentials, no retries)."""
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=self.endpoint, region_name=_REGION, verify=self.server.verify,
            aws_access_key_id="local-access-key", aws_secret_access_key="local-secret-key",
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )

    def delivery_stream(self, prefix: str = "ds") -> str:
        """A new DirectPut delivery stream that delivers to ``<bucket>/<its name>/``."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "BucketARN": f"arn:aws:s3:::{self.BUCKET}",
                "Prefix": f"{name}/",
            },
        )
        return name

    def objects(self, name: str) -> list[bytes]:
        """The bodies of the objects stream ``name`` delivered, in key order."""
        listed = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.BUCKET, Prefix=f"{name}/"
        )
        keys = sorted(o["Key"] for page in listed for o in page.get("Contents", ()))
        return [self.s3.get_object(Bucket=self.BUCKET, Key=k)["Body"].read() for k in keys]

    def records(self, name: str) -> list[str]:
        """Every newline-terminated record stream ``name`` delivered (objects may hold many)."""
        data = b"".join(self.objects(name)).decode()
        assert data == "" or data.endswith("\n"), f"a record without its newline: {data[-80:]!r}"
        return data.splitlines()

    def wait_for_records(self, name: str, count: int, timeout_s: float = 60.0) -> list[str]:
        """The stream's records once there are at least ``count``; fails after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            records = self.records(name)
            if len(records) >= count or time.monotonic() > deadline:
                return records
            time.sleep(0.3)


@pytest.fixture(scope="session")
def local_firehose(glue_registry: LocalGlueRegistry) -> LocalFirehose:
    """Kinesis Data Firehose and S3 on the session's moto server."""
    return LocalFirehose(glue_registry)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[
    None, Any, None
]:
    """Add the moto server's log to the report of a failed test that used it."""
    outcome = yield
    report = outcome.get_result()
    server = item.config.stash.get(_KEY, None)
    if report.failed and server is not None and "glue_registry" in getattr(
        item, "fixturenames", ()
    ):
        tail = server.log_tail() or "(the server printed nothing)"
        report.sections.append((f"moto server log, last {_LOG_TAIL_LINES} lines", tail))
