"""Pytest plugin: a session-wide moto server standing in for the AWS Glue Schema Registry.

moto's server mode (``moto_server``, the ``moto[server]`` pin of the ``dev`` extra) serves the
Glue registry calls the tests need: CreateRegistry, CreateSchema, RegisterSchemaVersion and
GetSchemaVersion (the only call the Glue Schema Registry deserializer makes).

* ``glue_registry`` (session): one moto server on a free loopback port, stopped at the end.
  If ``moto_server`` is missing, every test that uses it errors with install instructions.

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

from tests.support.environment import fresh_process_environment

__all__ = ["LocalGlueRegistry", "glue_registry", "pytest_runtest_makereport"]

MOTO_VERSION = "5.2.5"
_HOST = "127.0.0.1"
_REGION = "us-east-1"
_START_TIMEOUT_S = 60.0
_LOG_TAIL_LINES = 60
_KEY = pytest.StashKey["LocalGlueRegistry"]()


class LocalGlueRegistry:
    """A moto server on loopback with helpers to register Avro schemas in its Glue registry."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="moto-glue-"))
        self.log_path = self._log_dir / "moto.log"

    @property
    def endpoint(self) -> str:
        return f"http://{_HOST}:{self.port}"

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
                [executable, "-H", _HOST, "-p", str(self.port)],
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
            "glue", endpoint_url=self.endpoint, region_name=_REGION,
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
        server.stop()


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
