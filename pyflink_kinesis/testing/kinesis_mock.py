"""kinesis-mock (npm ``kinesis-local``), the local Kinesis with enhanced fan-out and
UpdateShardCount: ``KinesisMock`` starts it on free ports of 127.0.0.1.

Install it once from the repository root with ``make kinesis-server``, or globally with
``npm install -g kinesis-local@0.6.2``. Node.js must be on ``PATH`` (tested with Node 20).

Things to know about kinesis-mock 0.6.2 (``kinesis-local``):

* It keeps everything in memory; a stopped server loses its streams.
* Its plain port serves HTTP/1.1 and HTTP/2 cleartext, so the AWS SDK v2 Netty client that
  SubscribeToShard needs works with an ``http://`` endpoint; its TLS port uses a self-signed
  certificate, or one given to ``KinesisMock``. It speaks HTTP/2 there only to clients that
  ask for it (ALPN), which the connector's SDK v2 Netty client does not.
* It has no setting for its listen address (it binds every interface); ``KinesisMock``
  binds it to 127.0.0.1 when it runs the npm package's ``main.js``.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pyflink_kinesis.testing import npm

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import (
        ConsumerDescriptionTypeDef,
        ConsumerTypeDef,
    )
from pyflink_kinesis.testing._server import (
    _HOST,
    DEFAULT_REGION,
    LAUNCHERS,
    LocalKinesisError,
    LocalKinesisServer,
    _find_executable,
    _Launch,
    _node,
    _npm_package_name,
)

__all__ = ["ENV_KINESIS_MOCK", "KINESIS_MOCK_VERSION", "KinesisMock", "KinesisMockNotFoundError",
           "find_kinesis_mock"]

#: The kinesis-local (kinesis-mock) version pinned in ``tools/local-kinesis/package.json``.
KINESIS_MOCK_VERSION = "0.6.2"


#: Environment variable naming kinesis-mock's ``main.js`` (or another executable) to use.
ENV_KINESIS_MOCK = "PYFLINK_KINESIS_KINESIS_MOCK"


#: kinesis-mock settings; inherited values are dropped so every server starts the same way.
_KINESIS_MOCK_SETTINGS = frozenset(
    {
        "INITIALIZE_STREAMS",
        "KINESIS_MOCK_TLS_PORT",
        "KINESIS_MOCK_PLAIN_PORT",
        "KINESIS_MOCK_CERT_PASSWORD",
        "KINESIS_MOCK_CERT_PATH",
        "CREATE_STREAM_DURATION",
        "DELETE_STREAM_DURATION",
        "REGISTER_STREAM_CONSUMER_DURATION",
        "START_STREAM_ENCRYPTION_DURATION",
        "STOP_STREAM_ENCRYPTION_DURATION",
        "DEREGISTER_STREAM_CONSUMER_DURATION",
        "MERGE_SHARDS_DURATION",
        "SPLIT_SHARD_DURATION",
        "UPDATE_SHARD_COUNT_DURATION",
        "UPDATE_STREAM_MODE_DURATION",
        "SHARD_LIMIT",
        "ON_DEMAND_STREAM_COUNT_LIMIT",
        "AWS_ACCOUNT_ID",
        "LOG_LEVEL",
        "ROOT_LOG_LEVEL",
        "LOAD_DATA_IF_EXISTS",
        "SHOULD_PERSIST_DATA",
        "PERSIST_PATH",
        "PERSIST_FILE_NAME",
        "PERSIST_INTERVAL",
    }
)


_KINESIS_MOCK_INSTALL_HINT = (
    "Install it with `pyflink-kinesis local-kinesis` (installs the pinned servers with npm on "
    "first use), from a source checkout with `make kinesis-server`, or globally with "
    f"`npm install -g kinesis-local@{KINESIS_MOCK_VERSION}`, or set {ENV_KINESIS_MOCK} "
    "to the path of kinesis-local's main.js."
)


class KinesisMockNotFoundError(LocalKinesisError):
    """No kinesis-mock (``kinesis-local``) was found; the message says how to install it."""


def find_kinesis_mock() -> Path:
    """Locate kinesis-mock: the ``main.js`` of the npm package ``kinesis-local``.

    Looks at ``$PYFLINK_KINESIS_KINESIS_MOCK`` first (if set, it must name an existing file or
    a command on ``PATH``), then at ``tools/local-kinesis/node_modules/kinesis-local/main.js``
    in the source checkout this module lives in, then at ``kinesis-local`` on ``PATH``.
    Raises ``KinesisMockNotFoundError`` with install instructions if none is there.
    """
    return _find_executable(
        ENV_KINESIS_MOCK, npm.candidates("kinesis-local/main.js"), "kinesis-local",
        "kinesis-mock",
        KinesisMockNotFoundError, _KINESIS_MOCK_INSTALL_HINT,
    )


def _certificate_file(
    certificate: str | os.PathLike[str], key: str | os.PathLike[str]
) -> Path:
    """kinesis-mock's certificate file (``{"server": {"cert": PEM, "key": PEM}}``, the layout
    of its own ``server.json``) for a PEM certificate and key, readable by its owner only."""
    content = {"server": {"cert": Path(certificate).read_text(), "key": Path(key).read_text()}}
    handle, path = tempfile.mkstemp(prefix="kinesis-mock-cert-", suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(content, file)
    return Path(path)


def _kinesis_mock_package_dir(executable: Path) -> Path | None:
    """The kinesis-local npm package an executable belongs to, if it is the package's main.js."""
    real = executable.resolve()
    if real.name != "main.js":
        return None
    return real.parent if _npm_package_name(real.parent) == "kinesis-local" else None


class KinesisMock(LocalKinesisServer):
    """A kinesis-mock server (npm ``kinesis-local``) on free ports of 127.0.0.1, plus helpers.

    Unlike kinesalite it implements enhanced fan-out (RegisterStreamConsumer,
    DescribeStreamConsumer, ListStreamConsumers, SubscribeToShard over HTTP/2) and
    UpdateShardCount, so it is the server for EFO consumer tests. It offers the same helpers
    as ``LocalKinesis`` plus ``update_shard_count``, ``stream_arn``,
    ``register_stream_consumer`` and ``list_stream_consumers``.

    The server has two ports: ``endpoint`` (``http://127.0.0.1:PORT``) speaks plain HTTP/1.1
    and HTTP/2 cleartext (the Flink EFO consumer works against it), and ``tls_endpoint``
    (``https://127.0.0.1:TLS_PORT``) uses kinesis-mock's self-signed certificate, or
    ``tls_certificate``: a pair of PEM files (the server's certificate, signed by your CA for
    ``127.0.0.1``, and its unencrypted private key), so that clients trusting that CA verify
    the TLS port as they verify AWS (kinesis-mock reads them from a temporary file, deleted
    when the server stops). ``tls_client()`` is a Python client for the TLS port.

    ``executable`` overrides ``find_kinesis_mock()``. ``create_stream_ms``,
    ``delete_stream_ms``, ``consumer_ms`` (RegisterStreamConsumer, DeregisterStreamConsumer,
    and stream encryption) and ``update_stream_ms`` (UpdateShardCount, SplitShard,
    MergeShards, UpdateStreamMode) are how long those operations leave the stream or consumer
    in a transitional state (kinesis-mock's default is 500 ms; ours is short to keep tests
    fast).
    ``shard_limit`` is the server's open shard limit, ``account_id`` the account in its ARNs,
    and ``log_level`` its log level (``ERROR``, ``WARN``, ``INFO``, ``DEBUG`` or ``TRACE``).
    Settings of kinesis-mock in our own environment (``INITIALIZE_STREAMS``,
    ``SHOULD_PERSIST_DATA``, ...) are not passed on, so every server starts empty and keeps
    its data in memory only. ``startup_timeout_s`` and ``log_path`` work as for
    ``LocalKinesis``; the process is stopped at interpreter exit and exits by itself if the
    Python process that started it dies.

    If the executable is the package's ``main.js`` (the npm install layout), it is run with
    ``node`` from the package directory (it reads its certificate, ``server.json``, from the
    working directory) and both ports are bound to 127.0.0.1 only: kinesis-mock has no
    setting for its listen address and binds every interface, so a small start-up script
    makes Node listen on loopback. Any other executable (a wrapper script) is run from its
    own directory with the settings in its environment, and binds every interface.
    """

    _server_name = "kinesis-mock"
    _port_count = 2
    _delete_consumers_with_stream = True

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = "000000000000",
        create_stream_ms: int = 10,
        delete_stream_ms: int = 10,
        consumer_ms: int = 10,
        update_stream_ms: int = 10,
        shard_limit: int = 1000,
        log_level: str = "INFO",
        startup_timeout_s: float = 30.0,
        log_path: str | os.PathLike[str] | None = None,
        host: str = _HOST,
        port: int | None = None,
        install: bool = False,
        tls_certificate: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    ) -> None:
        super().__init__(
            executable=executable,
            region=region,
            startup_timeout_s=startup_timeout_s,
            log_path=log_path,
            host=host,
            port=port,
            install=install,
        )
        self._account_id = account_id
        self._settings = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCOUNT_ID": account_id,
            "CREATE_STREAM_DURATION": f"{create_stream_ms}ms",
            "DELETE_STREAM_DURATION": f"{delete_stream_ms}ms",
            "REGISTER_STREAM_CONSUMER_DURATION": f"{consumer_ms}ms",
            # kinesis-mock 0.6.2 reads the DeregisterStreamConsumer delay from
            # START_STREAM_ENCRYPTION_DURATION (it rotates three of its settings: START feeds
            # deregistration, STOP feeds StartStreamEncryption, DEREGISTER feeds
            # StopStreamEncryption), so all three get the consumer delay.
            "DEREGISTER_STREAM_CONSUMER_DURATION": f"{consumer_ms}ms",
            "START_STREAM_ENCRYPTION_DURATION": f"{consumer_ms}ms",
            "STOP_STREAM_ENCRYPTION_DURATION": f"{consumer_ms}ms",
            "UPDATE_SHARD_COUNT_DURATION": f"{update_stream_ms}ms",
            "SPLIT_SHARD_DURATION": f"{update_stream_ms}ms",
            "MERGE_SHARDS_DURATION": f"{update_stream_ms}ms",
            "UPDATE_STREAM_MODE_DURATION": f"{update_stream_ms}ms",
            "SHARD_LIMIT": str(shard_limit),
            "LOG_LEVEL": log_level,
            "ROOT_LOG_LEVEL": "ERROR",
            "SHOULD_PERSIST_DATA": "false",
            "LOAD_DATA_IF_EXISTS": "false",
        }
        self._tls_certificate = tls_certificate
        self._certificate_path: Path | None = None

    def _find_executable(self) -> Path:
        return find_kinesis_mock()

    def _missing_executable_error(self, executable: Path) -> LocalKinesisError:
        return KinesisMockNotFoundError(
            f"kinesis-mock executable {str(executable)!r} does not exist. "
            f"{_KINESIS_MOCK_INSTALL_HINT}"
        )

    def _launch_spec(self, executable: Path, ports: tuple[int, ...]) -> _Launch:
        plain_port, tls_port = ports
        env = {k: v for k, v in os.environ.items() if k not in _KINESIS_MOCK_SETTINGS}
        env.update(self._settings)
        env.update(KINESIS_MOCK_PLAIN_PORT=str(plain_port), KINESIS_MOCK_TLS_PORT=str(tls_port))
        if self._tls_certificate is not None:
            self._remove_certificate_file()
            self._certificate_path = _certificate_file(*self._tls_certificate)
            env["KINESIS_MOCK_CERT_PATH"] = str(self._certificate_path)
        package_dir = _kinesis_mock_package_dir(executable)
        if package_dir is None:
            return _Launch([str(executable)], executable.resolve().parent, env, stdin_pipe=False)
        main_js = str(package_dir / "main.js")
        launcher = str(LAUNCHERS / "kinesis-mock.js")
        command = [_node("kinesis-mock"), launcher, main_js, self._bind_host, "watch-stdin"]
        return _Launch(command, cwd=package_dir, env=env, stdin_pipe=True)

    def stop(self, timeout_s: float = 10.0) -> None:
        super().stop(timeout_s)
        self._remove_certificate_file()

    def _remove_certificate_file(self) -> None:
        """Delete the certificate file of the last start (it holds the private key)."""
        if self._certificate_path is not None:
            self._certificate_path.unlink(missing_ok=True)
            self._certificate_path = None

    def _probe(self, ports: tuple[int, ...]) -> None:
        super()._probe(ports)
        socket.create_connection((self._connect_host, ports[1]), timeout=1.0).close()

    # ----------------------------------------------------------------- properties and clients

    @property
    def tls_port(self) -> int:
        """The TCP port of ``tls_endpoint``; raises ``LocalKinesisError`` when not started."""
        return self._running_ports()[1]

    @property
    def tls_endpoint(self) -> str:
        """HTTPS endpoint URL (self-signed certificate), e.g. ``https://127.0.0.1:45679``."""
        return f"https://{self._connect_host}:{self.tls_port}"

    @property
    def account_id(self) -> str:
        """The AWS account id in the server's ARNs."""
        return self._account_id

    def tls_client(
        self, *, max_attempts: int = 5, read_timeout_s: float = 30.0,
        verify: str | os.PathLike[str] | bool = False,
    ) -> KinesisClient:
        """Like ``client()``, for ``tls_endpoint``; ``verify`` is the CA bundle (PEM) that
        verifies the server's certificate, or False (the default) not to verify it.

        urllib3 warns about each unverified HTTPS request (``InsecureRequestWarning``).
        """
        return self._make_client(
            self.tls_endpoint,
            max_attempts=max_attempts,
            connect_timeout_s=5.0,
            read_timeout_s=read_timeout_s,
            verify=verify if isinstance(verify, bool) else os.fspath(verify),
        )

    # ----------------------------------------------------------------- streams and consumers

    def stream_arn(self, stream_name: str) -> str:
        """The ARN of a stream."""
        summary = self._kinesis.describe_stream_summary(StreamName=stream_name)
        return summary["StreamDescriptionSummary"]["StreamARN"]

    def update_shard_count(
        self, stream_name: str, target_shard_count: int, timeout_s: float = 30.0
    ) -> None:
        """UpdateShardCount (uniform scaling), then wait until the stream is ACTIVE again.

        Returns once the stream is ACTIVE with ``target_shard_count`` open shards; the old
        shards stay readable as closed parents (``read_all`` reads them first).
        """
        kinesis = self._kinesis
        kinesis.update_shard_count(
            StreamName=stream_name,
            TargetShardCount=target_shard_count,
            ScalingType="UNIFORM_SCALING",
        )
        deadline = time.monotonic() + timeout_s
        while True:
            summary = kinesis.describe_stream_summary(StreamName=stream_name)
            description = summary["StreamDescriptionSummary"]
            status, open_shards = description["StreamStatus"], description["OpenShardCount"]
            if status == "ACTIVE" and open_shards == target_shard_count:
                return
            if time.monotonic() >= deadline:
                raise LocalKinesisError(
                    f"stream {stream_name!r} is {status} with {open_shards} open shards "
                    f"{timeout_s:g}s after UpdateShardCount to {target_shard_count}"
                )
            time.sleep(0.01)

    def register_stream_consumer(
        self, stream_name: str, consumer_name: str, timeout_s: float = 30.0
    ) -> ConsumerDescriptionTypeDef:
        """Register an enhanced fan-out consumer and wait until it is ACTIVE; returns it."""
        kinesis = self._kinesis
        stream_arn = self.stream_arn(stream_name)
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=consumer_name)
        deadline = time.monotonic() + timeout_s
        while True:
            consumer = kinesis.describe_stream_consumer(
                StreamARN=stream_arn, ConsumerName=consumer_name
            )["ConsumerDescription"]
            if consumer["ConsumerStatus"] == "ACTIVE":
                return consumer
            if time.monotonic() >= deadline:
                raise LocalKinesisError(
                    f"consumer {consumer_name!r} of stream {stream_name!r} is still "
                    f"{consumer['ConsumerStatus']} after {timeout_s:g}s"
                )
            time.sleep(0.01)

    def list_stream_consumers(self, stream_name: str) -> list[ConsumerTypeDef]:
        """The enhanced fan-out consumers registered on a stream, in any status."""
        kinesis = self._kinesis
        stream_arn = self.stream_arn(stream_name)
        response = kinesis.list_stream_consumers(StreamARN=stream_arn)
        consumers = list(response["Consumers"])
        while response.get("NextToken"):
            response = kinesis.list_stream_consumers(
                StreamARN=stream_arn, NextToken=response["NextToken"]
            )
            consumers.extend(response["Consumers"])
        return consumers
