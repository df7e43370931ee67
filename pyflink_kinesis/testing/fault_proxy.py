"""A fault-injecting HTTP proxy for Kinesis-compatible servers, for reliability tests.

``FaultProxy`` listens on a free port of 127.0.0.1 and forwards every request to an upstream
endpoint (for example ``LocalKinesis.endpoint``). Point a client, or a Flink job's
``aws.endpoint``, at ``FaultProxy.endpoint`` and add rules that inject faults into chosen
Kinesis operations (matched by the ``X-Amz-Target`` header, e.g.
``Kinesis_20131202.GetRecords``)::

    with FaultProxy(local_kinesis.endpoint, seed=7) as proxy:
        throttled = proxy.inject(throttle(), operation="GetRecords", when=Rate(0.3))
        ...  # run the job against proxy.endpoint
        assert throttled.injected > 0

Faults: an AWS-style error response (``throttle``, ``limit_exceeded``, ``expired_iterator``,
``internal_failure``, ``service_unavailable``, or any ``ErrorResponse``), ``Reset`` (the
connection is aborted with a TCP reset and no response), ``Delay`` (sleep, then forward), and
``PartialFailure`` (PutRecords succeeds for some entries only: the failed entries are not
written upstream, and the response reports them with an ``ErrorCode`` in their original
positions, as Kinesis does). A rule fires on its operation's requests by ``Rate``
(probability, from a seeded RNG), ``Every`` (every Nth), ``First`` (the first N) or
``Window`` (a time window after the rule was added), up to ``limit`` times. Rules are tried
in the order they were added; at most one fault is injected per request.

Error bodies are what Kinesis sends over its JSON protocol: HTTP 400 (500, 503) with
``{"__type": "<ErrorCode>", "message": "..."}`` and ``Content-Type:
application/x-amz-json-1.1``. The AWS SDKs read the error code from ``__type`` (SDK v1 and v2
in the connector, and botocore), so they classify an injected error exactly as a real one:
``ProvisionedThroughputExceededException`` and 5xx responses are retryable throttling and
service errors; ``LimitExceededException`` and ``ExpiredIteratorException`` are client errors
the caller must handle.

HTTP/1.1 (keep-alive supported) and HTTP/2 in clear text with prior knowledge (what the AWS
SDK v2's Netty client sends to a plain ``http://`` endpoint: EFO's ``SubscribeToShard`` and
the other calls of an EFO client) are both served: each HTTP/2 stream is one request, counted,
recorded and run through the rules like an HTTP/1.1 one, and forwarded on one HTTP/2
connection to the upstream server per client connection; ``requests`` also counts HTTP/2
connections under ``HTTP/2``. An event stream answer (``SubscribeToShard``) is relayed as it
comes; every other answer is read whole before it is passed on (see ``_h2_proxy``).

Limits: plain ``http://`` only. Only JSON bodies are rewritten (turn CBOR off, as
``pyflink_kinesis`` does for local endpoints). A rewritten PutRecords request no longer
matches its SigV4 signature, which local servers do not check. Requests with ``Expect:
100-continue`` are answered ``100 Continue`` by the proxy.

HTTP/2 needs the ``h2`` package (a test dependency of pyflink-kinesis), imported when the first
HTTP/2 connection arrives; HTTP/1.1 needs the standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import socket
import struct
import threading
import time
import uuid
import xml.sax.saxutils
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

__all__ = [
    "Delay",
    "ErrorResponse",
    "Every",
    "Fault",
    "FaultProxy",
    "FaultProxyError",
    "FaultRule",
    "First",
    "PartialFailure",
    "QueryErrorResponse",
    "Rate",
    "Reset",
    "Schedule",
    "Window",
    "expired_iterator",
    "internal_failure",
    "limit_exceeded",
    "service_unavailable",
    "throttle",
]

_HOST = "127.0.0.1"
_TARGET_HEADER = "X-Amz-Target"
# How an HTTP/2 connection in clear text starts (the AWS SDK v2's Netty client, EFO).
_HTTP2_PREFACE = b"PRI * HTTP/2.0"
#: The ``requests`` key that counts HTTP/2 connections.
HTTP2 = "HTTP/2"
_JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
_SIGV4_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
# Headers that describe one hop of the connection, not the message; never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "content-length",
    }
)


class FaultProxyError(Exception):
    """The fault proxy was misused (not started, bad rule, bad upstream endpoint)."""


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def operation(self) -> str:
        """The Kinesis operation, e.g. ``GetRecords``; empty when there is no target header."""
        for name, value in self.headers:
            if name.lower() == _TARGET_HEADER.lower():
                return value.rpartition(".")[2]
        return ""

    @property
    def access_key_id(self) -> str:
        """The access key id that signed the request (SigV4 ``Credential=<id>/...``); empty
        when the request is not signed."""
        for name, value in self.headers:
            if name.lower() == "authorization":
                match = _SIGV4_CREDENTIAL.search(value)
                return match.group(1) if match else ""
        return ""

    def with_body(self, body: bytes) -> _Request:
        return _Request(self.method, self.path, self.headers, body)


@dataclass(frozen=True)
class _Response:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def with_body(self, body: bytes) -> _Response:
        return _Response(self.status, self.reason, self.headers, body)


Forward = Callable[[_Request], _Response]


class _ResetConnection(Exception):
    """Raised by a fault to abort the client connection without a response."""


# --------------------------------------------------------------------------- schedules


class Schedule(ABC):
    """When a rule fires among the requests its operation matches."""

    @abstractmethod
    def fires(self, index: int, elapsed_s: float, rng: random.Random) -> bool:
        """Whether the rule fires on its ``index``-th matching request (0-based), which came
        ``elapsed_s`` seconds after the rule was added."""


@dataclass(frozen=True)
class Rate(Schedule):
    """Fire on each matching request with probability ``probability`` (seeded RNG)."""

    probability: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise FaultProxyError(f"Rate probability must be in [0, 1], got {self.probability!r}")

    def fires(self, index: int, elapsed_s: float, rng: random.Random) -> bool:
        return rng.random() < self.probability


@dataclass(frozen=True)
class Every(Schedule):
    """Fire on every ``n``-th matching request (the n-th, 2n-th, ...)."""

    n: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise FaultProxyError(f"Every needs n >= 1, got {self.n!r}")

    def fires(self, index: int, elapsed_s: float, rng: random.Random) -> bool:
        return (index + 1) % self.n == 0


@dataclass(frozen=True)
class First(Schedule):
    """Fire on the first ``n`` matching requests."""

    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise FaultProxyError(f"First needs n >= 0, got {self.n!r}")

    def fires(self, index: int, elapsed_s: float, rng: random.Random) -> bool:
        return index < self.n


@dataclass(frozen=True)
class Window(Schedule):
    """Fire on every matching request from ``start_s`` until ``end_s`` seconds after the rule
    was added (``end_s=None``: no end)."""

    start_s: float
    end_s: float | None = None

    def __post_init__(self) -> None:
        if self.start_s < 0 or (self.end_s is not None and self.end_s < self.start_s):
            raise FaultProxyError(
                f"Window needs 0 <= start_s <= end_s, got start_s={self.start_s!r}, "
                f"end_s={self.end_s!r}"
            )

    def fires(self, index: int, elapsed_s: float, rng: random.Random) -> bool:
        return self.start_s <= elapsed_s and (self.end_s is None or elapsed_s < self.end_s)


# --------------------------------------------------------------------------- faults


class Fault(ABC):
    """What happens to a request when its rule fires."""

    @abstractmethod
    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        """Answer ``request``: forward it (possibly changed) or not; raise
        ``_ResetConnection`` to abort the connection instead."""


def _json_headers() -> tuple[tuple[str, str], ...]:
    return (("Content-Type", _JSON_CONTENT_TYPE), ("x-amzn-RequestId", str(uuid.uuid4())))


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"__type": error_type, "message": message}).encode()


@dataclass(frozen=True)
class ErrorResponse(Fault):
    """Answer with an AWS JSON-protocol error instead of forwarding the request."""

    status: int
    error_type: str
    message: str

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        reason = http.client.responses.get(self.status, "Error")
        body = _error_body(self.error_type, self.message)
        return _Response(self.status, reason, _json_headers(), body)


@dataclass(frozen=True)
class QueryErrorResponse(Fault):
    """Answer with an AWS query-protocol (XML) error, as STS answers, instead of forwarding
    the request."""

    status: int
    code: str
    message: str

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        reason = http.client.responses.get(self.status, "Error")
        request_id = str(uuid.uuid4())
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{xml.sax.saxutils.escape(self.code)}</Code>"
            f"<Message>{xml.sax.saxutils.escape(self.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
        return _Response(self.status, reason, headers, body)


def throttle() -> ErrorResponse:
    """HTTP 400 ``ProvisionedThroughputExceededException`` (retryable throttling)."""
    return ErrorResponse(
        400,
        "ProvisionedThroughputExceededException",
        "Rate exceeded for shard (injected by FaultProxy).",
    )


def limit_exceeded() -> ErrorResponse:
    """HTTP 400 ``LimitExceededException`` (the control-plane rate limit, a client error)."""
    return ErrorResponse(
        400, "LimitExceededException", "Rate exceeded for stream (injected by FaultProxy)."
    )


def expired_iterator() -> ErrorResponse:
    """HTTP 400 ``ExpiredIteratorException`` (meant for GetRecords)."""
    return ErrorResponse(
        400,
        "ExpiredIteratorException",
        "Iterator expired. The iterator was created at time (injected by FaultProxy).",
    )


def internal_failure() -> ErrorResponse:
    """HTTP 500 ``InternalFailure``, the error Kinesis documents for status 500."""
    return ErrorResponse(500, "InternalFailure", "Internal failure (injected by FaultProxy).")


def service_unavailable() -> ErrorResponse:
    """HTTP 503 ``ServiceUnavailable``, the error Kinesis documents for status 503."""
    return ErrorResponse(503, "ServiceUnavailable", "Service unavailable (injected by FaultProxy).")


@dataclass(frozen=True)
class Reset(Fault):
    """Abort the client's connection with a TCP reset, without forwarding or answering.

    ``after_forward=True`` forwards the request first, so the server has done the work but the
    client never learns it (a retry may then write or read twice).
    """

    after_forward: bool = False

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        if self.after_forward:
            forward(request)
        raise _ResetConnection


@dataclass(frozen=True)
class Delay(Fault):
    """Wait ``seconds``, then forward the request."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise FaultProxyError(f"Delay needs seconds >= 0, got {self.seconds!r}")

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        time.sleep(self.seconds)
        return forward(request)


@dataclass(frozen=True)
class PartialFailure(Fault):
    """Fail some entries of a PutRecords request, as Kinesis does under per-shard throttling,
    or of a Firehose PutRecordBatch request.

    Each entry fails with probability ``entry_rate`` (at least one entry always fails). The
    failed entries are removed from the request that is forwarded, so they are NOT written;
    the response lists every entry in its original position, the failed ones with
    ``ErrorCode`` (``error_code``) and ``ErrorMessage``, and counts them: for PutRecords in
    ``Records`` and ``FailedRecordCount``, for PutRecordBatch (Firehose; use an
    ``error_code`` such as ``ServiceUnavailableException``) in ``RequestResponses`` and
    ``FailedPutCount``. Non-JSON requests and other operations are forwarded unchanged.
    ``FaultRule.failed_entries`` counts the entries failed so far.
    """

    entry_rate: float = 0.5
    error_code: str = "ProvisionedThroughputExceededException"
    error_message: str = "Rate exceeded for shard (injected by FaultProxy)."

    def __post_init__(self) -> None:
        if not 0.0 <= self.entry_rate <= 1.0:
            raise FaultProxyError(
                f"PartialFailure entry_rate must be in [0, 1], got {self.entry_rate!r}"
            )

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        payload = _json_or_none(request.body)
        entries = payload.get("Records") if isinstance(payload, dict) else None
        shape = _BATCH_RESPONSES.get(request.operation)
        if not isinstance(entries, list) or not entries or shape is None:
            return forward(request)
        responses, failed_count = shape
        failed = rule._choose_entries(len(entries), self.entry_rate)
        kept = [entry for i, entry in enumerate(entries) if i not in failed]
        if kept:
            upstream = forward(request.with_body(json.dumps({**payload, "Records": kept}).encode()))
            result = _json_or_none(upstream.body)
            if upstream.status != 200 or not isinstance(result, dict):
                return upstream
        else:
            upstream = _Response(200, "OK", _json_headers(), b"")
            result = {failed_count: 0, responses: []}
        written = iter(result.get(responses, []))
        error = {"ErrorCode": self.error_code, "ErrorMessage": self.error_message}
        records = [dict(error) if i in failed else next(written) for i in range(len(entries))]
        result = {
            **result,
            responses: records,
            failed_count: int(result.get(failed_count, 0)) + len(failed),
        }
        rule._count_failed_entries(len(failed))
        return upstream.with_body(json.dumps(result).encode())


# Batch writes whose entries can fail one by one: the response's list of per-entry results
# and its count of failed entries (the request lists its entries under "Records" in both).
_BATCH_RESPONSES = {
    "PutRecords": ("Records", "FailedRecordCount"),
    "PutRecordBatch": ("RequestResponses", "FailedPutCount"),
}


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


# --------------------------------------------------------------------------- rules


@dataclass(eq=False)
class FaultRule:
    """One fault injected into one operation's requests on a schedule; holds its counters.

    ``matched`` counts the requests of its operation the rule saw (while it had injections
    left and an earlier rule did not fire), ``injected`` the faults it injected, and
    ``failed_entries`` the PutRecords entries a ``PartialFailure`` failed. Read them at any
    time; they are updated under the proxy's lock.
    """

    fault: Fault
    operation: str | None
    when: Schedule
    limit: int | None
    seed: int
    matched: int = 0
    injected: int = 0
    failed_entries: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _added_at: float = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._added_at = time.monotonic()
        self._lock = threading.Lock()

    def _decide(self, request: _Request) -> bool:
        """Count the request if it matches; return whether the rule fires on it."""
        if self.operation is not None and request.operation != self.operation:
            return False
        with self._lock:
            if self.limit is not None and self.injected >= self.limit:
                return False
            index, self.matched = self.matched, self.matched + 1
            fires = self.when.fires(index, time.monotonic() - self._added_at, self._rng)
            if fires:
                self.injected += 1
            return fires

    def _choose_entries(self, count: int, rate: float) -> frozenset[int]:
        with self._lock:
            chosen = {i for i in range(count) if self._rng.random() < rate}
            return frozenset(chosen or {self._rng.randrange(count)})

    def _count_failed_entries(self, count: int) -> None:
        with self._lock:
            self.failed_entries += count

    def __repr__(self) -> str:
        return (
            f"FaultRule({self.fault!r}, operation={self.operation!r}, when={self.when!r}, "
            f"limit={self.limit!r}, matched={self.matched}, injected={self.injected}, "
            f"failed_entries={self.failed_entries})"
        )


# --------------------------------------------------------------------------- the proxy


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._upstream is not None:
                self._upstream.close()
            self.server.proxy._track(self.connection, opened=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the proxy's counters say what happened."""

    def handle_one_request(self) -> None:
        if self.rfile.peek(len(_HTTP2_PREFACE)).startswith(_HTTP2_PREFACE):  # type: ignore[attr-defined]
            self.server.proxy._serve_http2(self.rfile, self.connection)
            self.close_connection = True
            return
        super().handle_one_request()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        request = _Request(self.command, self.path, tuple(self.headers.items()), self._read_body())
        try:
            response = self.server.proxy._answer(request, self._forward)
        except _ResetConnection:
            self._abort()
            return
        except (OSError, http.client.HTTPException):
            # The upstream server failed; tell the client as a gateway would.
            response = _Response(
                502,
                "Bad Gateway",
                (("Content-Type", "text/plain"),),
                b"FaultProxy: the upstream server did not answer",
            )
            self.close_connection = True
        self.send_response(response.status, response.reason)
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, request: _Request) -> _Response:
        """Send ``request`` upstream on this client connection's own upstream connection."""
        headers = {
            name: value for name, value in request.headers if name.lower() not in _HOP_BY_HOP
        }
        headers["Content-Length"] = str(len(request.body))
        for attempt in (1, 2):
            connection = self._upstream or self.server.proxy._connect_upstream()
            self._upstream = connection
            try:
                connection.request(request.method, request.path, request.body, headers)
                upstream = connection.getresponse()
                body = upstream.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                self._upstream = None
                # An idle keep-alive connection the server closed: reconnect once.
                if attempt == 2 or not isinstance(exc, (ConnectionResetError, BrokenPipeError)):
                    raise
                continue
            return _Response(upstream.status, upstream.reason, tuple(upstream.getheaders()), body)
        raise AssertionError("unreachable")

    def _abort(self) -> None:
        """Close the client connection with a TCP reset (SO_LINGER 0), without a response.

        The socket is closed here, before the server's own shutdown(SHUT_WR) could send a FIN;
        the kernel then answers the client with RST only."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class FaultProxy:
    """A reverse HTTP proxy on 127.0.0.1 that injects faults into Kinesis requests.

    ``upstream`` is the endpoint to forward to, e.g. ``LocalKinesis.endpoint``
    (``http://host:port``). ``seed`` makes every ``Rate`` and ``PartialFailure`` decision
    reproducible for a given order of requests (each rule has its own RNG, seeded from it).
    ``upstream_timeout_s`` bounds each forwarded request.

    Use it as a context manager or call ``start()`` / ``stop()``; ``endpoint`` is the URL to
    give clients. ``inject()`` adds a rule at any time (also while requests flow) and returns
    it with its counters; ``remove()`` and ``clear()`` take rules away. ``requests`` counts
    every request the proxy received, by operation, and ``access_keys`` the access key ids that
    signed them (which credentials a client really used). All methods are thread-safe.
    """

    def __init__(self, upstream: str, *, seed: int = 0, upstream_timeout_s: float = 60.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise FaultProxyError(
                f"FaultProxy forwards to a plain http://host:port endpoint, got {upstream!r}"
            )
        self.upstream = upstream
        self._upstream_address = (parts.hostname, parts.port)
        self._upstream_timeout_s = upstream_timeout_s
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rules_added = 0
        self._requests: dict[str, int] = {}
        self._access_keys: dict[str, set[str]] = {}
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FaultProxy:
        """Listen on a free loopback port and serve in a background thread; returns self."""
        if self._server is not None:
            raise FaultProxyError("FaultProxy is already started")
        server = _Server((_HOST, 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"FaultProxy:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and abort every open client connection. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the proxy listens on; raises ``FaultProxyError`` when not started."""
        if self._server is None:
            raise FaultProxyError("FaultProxy is not started; call start() or use `with`")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The URL to give clients, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{_HOST}:{self.port}"

    # ------------------------------------------------------------------ rules

    def inject(
        self,
        fault: Fault,
        *,
        operation: str | None,
        when: Schedule,
        limit: int | None = None,
    ) -> FaultRule:
        """Add a rule: inject ``fault`` into requests of ``operation`` (``"GetRecords"`` or
        ``"Kinesis_20131202.GetRecords"``; ``None`` for every request) when ``when`` says so,
        at most ``limit`` times. Returns the rule; its counters say what it injected."""
        if limit is not None and limit < 0:
            raise FaultProxyError(f"limit must be >= 0 or None, got {limit!r}")
        name = operation.rpartition(".")[2] if operation is not None else None
        with self._lock:
            rule = FaultRule(fault, name, when, limit, seed=self._seed * 1000 + self._rules_added)
            self._rules_added += 1
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Stop injecting ``rule`` (its counters keep their values)."""
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        """Remove every rule: from now on requests are forwarded unchanged."""
        with self._lock:
            self._rules = []

    @property
    def rules(self) -> Sequence[FaultRule]:
        """The active rules, in the order they are tried."""
        with self._lock:
            return tuple(self._rules)

    @property
    def requests(self) -> dict[str, int]:
        """How many requests the proxy received, by operation (``""``: no ``X-Amz-Target``)."""
        with self._lock:
            return dict(self._requests)

    @property
    def access_keys(self) -> dict[str, set[str]]:
        """The access key ids that signed the requests the proxy received, by operation (``""``
        as in ``requests``; an unsigned request adds the id ``""``)."""
        with self._lock:
            return {operation: set(keys) for operation, keys in self._access_keys.items()}

    def __repr__(self) -> str:
        where = self.endpoint if self._server is not None else "not started"
        return f"FaultProxy({where} -> {self.upstream}, rules={len(self.rules)})"

    # ------------------------------------------------------------------ called by handlers

    def _answer(self, request: _Request, forward: Forward) -> _Response:
        with self._lock:
            self._requests[request.operation] = self._requests.get(request.operation, 0) + 1
            self._access_keys.setdefault(request.operation, set()).add(request.access_key_id)
            rules = list(self._rules)
        for rule in rules:
            if rule._decide(request):
                return rule.fault.apply(request, forward, rule)
        return forward(request)

    def _serve_http2(self, client: Any, connection: socket.socket) -> None:
        """Serve an HTTP/2 connection in clear text (prior knowledge) until it closes."""
        from pyflink_kinesis.testing._h2_proxy import H2Connection

        with self._lock:
            self._requests[HTTP2] = self._requests.get(HTTP2, 0) + 1
        H2Connection(self, client, connection).serve()

    def _connect_upstream(self) -> http.client.HTTPConnection:
        host, port = self._upstream_address
        return http.client.HTTPConnection(host, port, timeout=self._upstream_timeout_s)

    def _track(self, connection: socket.socket, *, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
