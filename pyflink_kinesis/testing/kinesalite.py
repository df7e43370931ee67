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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pyflink_kinesis.testing import npm

if TYPE_CHECKING:
    pass
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
           "find_kinesalite"]

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


class KinesaliteNotFoundError(LocalKinesisError):
    """No kinesalite executable was found; the message says how to install one."""


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

    If the executable is kinesalite's own ``cli.js`` (the npm install layout), the server is
    bound to 127.0.0.1 only. Any other executable (a wrapper script) is run as
    ``<executable> --port N ...`` and binds every interface, as the kinesalite CLI does.
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
            command = [str(executable), "--port", str(port), "--shardLimit", shard_limit]
            command += ["--createStreamMs", create_ms, "--deleteStreamMs", delete_ms]
            command += ["--updateStreamMs", update_ms]
            return _Launch(command, cwd=None, env=env, stdin_pipe=False)
        index_js = str(package_dir / "index.js")
        settings = [create_ms, delete_ms, update_ms, shard_limit, "watch-stdin"]
        launcher = str(LAUNCHERS / "kinesalite.js")
        command = [_node("kinesalite"), launcher, index_js, self._bind_host, str(port)]
        return _Launch(command + settings, cwd=None, env=env, stdin_pipe=True)
