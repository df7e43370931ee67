"""kinesalite, the fast local Kinesis: ``LocalKinesis`` starts it on a free port of 127.0.0.1.

Install it once from the repository root with ``make kinesis-server`` (which runs
``npm ci --prefix tools/local-kinesis``), or globally with ``npm install -g kinesalite@3.3.3``.
Node.js must be on ``PATH`` (tested with Node 20).

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

``LocalKinesis(quotas=Quotas())`` also enforces AWS's per-shard write and read quotas
(provisioned mode), answering as Kinesis does when they are exceeded; ``set_quotas`` changes them
on a running server and ``quota_counters`` counts what went through and what was throttled.
See ``pyflink-kinesis docs local-kinesis``, "AWS quotas".
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from pyflink_kinesis.testing import npm
from pyflink_kinesis.testing._server import (
    _HOST,
    _LISTENING_MARKER,
    DEFAULT_REGION,
    LAUNCHERS,
    LocalKinesisError,
    LocalKinesisServer,
    _find_executable,
    _Launch,
    _node,
    _npm_package_name,
)

__all__ = ["ENV_EXECUTABLE", "KINESALITE_VERSION", "KinesaliteNotFoundError", "LocalKinesis",
           "QuotaCounters", "Quotas", "find_kinesalite"]

#: The kinesalite version pinned in ``tools/local-kinesis/package.json``.
KINESALITE_VERSION = "3.3.3"


#: Environment variable naming the kinesalite executable to use; it overrides every lookup.
ENV_EXECUTABLE = "PYFLINK_KINESIS_KINESALITE"


_INSTALL_HINT = (
    "Install it with `pyflink-kinesis local-kinesis` (installs the pinned servers with npm on "
    "first use), from a source checkout with `make kinesis-server`, or globally with "
    f"`npm install -g kinesalite@{KINESALITE_VERSION}`, or set {ENV_EXECUTABLE} "
    "to the path of a kinesalite executable."
)


#: Environment variable through which the launcher receives the quotas to start with (JSON).
_ENV_QUOTAS = "PYFLINK_KINESIS_QUOTAS"


#: The launcher's admin path: GET answers the quotas and counters, POST sets the quotas.
_QUOTAS_PATH = "/_pyflink_kinesis/quotas"


_MIB = 1024 * 1024


class KinesaliteNotFoundError(LocalKinesisError):
    """No kinesalite executable was found; the message says how to install one."""


@dataclass(frozen=True)
class Quotas:
    """Per-shard throughput quotas for ``LocalKinesis`` to enforce; ``Quotas()`` is AWS's own.

    The defaults are Kinesis Data Streams' provisioned-mode quotas per shard: writes
    (PutRecord, PutRecords) 1,000 records/s and 1 MiB/s, a record's size being its data plus
    its partition key; reads (GetRecords) 5 calls/s and 2 MiB/s. Every limit is a token bucket
    per shard holding one second of quota, full at start and after ``set_quotas``. Raises
    ``ValueError`` naming every limit that is not a positive number.
    """

    write_records_per_s: float = 1000
    write_bytes_per_s: float = _MIB
    read_calls_per_s: float = 5
    read_bytes_per_s: float = 2 * _MIB

    def __post_init__(self) -> None:
        problems = [
            f"{field.name} must be a positive number, not {value!r}"
            for field in fields(self)
            for value in [getattr(self, field.name)]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
        ]
        if problems:
            raise ValueError("invalid Quotas: " + "; ".join(problems))


@dataclass(frozen=True)
class QuotaCounters:
    """What a ``LocalKinesis`` with quotas let through and throttled since it started.

    Writes count PutRecord and PutRecords requests, records (entries) and bytes (data plus
    partition key); a request counts as throttled when at least one of its records was. Reads
    count GetRecords calls answered, calls throttled, and records and bytes returned. Only
    requests made while quotas were on are counted. ``after - before`` gives what happened in
    between.
    """

    write_requests: int = 0
    write_requests_throttled: int = 0
    write_records: int = 0
    write_records_throttled: int = 0
    write_bytes: int = 0
    read_calls: int = 0
    read_calls_throttled: int = 0
    read_records: int = 0
    read_bytes: int = 0

    def __sub__(self, other: QuotaCounters) -> QuotaCounters:
        return QuotaCounters(**{
            field.name: getattr(self, field.name) - getattr(other, field.name)
            for field in fields(self)
        })


def find_kinesalite() -> Path:
    """Locate the kinesalite executable.

    Looks at ``$PYFLINK_KINESIS_KINESALITE`` first (if set, it must name an existing file or a
    command on ``PATH``), then at ``tools/local-kinesis/node_modules/.bin/kinesalite`` in the
    source checkout this module lives in, then at ``kinesalite`` on ``PATH``. Raises
    ``KinesaliteNotFoundError`` with install instructions if none is there.
    """
    return _find_executable(
        ENV_EXECUTABLE, npm.candidates(".bin/kinesalite"), "kinesalite", "kinesalite",
        KinesaliteNotFoundError, _INSTALL_HINT,
    )


def _kinesalite_package_dir(executable: Path) -> Path | None:
    """The kinesalite npm package an executable belongs to, if it is the package's ``cli.js``."""
    real = executable.resolve()
    if not (real.parent / "index.js").is_file():
        return None
    return real.parent if _npm_package_name(real.parent) == "kinesalite" else None


class LocalKinesis(LocalKinesisServer):
    """A kinesalite server on a free port of 127.0.0.1, plus helpers to use it.

    Use it as a context manager (``with LocalKinesis() as kinesis: ...``) or call ``start()``
    and ``stop()``. The process is also stopped at interpreter exit, and it exits by itself
    if the Python process that started it dies. Streams live in memory only.

    ``executable`` overrides ``find_kinesalite()``. The ``*_stream_ms`` arguments are how long
    streams stay CREATING, DELETING and UPDATING (kinesalite's default is 500 ms; ours is
    short to keep tests fast). ``shard_limit`` is the total number of open shards the server
    allows. ``log_path`` receives the server's stdout and stderr; by default a temporary file
    is used and removed by ``stop()`` (``log_text()`` still returns its content afterwards).

    ``quotas`` makes the server enforce per-shard throughput quotas (``Quotas()``: AWS's) as
    Kinesis does: PutRecords entries over quota fail one by one with
    ``ProvisionedThroughputExceededException``, PutRecord and GetRecords calls over quota get
    that error as a 400, and one GetRecords answer holds at most 10 MiB. ``None`` (the default)
    enforces none. ``set_quotas`` changes them while the server runs.

    If the executable is kinesalite's own ``cli.js`` (the npm install layout), the server is
    bound to 127.0.0.1 only. Any other executable (a wrapper script) is run as
    ``<executable> --port N ...`` and binds every interface, as the kinesalite CLI does; it
    cannot enforce quotas.
    """

    _server_name = "kinesalite"
    _ready_marker = _LISTENING_MARKER

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
        host: str = _HOST,
        port: int | None = None,
        install: bool = False,
        quotas: Quotas | None = None,
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
        self._stream_ms = (create_stream_ms, delete_stream_ms, update_stream_ms)
        self._shard_limit = shard_limit
        self._quotas = quotas

    def _find_executable(self) -> Path:
        return find_kinesalite()

    def _missing_executable_error(self, executable: Path) -> LocalKinesisError:
        return KinesaliteNotFoundError(
            f"kinesalite executable {str(executable)!r} does not exist. {_INSTALL_HINT}"
        )

    def _launch_spec(self, executable: Path, ports: tuple[int, ...]) -> _Launch:
        (port,) = ports
        create_ms, delete_ms, update_ms = (str(ms) for ms in self._stream_ms)
        shard_limit = str(self._shard_limit)
        package_dir = _kinesalite_package_dir(executable)
        env = dict(os.environ, AWS_REGION=self._region, AWS_DEFAULT_REGION=self._region)
        if package_dir is None:
            if self._quotas is not None:
                raise LocalKinesisError(
                    f"quotas need kinesalite's own package (started through our launcher), but "
                    f"{str(executable)!r} is not its cli.js: unset {ENV_EXECUTABLE} or drop quotas"
                )
            command = [str(executable), "--port", str(port), "--shardLimit", shard_limit]
            command += ["--createStreamMs", create_ms, "--deleteStreamMs", delete_ms]
            command += ["--updateStreamMs", update_ms]
            return _Launch(command, cwd=None, env=env, stdin_pipe=False)
        if self._quotas is not None:
            env[_ENV_QUOTAS] = json.dumps(asdict(self._quotas))
        index_js = str(package_dir / "index.js")
        settings = [create_ms, delete_ms, update_ms, shard_limit, "watch-stdin"]
        launcher = str(LAUNCHERS / "kinesalite.js")
        command = [_node("kinesalite"), launcher, index_js, self._bind_host, str(port)]
        return _Launch(command + settings, cwd=None, env=env, stdin_pipe=True)

    # ----------------------------------------------------------------- quotas

    def set_quotas(self, quotas: Quotas | None) -> None:
        """Enforce ``quotas`` from now on (``None``: none); every bucket starts full again.

        On a stopped server it sets what the next ``start()`` enforces. Raises
        ``LocalKinesisError`` when the running server does not take quotas.
        """
        self._quotas = quotas
        if self.is_running:
            self._admin("POST", None if quotas is None else asdict(quotas))

    @property
    def quotas(self) -> Quotas | None:
        """The quotas enforced (or enforced once started); ``None`` when there are none."""
        return self._quotas

    def quota_counters(self) -> QuotaCounters:
        """What went through and what was throttled since the server started (see the class)."""
        return QuotaCounters(**self._admin("GET", None)["counters"])

    def _admin(self, method: str, body: object) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8") if method == "POST" else None
        request = urllib.request.Request(
            self.endpoint + _QUOTAS_PATH, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as exc:
            raise LocalKinesisError(
                f"kinesalite at {self.endpoint} refused {method} {_QUOTAS_PATH} "
                f"(HTTP {exc.code}): {exc.read().decode('utf-8', 'replace')[:300]} - quotas need "
                "kinesalite started through our launcher"
            ) from exc
        except OSError as exc:
            raise LocalKinesisError(
                f"kinesalite at {self.endpoint} did not answer {method} {_QUOTAS_PATH}: {exc}"
            ) from exc
