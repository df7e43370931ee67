"""What the local Kinesis servers share: the process, its log, and the boto3 helpers.

``LocalKinesisServer`` picks free ports, starts a server process, waits until it answers,
stops it (also at interpreter exit) and offers helpers to create streams, write records and
read them back. ``pyflink_kinesis.testing.kinesalite`` (``LocalKinesis``) and
``pyflink_kinesis.testing.kinesis_mock`` (``KinesisMock``) say how to find and start their
server. This module imports boto3 but never pyflink or py4j.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Sequence, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from pyflink_kinesis.errors import KinesisError
from pyflink_kinesis.testing import npm

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import (
        PutRecordsRequestEntryTypeDef,
        ShardTypeDef,
    )

__all__ = [
    "DEFAULT_REGION",
    "LAUNCHERS",
    "KinesisRecord",
    "LocalKinesisError",
    "LocalKinesisServer",
    "PutResult",
    "RecordsTimeoutError",
]

#: Region the local server reports in its ARNs, and the one ``client()`` uses.
DEFAULT_REGION = "us-east-1"


_HOST = "127.0.0.1"


_MAX_RECORDS_PER_PUT = 500


_MAX_BYTES_PER_PUT = 5 * 1024 * 1024


_PORT_ATTEMPTS = 5


_LISTENING_MARKER = "Listening at"


#: The Node scripts that start the servers as tests, ``pyflink-kinesis local-kinesis`` and
#: docker compose run them (listen address, kinesalite's patches, exit with the parent).
LAUNCHERS = Path(__file__).resolve().parent / "launchers"


class LocalKinesisError(KinesisError):
    """The local Kinesis server could not be found, started, or did not do what was asked."""


class RecordsTimeoutError(LocalKinesisError, TimeoutError):
    """Fewer records than expected arrived in time.

    ``arrived`` and ``expected`` are the counts; ``records`` holds what did arrive.
    """

    def __init__(
        self, stream_name: str, expected: int, records: list[KinesisRecord], timeout_s: float
    ) -> None:
        self.stream_name = stream_name
        self.expected = expected
        self.arrived = len(records)
        self.records = records
        super().__init__(
            f"timed out after {timeout_s:g}s waiting for records in stream {stream_name!r}: "
            f"{self.arrived} of {expected} arrived"
        )


@dataclass(frozen=True)
class KinesisRecord:
    """One record read back from a stream.

    ``approximate_arrival_timestamp`` is timezone-aware (UTC).
    """

    data: bytes
    partition_key: str
    shard_id: str
    sequence_number: str
    approximate_arrival_timestamp: datetime

    @property
    def text(self) -> str:
        """The data decoded as UTF-8."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class PutResult:
    """Where one record written by ``LocalKinesis.put_records`` landed."""

    shard_id: str
    sequence_number: str


def _find_executable(
    env_var: str, local: Sequence[Path], command: str, what: str,
    error: type[LocalKinesisError], hint: str,
) -> Path:
    """``$env_var`` (an existing file or a command on PATH), else the first of ``local``
    (the checkout's and the installed servers), else ``command`` on PATH; raises ``error``
    with the install ``hint`` when none is there."""
    configured = os.environ.get(env_var, "")
    if configured:
        candidate = Path(configured).expanduser()
        if candidate.is_file():
            return candidate
        on_path = shutil.which(configured)
        if on_path:
            return Path(on_path)
        raise error(
            f"{env_var} is set to {configured!r}, which is not an existing file "
            f"or a command on PATH. {hint}"
        )
    for candidate in local:
        if candidate.is_file():
            return candidate
    on_path = shutil.which(command)
    if on_path:
        return Path(on_path)
    places = ", ".join(str(c) for c in local)
    raise error(
        f"{what} was not found (looked at {env_var}, {places}, and PATH for {command}). {hint}"
    )


def _npm_package_name(directory: Path) -> str | None:
    """The ``name`` in ``directory/package.json``, or None when there is none to read."""
    try:
        name = json.loads((directory / "package.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) else None


def _node(server_name: str) -> str:
    """The ``node`` executable on PATH; raises ``LocalKinesisError`` if there is none."""
    node = shutil.which("node")
    if node is None:
        raise LocalKinesisError(
            f"Node.js (`node`) is not on PATH; {server_name} needs it (tested with Node 20)."
        )
    return node


def _free_ports(host: str, count: int) -> tuple[int, ...]:
    """``count`` distinct ports on ``host`` that were free a moment ago.

    The caller retries if one gets taken before the server binds it.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return tuple(ports)


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _parents_first(shards: Sequence[ShardTypeDef]) -> list[ShardTypeDef]:
    """Order shards so every shard comes after its parents, otherwise keeping their order."""
    by_id = {shard["ShardId"]: shard for shard in shards}
    seen: set[str] = set()
    ordered: list[ShardTypeDef] = []

    def visit(shard_id: str) -> None:
        if shard_id in seen or shard_id not in by_id:
            return
        seen.add(shard_id)
        shard = by_id[shard_id]
        for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")):
            if parent:
                visit(parent)
        ordered.append(shard)

    for shard in shards:
        visit(shard["ShardId"])
    return ordered


@dataclass(frozen=True)
class _Launch:
    """How to start one server process."""

    command: list[str]
    cwd: Path | None
    env: dict[str, str]
    #: Give the process a stdin pipe; our bootstrap scripts exit when it closes.
    stdin_pipe: bool


_ServerT = TypeVar("_ServerT", bound="LocalKinesisServer")


class LocalKinesisServer:
    """What ``LocalKinesis`` and ``KinesisMock`` share: the process, its log and the helpers.

    Subclasses say how to find and start their server; this class picks free ports on
    127.0.0.1, starts the process, waits until it answers ListStreams, stops it (also at
    interpreter exit) and offers boto3 helpers to create streams, write records and read them
    back. It is not meant to be instantiated itself.
    """

    #: Name of the server in messages.
    _server_name = "local Kinesis"
    #: How many TCP ports the server needs; the first one is ``port``.
    _port_count = 1
    #: Log text that shows the server is listening, checked before probing (``None``: probe).
    _ready_marker: str | None = None
    #: Send DeleteStream with EnforceConsumerDeletion (servers with enhanced fan-out).
    _delete_consumers_with_stream = False

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | None,
        region: str,
        startup_timeout_s: float,
        log_path: str | os.PathLike[str] | None,
        host: str = _HOST,
        port: int | None = None,
        install: bool = False,
    ) -> None:
        self._executable = Path(executable) if executable is not None else None
        self._bind_host = host
        # Clients reach a server listening on every interface through loopback.
        self._connect_host = _HOST if host in ("0.0.0.0", "::", "localhost") else host
        self._requested_port = port
        self._install = install
        self._region = region
        self._startup_timeout_s = startup_timeout_s
        self._requested_log_path = Path(log_path) if log_path is not None else None
        self._log_path: Path | None = self._requested_log_path
        self._owns_log = False
        self._final_log: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._ports: tuple[int, ...] | None = None
        self._client: KinesisClient | None = None
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- what subclasses provide

    def _find_executable(self) -> Path:
        """The executable to run when none was given; raises a ``...NotFoundError``."""
        raise NotImplementedError

    def _missing_executable_error(self, executable: Path) -> LocalKinesisError:
        """The error for an explicitly given executable that does not exist."""
        raise NotImplementedError

    def _found_or_installed(self) -> Path:
        """The executable; with ``install``, the pinned servers are installed when missing."""
        try:
            return self._find_executable()
        except LocalKinesisError:
            if not self._install:
                raise
        try:
            npm.install()
        except npm.NpmInstallError as exc:
            raise LocalKinesisError(f"{self._server_name} is not installed and {exc}") from exc
        return self._find_executable()

    def _launch_spec(self, executable: Path, ports: tuple[int, ...]) -> _Launch:
        """The command, working directory and environment that start the server on ``ports``."""
        raise NotImplementedError

    def _probe(self, ports: tuple[int, ...]) -> None:
        """Raise if the server on ``ports`` does not answer yet (it answers ListStreams)."""
        probe = self._make_client(
            f"http://{self._connect_host}:{ports[0]}", max_attempts=1, connect_timeout_s=1.0,
            read_timeout_s=2.0,
        )
        probe.list_streams(Limit=1)

    # ----------------------------------------------------------------- lifecycle

    def start(self: _ServerT) -> _ServerT:
        """Start the server and wait until it answers ListStreams; returns ``self``.

        Raises ``KinesaliteNotFoundError`` / ``KinesisMockNotFoundError`` if there is no
        executable, and ``LocalKinesisError`` (with the tail of the server log) if it does not
        come up within ``startup_timeout_s``. Calling it on a running server does nothing.
        """
        with self._lock:
            if self.is_running:
                return self
            if self._process is not None:
                self.stop()
            executable = self._executable or self._found_or_installed()
            if not executable.is_file():
                raise self._missing_executable_error(executable)
            if self._requested_log_path is None:
                prefix = re.sub(r"[^a-z0-9]+", "-", self._server_name.lower())
                fd, name = tempfile.mkstemp(prefix=f"{prefix}-", suffix=".log")
                os.close(fd)
                self._log_path, self._owns_log = Path(name), True
            self._final_log = None
            last_error: LocalKinesisError | None = None
            chosen = self._requested_port
            for _attempt in range(1 if chosen else _PORT_ATTEMPTS):
                free = _free_ports(self._bind_host, self._port_count - (1 if chosen else 0))
                ports = (chosen, *free) if chosen else free
                try:
                    self._launch(self._launch_spec(executable, ports))
                    self._wait_until_ready(ports)
                except _PortTaken as taken:
                    last_error = LocalKinesisError(
                        f"port {chosen} is in use: choose another" if chosen else str(taken)
                    )
                    self._kill_process()
                    continue
                except BaseException:
                    self.stop()
                    raise
                self._ports = ports
                atexit.register(self._stop_at_exit)
                return self
            self.stop()
            if chosen:
                raise LocalKinesisError(f"{self._server_name} could not listen: {last_error}")
            raise LocalKinesisError(
                f"{self._server_name} could not get a free port after {_PORT_ATTEMPTS} "
                f"attempts: {last_error}"
            )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout_s``; safe to call twice."""
        with self._lock:
            atexit.unregister(self._stop_at_exit)
            self._kill_process(timeout_s)
            self._ports = None
            self._client = None
            if self._log_path is not None and self._log_path.exists():
                self._final_log = self._log_path.read_text(encoding="utf-8", errors="replace")
                if self._owns_log:
                    with contextlib.suppress(OSError):
                        self._log_path.unlink()
            if self._owns_log:
                self._log_path, self._owns_log = None, False

    def __enter__(self: _ServerT) -> _ServerT:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running at {self.endpoint}" if self.is_running else "stopped"
        return f"<{type(self).__name__} {state}>"

    def _stop_at_exit(self) -> None:
        self.stop(timeout_s=5.0)

    def _launch(self, spec: _Launch) -> None:
        assert self._log_path is not None
        self._log_file = open(self._log_path, "wb")  # noqa: SIM115 - closed in _kill_process
        self._process = subprocess.Popen(
            spec.command,
            stdin=subprocess.PIPE if spec.stdin_pipe else subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=spec.cwd,
            env=spec.env,
            start_new_session=True,
        )

    def _wait_until_ready(self, ports: tuple[int, ...]) -> None:
        deadline = time.monotonic() + self._startup_timeout_s
        where = f"http://{self._connect_host}:{ports[0]}"
        last_problem = "no answer yet"
        while True:
            process = self._process
            assert process is not None
            code = process.poll()
            if code is not None:
                log = self.log_text()
                if "EADDRINUSE" in log:
                    raise _PortTaken(
                        f"one of the ports {ports} was taken before {self._server_name} "
                        "could bind it"
                    )
                raise LocalKinesisError(
                    f"{self._server_name} exited with code {code} during startup.\n"
                    f"--- server log (tail) ---\n{_tail(log, 40)}"
                )
            if self._ready_marker is None or self._ready_marker in self.log_text():
                try:
                    self._probe(ports)
                    return
                except (
                    botocore.exceptions.BotoCoreError,
                    botocore.exceptions.ClientError,
                    OSError,
                ) as e:
                    last_problem = f"{type(e).__name__}: {e}"
            if time.monotonic() >= deadline:
                raise LocalKinesisError(
                    f"{self._server_name} did not answer on {where} within "
                    f"{self._startup_timeout_s:g}s (last problem: {last_problem}).\n"
                    f"--- server log (tail) ---\n{_tail(self.log_text(), 40)}"
                )
            time.sleep(0.02)

    def _kill_process(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            if process.poll() is None:
                self._signal(process, signal.SIGTERM)
                try:
                    process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    self._signal(process, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
                    process.wait()
            # Anything the executable started in its session (a wrapper script's child).
            if os.name == "posix":
                with contextlib.suppress(OSError):
                    os.killpg(process.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(OSError):
            if os.name == "posix":
                os.killpg(process.pid, sig)
            elif sig == signal.SIGTERM:
                process.terminate()
            else:
                process.kill()

    # ----------------------------------------------------------------- properties

    @property
    def is_running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the server (or of the executable started), ``None`` when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def host(self) -> str:
        """The address clients connect to: ``127.0.0.1`` unless the server listens on another
        address than loopback or every interface."""
        return self._connect_host

    @property
    def port(self) -> int:
        """The TCP port of ``endpoint``; raises ``LocalKinesisError`` when not started."""
        return self._running_ports()[0]

    def _running_ports(self) -> tuple[int, ...]:
        if self._ports is None:
            raise LocalKinesisError(f"the {self._server_name} server is not running; call start()")
        return self._ports

    @property
    def endpoint(self) -> str:
        """Endpoint URL for clients, e.g. ``http://127.0.0.1:45678``."""
        return f"http://{self._connect_host}:{self.port}"

    @property
    def region(self) -> str:
        """The region clients should use (it appears in stream ARNs)."""
        return self._region

    @property
    def log_path(self) -> Path | None:
        """File holding the server's output; ``None`` once a temporary log was removed."""
        return self._log_path

    def log_text(self) -> str:
        """Everything the server has printed (after ``stop()``: what it printed last run)."""
        if self._log_path is not None and self._log_path.exists():
            return self._log_path.read_text(encoding="utf-8", errors="replace")
        return self._final_log or ""

    def log_tail(self, lines: int = 50) -> str:
        """The last ``lines`` lines of ``log_text()``."""
        return _tail(self.log_text(), lines)

    # ----------------------------------------------------------------- clients

    def client(self, *, max_attempts: int = 5, read_timeout_s: float = 30.0) -> KinesisClient:
        """A new boto3 Kinesis client for this server, with dummy credentials.

        Retries use botocore's ``standard`` mode with ``max_attempts`` attempts in total.
        """
        return self._make_client(
            self.endpoint,
            max_attempts=max_attempts,
            connect_timeout_s=5.0,
            read_timeout_s=read_timeout_s,
        )

    def _make_client(
        self,
        endpoint: str,
        *,
        max_attempts: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        verify: bool | str = True,
    ) -> KinesisClient:
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name=self._region,
        )
        config = botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
        )
        return session.client("kinesis", endpoint_url=endpoint, config=config, verify=verify)

    @property
    def _kinesis(self) -> KinesisClient:
        if self._client is None:
            self._client = self.client()
        return self._client

    # ----------------------------------------------------------------- streams

    def create_stream(self, name: str, shard_count: int = 1, timeout_s: float = 30.0) -> None:
        """Create a stream and wait until it is ACTIVE."""
        self._kinesis.create_stream(StreamName=name, ShardCount=shard_count)
        self.wait_until_active(name, timeout_s)

    def wait_until_active(self, name: str, timeout_s: float = 30.0) -> None:
        """Wait until a stream is ACTIVE (after creating it, or after SplitShard/MergeShards)."""
        deadline = time.monotonic() + timeout_s
        while True:
            summary = self._kinesis.describe_stream_summary(StreamName=name)
            status = summary["StreamDescriptionSummary"]["StreamStatus"]
            if status == "ACTIVE":
                return
            if time.monotonic() >= deadline:
                raise LocalKinesisError(f"stream {name!r} is still {status} after {timeout_s:g}s")
            time.sleep(0.01)

    def delete_stream(self, name: str, wait: bool = True, timeout_s: float = 30.0) -> None:
        """Delete a stream (and, on servers with enhanced fan-out, its consumers).

        A stream that does not exist is fine. With ``wait`` it returns once the stream is gone,
        so the name can be reused.
        """
        kinesis = self._kinesis
        try:
            if self._delete_consumers_with_stream:
                kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
            else:
                kinesis.delete_stream(StreamName=name)
        except kinesis.exceptions.ResourceNotFoundException:
            return
        deadline = time.monotonic() + timeout_s
        while wait:
            try:
                kinesis.describe_stream_summary(StreamName=name)
            except kinesis.exceptions.ResourceNotFoundException:
                return
            if time.monotonic() >= deadline:
                raise LocalKinesisError(f"stream {name!r} still exists {timeout_s:g}s after delete")
            time.sleep(0.01)

    def list_shards(self, stream_name: str) -> list[ShardTypeDef]:
        """All shards of a stream, open and closed, as ListShards returns them."""
        kinesis = self._kinesis
        response = kinesis.list_shards(StreamName=stream_name)
        shards = list(response["Shards"])
        while response.get("NextToken"):
            response = kinesis.list_shards(NextToken=response["NextToken"])
            shards.extend(response["Shards"])
        return shards

    # ----------------------------------------------------------------- records

    def put_records(
        self,
        stream_name: str,
        records: Sequence[bytes | str],
        partition_keys: Sequence[str] | None = None,
        *,
        max_attempts: int = 10,
    ) -> list[PutResult]:
        """Write records with PutRecords; returns where each landed, in input order.

        ``str`` records are encoded as UTF-8. Without ``partition_keys`` record *i* gets the
        key ``str(i)``, which spreads records over the shards. Requests carry at most 500
        records and 5 MiB. Entries the server rejects are retried (up to ``max_attempts``
        times, with backoff), so a retried record may land after records that followed it.
        Raises ``LocalKinesisError`` if some still fail.
        """
        if partition_keys is None:
            keys: Sequence[str] = [str(index) for index in range(len(records))]
        elif len(partition_keys) != len(records):
            raise ValueError(f"got {len(records)} records but {len(partition_keys)} partition keys")
        else:
            keys = partition_keys
        payloads = [r.encode("utf-8") if isinstance(r, str) else bytes(r) for r in records]
        results: list[PutResult | None] = [None] * len(payloads)
        batch: list[int] = []
        batch_bytes = 0
        for index, payload in enumerate(payloads):
            size = len(payload) + len(keys[index].encode("utf-8"))
            if batch and (
                len(batch) == _MAX_RECORDS_PER_PUT or batch_bytes + size > _MAX_BYTES_PER_PUT
            ):
                self._put_batch(stream_name, batch, payloads, keys, results, max_attempts)
                batch, batch_bytes = [], 0
            batch.append(index)
            batch_bytes += size
        if batch:
            self._put_batch(stream_name, batch, payloads, keys, results, max_attempts)
        return [result for result in results if result is not None]

    def _put_batch(
        self,
        stream_name: str,
        indices: list[int],
        payloads: list[bytes],
        keys: Sequence[str],
        results: list[PutResult | None],
        max_attempts: int,
    ) -> None:
        pending = indices
        for attempt in range(max_attempts):
            entries: list[PutRecordsRequestEntryTypeDef] = [
                {"Data": payloads[i], "PartitionKey": keys[i]} for i in pending
            ]
            response = self._kinesis.put_records(StreamName=stream_name, Records=entries)
            failed: list[int] = []
            errors: list[str] = []
            for index, entry in zip(pending, response["Records"]):
                if entry.get("ErrorCode"):
                    failed.append(index)
                    errors.append(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage', '')}")
                else:
                    results[index] = PutResult(entry["ShardId"], entry["SequenceNumber"])
            if not failed:
                return
            if attempt + 1 == max_attempts:
                raise LocalKinesisError(
                    f"{len(failed)} of {len(indices)} records were still rejected by "
                    f"PutRecords on stream {stream_name!r} after {max_attempts} attempts; "
                    f"first error: {errors[0]}"
                )
            pending = failed
            time.sleep(min(0.05 * 2**attempt, 1.0))

    def read_all(self, stream_name: str) -> list[KinesisRecord]:
        """Every record in the stream, read from TRIM_HORIZON in every shard, closed or open.

        Shards are read parents first; within a shard records come in sequence order. So
        records with the same partition key come in the order they were written, also across
        SplitShard and MergeShards. An open shard counts as drained at the first empty
        GetRecords answer that is not behind the tip of the shard.
        """
        kinesis = self._kinesis
        found: list[KinesisRecord] = []
        for shard in _parents_first(self.list_shards(stream_name)):
            shard_id = shard["ShardId"]
            iterator: str | None = kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                response = kinesis.get_records(ShardIterator=iterator, Limit=10000)
                page = response["Records"]
                found.extend(
                    KinesisRecord(
                        data=bytes(record["Data"]),
                        partition_key=record["PartitionKey"],
                        shard_id=shard_id,
                        sequence_number=record["SequenceNumber"],
                        approximate_arrival_timestamp=record["ApproximateArrivalTimestamp"],
                    )
                    for record in page
                )
                iterator = response.get("NextShardIterator")
                if not page and response.get("MillisBehindLatest", 0) == 0:
                    break
        return found

    def wait_for_records(
        self,
        stream_name: str,
        count: int,
        timeout_s: float = 30.0,
        poll_interval_s: float = 0.1,
    ) -> list[KinesisRecord]:
        """Poll ``read_all`` until the stream holds at least ``count`` records; return them all.

        Raises ``RecordsTimeoutError`` ("N of M arrived") if they are not there in time.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            records = self.read_all(stream_name)
            if len(records) >= count:
                return records
            if time.monotonic() >= deadline:
                raise RecordsTimeoutError(stream_name, count, records, timeout_s)
            time.sleep(poll_interval_s)


class _PortTaken(Exception):
    """kinesalite lost the race for the port we picked; start() tries another."""
