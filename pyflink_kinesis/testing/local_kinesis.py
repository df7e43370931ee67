"""Run kinesalite, a local Kinesis-compatible server, for tests, demos and local development.

``LocalKinesis`` starts kinesalite on a free port of 127.0.0.1, waits until it answers, and
stops it again (also at interpreter exit). It has small helpers to create streams, write
records and read everything back, so a test can check what a Flink job wrote.

Install the server once from the repository root with ``make kinesis-server`` (which runs
``npm ci --prefix tools/local-kinesis``), or globally with
``npm install -g kinesalite@3.3.3``. Node.js must be on ``PATH`` (tested with Node 20).

Things to know about kinesalite 3.3.3:

* It keeps everything in memory; a stopped server loses its streams.
* Use the JSON protocol from Java clients. It parses CBOR requests, but binary ``Data`` sent
  as CBOR comes back from GetRecords as a JSON-ish map, and CBOR timestamps are rejected:
  set ``-Dcom.amazonaws.sdk.disableCbor=true`` (or ``AWS_CBOR_DISABLE=1``) for AWS SDK v1
  and ``-Daws.cborEnabled=false`` (or ``CBOR_ENABLED=false``) for AWS SDK v2.
* It has no UpdateShardCount and no enhanced fan-out (RegisterStreamConsumer,
  SubscribeToShard); ListShards, SplitShard and MergeShards work.
* Requests must name streams by ``StreamName``; a ``StreamARN`` alone is rejected.
* GetShardIterator with ``AT_TIMESTAMP`` (which the Flink consumer also uses for ``LATEST``)
  has two bugs that ``LocalKinesis`` works around when it starts the server: it reads the
  Java SDK v1's millisecond ``Timestamp`` as seconds, and it never answers when no record in
  the shard is at or after that time. Our start-up script converts a ``Timestamp`` above
  1e11 from milliseconds, and answers the second case with a LATEST iterator, as Kinesis does.

This module imports boto3 but never pyflink or py4j.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
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
from typing import IO, TYPE_CHECKING, Sequence

import boto3
import botocore.config
import botocore.exceptions

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef, ShardTypeDef

__all__ = [
    "DEFAULT_REGION",
    "ENV_EXECUTABLE",
    "KINESALITE_VERSION",
    "KinesaliteNotFoundError",
    "KinesisRecord",
    "LocalKinesis",
    "LocalKinesisError",
    "PutResult",
    "RecordsTimeoutError",
    "find_kinesalite",
]

#: The kinesalite version pinned in ``tools/local-kinesis/package.json``.
KINESALITE_VERSION = "3.3.3"
#: Environment variable naming the kinesalite executable to use; it overrides every lookup.
ENV_EXECUTABLE = "PYFLINK_KINESIS_KINESALITE"
#: Region the local server reports in its ARNs, and the one ``client()`` uses.
DEFAULT_REGION = "us-east-1"

_HOST = "127.0.0.1"
_MAX_RECORDS_PER_PUT = 500
_MAX_BYTES_PER_PUT = 5 * 1024 * 1024
_PORT_ATTEMPTS = 5
_LISTENING_MARKER = "Listening at"

# Started as `node -e <this> <index.js> <host> <port> <create ms> <delete ms> <update ms>
# <shard limit>`. The kinesalite CLI cannot choose the listen address (it listens on every
# interface), so we load its package and listen on loopback ourselves. The server exits
# when its stdin pipe closes, i.e. when the Python process that started it has gone.
_BOOTSTRAP_JS = r"""
'use strict';
const [indexJs, host, port, createMs, deleteMs, updateMs, shardLimit] = process.argv.slice(1);
const path = require('path');
// Two fixes to GetShardIterator AT_TIMESTAMP, which the Flink consumer also uses for LATEST:
// the AWS Java SDK v1 sends Timestamp in epoch milliseconds over JSON (kinesalite reads
// seconds), and kinesalite never answers when no record is at or after the time (Kinesis then
// returns an iterator at the shard's tip, as LATEST does).
const db = require(path.join(path.dirname(indexJs), 'db'));
const actionPath = require.resolve(path.join(path.dirname(indexJs), 'actions', 'getShardIterator'));
const getShardIterator = require(actionPath);
require.cache[actionPath].exports = function (store, data, cb) {
  if (data.ShardIteratorType !== 'AT_TIMESTAMP' || typeof data.Timestamp !== 'number') {
    return getShardIterator(store, data, cb);
  }
  if (data.Timestamp > 1e11) data.Timestamp = data.Timestamp / 1000;
  let shardIx;
  try { shardIx = db.resolveShardId(data.ShardId).shardIx; } catch (e) {
    return getShardIterator(store, data, cb);
  }
  let found = false;
  store.getStreamDb(data.StreamName)
    .createReadStream({gt: db.shardIxToHex(shardIx), lt: db.shardIxToHex(shardIx + 1)})
    .on('data', (item) => {
      found = found || item.value.ApproximateArrivalTimestamp >= data.Timestamp;
    })
    .on('error', () => getShardIterator(store, data, cb))
    .on('end', () => getShardIterator(store, found ? data
      : Object.assign({}, data, {ShardIteratorType: 'LATEST', Timestamp: undefined}), cb));
};
const server = require(indexJs)({
  createStreamMs: Number(createMs),
  deleteStreamMs: Number(deleteMs),
  updateStreamMs: Number(updateMs),
  shardLimit: Number(shardLimit),
});
server.on('error', (err) => {
  console.error('kinesalite could not listen on ' + host + ':' + port + ': ' +
    ((err && err.code) || '') + ' ' + err);
  process.exit(3);
});
server.listen(Number(port), host, () => {
  const addr = server.address();
  console.log('Listening at http://' + addr.address + ':' + addr.port);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
"""

_INSTALL_HINT = (
    "Install it from the repository root with `make kinesis-server` "
    "(runs `npm ci --prefix tools/local-kinesis`), or globally with "
    f"`npm install -g kinesalite@{KINESALITE_VERSION}`, or set {ENV_EXECUTABLE} "
    "to the path of a kinesalite executable."
)


class LocalKinesisError(Exception):
    """The local Kinesis server could not be found, started, or did not do what was asked."""


class KinesaliteNotFoundError(LocalKinesisError):
    """No kinesalite executable was found; the message says how to install one."""


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


def _repo_local_executable() -> Path:
    """The kinesalite that ``npm ci --prefix tools/local-kinesis`` installs in this repo."""
    repo = Path(__file__).resolve().parents[2]
    return repo / "tools" / "local-kinesis" / "node_modules" / ".bin" / "kinesalite"


def find_kinesalite() -> Path:
    """Locate the kinesalite executable.

    Looks at ``$PYFLINK_KINESIS_KINESALITE`` first (if set, it must name an existing file or a
    command on ``PATH``), then at ``tools/local-kinesis/node_modules/.bin/kinesalite`` in the
    source checkout this module lives in, then at ``kinesalite`` on ``PATH``. Raises
    ``KinesaliteNotFoundError`` with install instructions if none is there.
    """
    configured = os.environ.get(ENV_EXECUTABLE, "")
    if configured:
        candidate = Path(configured).expanduser()
        if candidate.is_file():
            return candidate
        on_path = shutil.which(configured)
        if on_path:
            return Path(on_path)
        raise KinesaliteNotFoundError(
            f"{ENV_EXECUTABLE} is set to {configured!r}, which is not an existing file "
            f"or a command on PATH. {_INSTALL_HINT}"
        )
    local = _repo_local_executable()
    if local.is_file():
        return local
    on_path = shutil.which("kinesalite")
    if on_path:
        return Path(on_path)
    raise KinesaliteNotFoundError(
        f"kinesalite was not found (looked at {ENV_EXECUTABLE}, {local}, and PATH). {_INSTALL_HINT}"
    )


def _kinesalite_package_dir(executable: Path) -> Path | None:
    """The kinesalite npm package an executable belongs to, if it is the package's ``cli.js``."""
    real = executable.resolve()
    package_json = real.parent / "package.json"
    if not (real.parent / "index.js").is_file() or not package_json.is_file():
        return None
    try:
        name = json.loads(package_json.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError):
        return None
    return real.parent if name == "kinesalite" else None


def _free_port(host: str) -> int:
    """A port on ``host`` that was free a moment ago (the caller retries if it gets taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


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


class LocalKinesis:
    """A kinesalite server on a free port of 127.0.0.1, plus helpers to use it.

    Use it as a context manager (``with LocalKinesis() as kinesis: ...``) or call ``start()``
    and ``stop()``. The process is also stopped at interpreter exit, and it exits by itself
    if the Python process that started it dies. Streams live in memory only.

    ``executable`` overrides ``find_kinesalite()``. The ``*_stream_ms`` arguments are how long
    streams stay CREATING, DELETING and UPDATING (kinesalite's default is 500 ms; ours is
    short to keep tests fast). ``shard_limit`` is the total number of open shards the server
    allows. ``log_path`` receives the server's stdout and stderr; by default a temporary file
    is used and removed by ``stop()`` (``log_text()`` still returns its content afterwards).

    If the executable is kinesalite's own ``cli.js`` (the npm install layout), the server is
    bound to 127.0.0.1 only. Any other executable (a wrapper script) is run as
    ``<executable> --port N ...`` and binds every interface, as the kinesalite CLI does.
    """

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | None = None,
        region: str = DEFAULT_REGION,
        create_stream_ms: int = 10,
        delete_stream_ms: int = 10,
        update_stream_ms: int = 10,
        shard_limit: int = 1000,
        startup_timeout_s: float = 30.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._executable = Path(executable) if executable is not None else None
        self._region = region
        self._stream_ms = (create_stream_ms, delete_stream_ms, update_stream_ms)
        self._shard_limit = shard_limit
        self._startup_timeout_s = startup_timeout_s
        self._requested_log_path = Path(log_path) if log_path is not None else None
        self._log_path: Path | None = self._requested_log_path
        self._owns_log = False
        self._final_log: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._port: int | None = None
        self._client: KinesisClient | None = None
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> LocalKinesis:
        """Start the server and wait until it answers ListStreams; returns ``self``.

        Raises ``KinesaliteNotFoundError`` if there is no executable, and
        ``LocalKinesisError`` (with the tail of the server log) if it does not come up within
        ``startup_timeout_s``. Calling it on a running server does nothing.
        """
        with self._lock:
            if self.is_running:
                return self
            if self._process is not None:
                self.stop()
            executable = self._executable or find_kinesalite()
            if not executable.is_file():
                raise KinesaliteNotFoundError(
                    f"kinesalite executable {str(executable)!r} does not exist. {_INSTALL_HINT}"
                )
            if self._requested_log_path is None:
                fd, name = tempfile.mkstemp(prefix="kinesalite-", suffix=".log")
                os.close(fd)
                self._log_path, self._owns_log = Path(name), True
            self._final_log = None
            last_error: LocalKinesisError | None = None
            for _attempt in range(_PORT_ATTEMPTS):
                port = _free_port(_HOST)
                try:
                    self._launch(executable, port)
                    self._wait_until_ready(port)
                except _PortTaken as taken:
                    last_error = LocalKinesisError(str(taken))
                    self._kill_process()
                    continue
                except BaseException:
                    self.stop()
                    raise
                self._port = port
                atexit.register(self._stop_at_exit)
                return self
            self.stop()
            raise LocalKinesisError(
                f"kinesalite could not get a free port after {_PORT_ATTEMPTS} attempts: "
                f"{last_error}"
            )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout_s``; safe to call twice."""
        with self._lock:
            atexit.unregister(self._stop_at_exit)
            self._kill_process(timeout_s)
            self._port = None
            self._client = None
            if self._log_path is not None and self._log_path.exists():
                self._final_log = self._log_path.read_text(encoding="utf-8", errors="replace")
                if self._owns_log:
                    with contextlib.suppress(OSError):
                        self._log_path.unlink()
            if self._owns_log:
                self._log_path, self._owns_log = None, False

    def __enter__(self) -> LocalKinesis:
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
        return f"<LocalKinesis {state}>"

    def _stop_at_exit(self) -> None:
        self.stop(timeout_s=5.0)

    def _launch(self, executable: Path, port: int) -> None:
        create_ms, delete_ms, update_ms = (str(ms) for ms in self._stream_ms)
        shard_limit = str(self._shard_limit)
        package_dir = _kinesalite_package_dir(executable)
        command: list[str]
        if package_dir is not None:
            node = shutil.which("node")
            if node is None:
                raise LocalKinesisError(
                    "Node.js (`node`) is not on PATH; kinesalite needs it (tested with Node 20)."
                )
            index_js = str(package_dir / "index.js")
            settings = [create_ms, delete_ms, update_ms, shard_limit]
            command = [node, "-e", _BOOTSTRAP_JS, index_js, _HOST, str(port), *settings]
            stdin: int = subprocess.PIPE
        else:
            command = [str(executable), "--port", str(port), "--shardLimit", shard_limit]
            command += ["--createStreamMs", create_ms, "--deleteStreamMs", delete_ms]
            command += ["--updateStreamMs", update_ms]
            stdin = subprocess.DEVNULL
        env = dict(os.environ, AWS_REGION=self._region, AWS_DEFAULT_REGION=self._region)
        assert self._log_path is not None
        self._log_file = open(self._log_path, "wb")  # noqa: SIM115 - closed in _kill_process
        self._process = subprocess.Popen(
            command,
            stdin=stdin,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def _wait_until_ready(self, port: int) -> None:
        deadline = time.monotonic() + self._startup_timeout_s
        probe = self._make_client(
            f"http://{_HOST}:{port}", max_attempts=1, connect_timeout_s=1.0, read_timeout_s=2.0
        )
        last_problem = "no answer yet"
        while True:
            process = self._process
            assert process is not None
            code = process.poll()
            if code is not None:
                log = self.log_text()
                if "EADDRINUSE" in log:
                    raise _PortTaken(f"port {port} was taken before kinesalite could bind it")
                raise LocalKinesisError(
                    f"kinesalite exited with code {code} during startup.\n"
                    f"--- server log (tail) ---\n{_tail(log, 40)}"
                )
            if _LISTENING_MARKER in self.log_text():
                try:
                    probe.list_streams(Limit=1)
                    return
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    last_problem = f"{type(e).__name__}: {e}"
            if time.monotonic() >= deadline:
                raise LocalKinesisError(
                    f"kinesalite did not answer on http://{_HOST}:{port} within "
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
        """The address the server listens on: always ``127.0.0.1``."""
        return _HOST

    @property
    def port(self) -> int:
        """The TCP port the server listens on; raises ``LocalKinesisError`` when not started."""
        if self._port is None:
            raise LocalKinesisError("the local Kinesis server is not running; call start() first")
        return self._port

    @property
    def endpoint(self) -> str:
        """Endpoint URL for clients, e.g. ``http://127.0.0.1:45678``."""
        return f"http://{_HOST}:{self.port}"

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
        self, endpoint: str, *, max_attempts: int, connect_timeout_s: float, read_timeout_s: float
    ) -> KinesisClient:
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name=self._region,
        )
        config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
        )
        return session.client("kinesis", endpoint_url=endpoint, config=config)

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
        """Delete a stream; a stream that does not exist is fine.

        With ``wait`` it returns once the stream is gone, so the name can be reused.
        """
        kinesis = self._kinesis
        try:
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
