"""The fault proxy's HTTP/2 side: one client connection in clear text (prior knowledge).

The client's h2c connection ends here; each of its streams becomes the same ``_Request`` an
HTTP/1.1 request does and goes through ``FaultProxy._answer`` (counters, access keys, rules).
A request that is forwarded opens a stream on this connection's own h2c connection to the
upstream server. An event stream answer (``application/vnd.amazon.eventstream``, what
``SubscribeToShard`` sends for up to 5 minutes) is relayed as it comes: its headers once the
rules have seen them, then each DATA frame, bytes unchanged, as the client's flow-control window
lets it through; the upstream stream's window is opened only for what the client took. Any
other answer is read whole first (rules may read or rewrite it, as on HTTP/1.1). A stream reset
on one side is reset on the other; a GOAWAY from the upstream server is passed on to the client.

One lock guards both connections' state machines (``h2`` keeps HPACK state per connection and
direction) and the writes to both sockets. Three kinds of threads share it: the client reader
(the proxy's handler thread), the upstream reader, and one thread per request while the rules
answer it (a ``Delay`` sleeps there, not in a reader).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from pyflink_kinesis.testing.fault_proxy import (
    _HOP_BY_HOP,
    FaultProxy,
    _Request,
    _ResetConnection,
    _Response,
)

_EVENT_STREAM = "application/vnd.amazon.eventstream"
# Headers of one hop, never forwarded (content-length is set anew from the body that is sent),
# and host: HTTP/2 names the authority in its :authority pseudo-header.
_NOT_FORWARDED = _HOP_BY_HOP | {"host"}
_READ_SIZE = 65536


class _UpstreamReset(Exception):
    """The upstream server reset the stream (or went away) before it answered."""

    def __init__(self, error_code: int) -> None:
        super().__init__(f"upstream reset the stream with error code {error_code}")
        self.error_code = error_code


@dataclass
class _Outbound:
    """DATA waiting for a peer's flow-control window, then the end of the stream."""

    # (bytes, how many bytes of the other connection's window to open once they are sent, and
    # on which of its streams)
    chunks: deque[tuple[bytes, int, int]] = field(default_factory=deque)
    ended: bool = False
    trailers: list[tuple[str, str]] | None = None


@dataclass(eq=False)
class _Stream:
    """One client stream and, once it is forwarded, its upstream stream."""

    client_id: int
    headers: list[tuple[str, str]]
    body: bytearray = field(default_factory=bytearray)
    upstream_id: int | None = None
    response_headers: list[tuple[str, str]] | None = None
    response_body: bytearray = field(default_factory=bytearray)
    # An event stream answer: its DATA waits here (with its window size) until relayed.
    early: list[tuple[bytes, int]] = field(default_factory=list)
    early_end: list[tuple[str, str]] | None = None
    early_ended: bool = False
    streamed: _Response | None = None
    relaying: bool = False
    reset_code: int | None = None
    answered: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def is_event_stream(self) -> bool:
        return any(
            n == "content-type" and v.startswith(_EVENT_STREAM)
            for n, v in self.response_headers or ()
        )


class H2Connection:
    """Serves one client HTTP/2 connection until either side closes it."""

    def __init__(self, proxy: FaultProxy, reader: Any, client: socket.socket) -> None:
        self._proxy = proxy
        self._reader = reader
        self._client = client
        self._lock = threading.Lock()
        self._down = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self._up = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self._upstream: socket.socket | None = None
        self._streams: dict[int, _Stream] = {}
        self._by_upstream: dict[int, _Stream] = {}
        self._outbound: dict[tuple[bool, int], _Outbound] = {}
        self._last_client_stream = 0
        self._aborted = False

    # ------------------------------------------------------------------ the two readers

    def serve(self) -> None:
        """Read the client's frames until it closes the connection (or a fault aborts it)."""
        with self._lock:
            self._down.initiate_connection()
            self._flush()
        try:
            self._upstream = socket.create_connection(
                self._proxy._upstream_address, timeout=None
            )
        except OSError:
            self._upstream = None
        else:
            with self._lock:
                self._up.initiate_connection()
                self._flush()
            threading.Thread(
                target=self._read_upstream, name="FaultProxy:http2-upstream", daemon=True
            ).start()
        with contextlib.suppress(OSError):
            while not self._aborted and (data := self._reader.read1(_READ_SIZE)):
                with self._lock:
                    try:
                        events = self._down.receive_data(data)
                    except h2.exceptions.ProtocolError:
                        self._flush()
                        break
                    for event in events:
                        self._on_client_event(event)
                    self._flush()
        self._close()

    def _read_upstream(self) -> None:
        upstream = self._upstream
        assert upstream is not None
        with contextlib.suppress(OSError):
            while data := upstream.recv(_READ_SIZE):
                with self._lock:
                    try:
                        events = self._up.receive_data(data)
                    except h2.exceptions.ProtocolError:
                        self._flush()
                        break
                    for event in events:
                        self._on_upstream_event(event)
                    self._flush()
        with self._lock:
            # The upstream server is gone: no stream of it will get an answer.
            for stream in list(self._by_upstream.values()):
                self._upstream_stream_reset(stream, h2.errors.ErrorCodes.REFUSED_STREAM)
            self._by_upstream.clear()
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._down.close_connection(last_stream_id=self._last_client_stream)
            self._flush()
        # The server closed the connection: close the client's too, as the server would have.
        with contextlib.suppress(OSError):
            self._client.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ client events

    def _on_client_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = [(str(n), str(v)) for n, v in event.headers or ()]
            stream = _Stream(event.stream_id, headers)
            self._streams[event.stream_id] = stream
            self._last_client_stream = max(self._last_client_stream, event.stream_id)
            if ("expect", "100-continue") in ((n, v.lower()) for n, v in headers):
                self._down.send_headers(event.stream_id, [(":status", "100")])
        elif isinstance(event, h2.events.DataReceived):
            receiving = self._streams.get(event.stream_id or 0)
            if receiving is not None:
                receiving.body += event.data or b""
            self._down.acknowledge_received_data(
                event.flow_controlled_length or 0, event.stream_id or 0
            )
        elif isinstance(event, h2.events.StreamEnded):
            # The request is whole (h2 reports this after RequestReceived, also for a request
            # of headers only).
            complete = self._streams.get(event.stream_id or 0)
            if complete is not None:
                self._start(complete)
        elif isinstance(event, h2.events.StreamReset):
            self._client_stream_reset(event.stream_id or 0, event.error_code or 0)
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._send_outbound(downstream=True)
        elif isinstance(event, h2.events.ConnectionTerminated) and self._upstream is not None:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._up.close_connection(error_code=event.error_code or 0)

    def _client_stream_reset(self, client_id: int, error_code: int) -> None:
        stream = self._streams.pop(client_id, None)
        self._drop_outbound(True, client_id)
        if stream is None:
            return
        stream.reset_code = error_code
        stream.answered.set()
        stream.finished.set()
        self._cancel_upstream(stream, error_code)

    def _start(self, stream: _Stream) -> None:
        threading.Thread(
            target=self._answer, args=(stream,), name="FaultProxy:http2-request", daemon=True
        ).start()

    # ------------------------------------------------------------------ upstream events

    def _on_upstream_event(self, event: h2.events.Event) -> None:
        stream_id: int = getattr(event, "stream_id", 0) or 0
        stream = self._by_upstream.get(stream_id)
        if isinstance(event, h2.events.ResponseReceived) and stream is not None:
            stream.response_headers = [(str(n), str(v)) for n, v in event.headers or ()]
            stream.answered.set()
        elif isinstance(event, h2.events.DataReceived) and stream is not None:
            data, size = event.data or b"", event.flow_controlled_length or 0
            if stream.relaying:
                self._queue(True, stream.client_id, data, size, stream_id)
            elif stream.is_event_stream:
                stream.early.append((data, size))
            else:
                stream.response_body += data
                self._up.acknowledge_received_data(size, stream_id)
        elif isinstance(event, h2.events.DataReceived):
            self._up.acknowledge_received_data(
                event.flow_controlled_length or 0, stream_id
            )
        elif isinstance(event, h2.events.TrailersReceived) and stream is not None:
            trailers = [(str(n), str(v)) for n, v in event.headers or ()]
            self._upstream_ended(stream, trailers)
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            self._upstream_ended(stream, None)
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            self._by_upstream.pop(stream_id, None)
            self._upstream_stream_reset(stream, event.error_code or 0)
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._send_outbound(downstream=False)
        elif isinstance(event, h2.events.ConnectionTerminated):
            last = event.last_stream_id or 0
            for upstream_id, refused in list(self._by_upstream.items()):
                if upstream_id > last:
                    self._by_upstream.pop(upstream_id)
                    self._upstream_stream_reset(refused, h2.errors.ErrorCodes.REFUSED_STREAM)
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._down.close_connection(
                    error_code=event.error_code or 0, last_stream_id=self._last_client_stream
                )

    def _upstream_ended(self, stream: _Stream, trailers: list[tuple[str, str]] | None) -> None:
        self._by_upstream.pop(stream.upstream_id or 0, None)
        if stream.relaying:
            self._queue(True, stream.client_id, b"", end=True, trailers=trailers)
        else:
            stream.early_ended, stream.early_end = True, trailers
        stream.answered.set()
        stream.finished.set()

    def _upstream_stream_reset(self, stream: _Stream, error_code: int) -> None:
        stream.reset_code = error_code
        stream.answered.set()
        stream.finished.set()
        if stream.relaying and self._streams.pop(stream.client_id, None) is not None:
            self._drop_outbound(True, stream.client_id)
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._down.reset_stream(stream.client_id, error_code)

    # ------------------------------------------------------------------ one request

    def _answer(self, stream: _Stream) -> None:
        """Run one request through the proxy's rules and answer it on its stream."""
        pseudo = {n: v for n, v in stream.headers if n.startswith(":")}
        request = _Request(
            pseudo.get(":method", ""),
            pseudo.get(":path", ""),
            tuple((n, v) for n, v in stream.headers if not n.startswith(":")),
            bytes(stream.body),
        )
        try:
            response = self._proxy._answer(
                request, lambda forwarded: self._forward(stream, forwarded, pseudo)
            )
        except _ResetConnection:
            self._abort()
            return
        except _UpstreamReset as reset:
            with self._lock:
                if self._streams.pop(stream.client_id, None) is not None:
                    with contextlib.suppress(h2.exceptions.ProtocolError):
                        self._down.reset_stream(stream.client_id, reset.error_code)
                self._flush()
            return
        except (OSError, TimeoutError, h2.exceptions.ProtocolError):
            response = _Response(
                502,
                "Bad Gateway",
                (("content-type", "text/plain"),),
                b"FaultProxy: the upstream server did not answer",
            )
        with self._lock:
            if self._streams.get(stream.client_id) is not stream:
                return  # the client reset the stream meanwhile
            headers = [(":status", str(response.status))] + [
                (n.lower(), v) for n, v in response.headers if n.lower() not in _NOT_FORWARDED
            ]
            try:
                if response is stream.streamed and stream.streamed is not None:
                    self._down.send_headers(stream.client_id, headers)
                    stream.relaying = True
                    for data, size in stream.early:
                        self._queue(True, stream.client_id, data, size, stream.upstream_id or 0)
                    stream.early.clear()
                    if stream.early_ended:
                        self._queue(True, stream.client_id, b"", end=True,
                                    trailers=stream.early_end)
                    elif stream.reset_code is not None:  # reset before it was relayed
                        self._upstream_stream_reset(stream, stream.reset_code)
                else:
                    self._cancel_upstream(stream)
                    headers.append(("content-length", str(len(response.body))))
                    self._down.send_headers(stream.client_id, headers)
                    self._queue(True, stream.client_id, response.body, end=True)
            except h2.exceptions.ProtocolError:
                self._streams.pop(stream.client_id, None)
            self._flush()

    def _forward(self, stream: _Stream, request: _Request, pseudo: dict[str, str]) -> _Response:
        """Send ``request`` upstream on a new stream; wait for the answer's headers, and for
        its whole body unless it is an event stream (then its DATA is relayed later)."""
        if self._upstream is None:
            raise ConnectionRefusedError("the upstream server refused the connection")
        headers = [
            (":method", request.method),
            (":scheme", pseudo.get(":scheme", "http")),
            (":authority", pseudo.get(":authority", "")),
            (":path", request.path),
        ]
        headers += [(n.lower(), v) for n, v in request.headers if n.lower() not in _NOT_FORWARDED]
        headers.append(("content-length", str(len(request.body))))
        with self._lock:
            if stream.upstream_id is not None:
                # A rule forwards the request a second time: the first answer is not wanted.
                self._cancel_upstream(stream)
                stream.response_headers, stream.response_body = None, bytearray()
                stream.answered, stream.finished = threading.Event(), threading.Event()
            try:
                stream.upstream_id = self._up.get_next_available_stream_id()
                self._up.send_headers(stream.upstream_id, headers, end_stream=not request.body)
            except h2.exceptions.ProtocolError as error:
                # The upstream server said GOAWAY: let the client retry on a new connection.
                raise _UpstreamReset(h2.errors.ErrorCodes.REFUSED_STREAM) from error
            self._by_upstream[stream.upstream_id] = stream
            if request.body:
                self._queue(False, stream.upstream_id, request.body, end=True)
            self._flush()
        timeout = self._proxy._upstream_timeout_s
        if not stream.answered.wait(timeout):
            raise TimeoutError(f"no answer from the upstream server in {timeout} s")
        if stream.reset_code is not None or stream.response_headers is None:
            raise _UpstreamReset(stream.reset_code or 0)
        status = int(dict(stream.response_headers).get(":status", "502"))
        reason = http.client.responses.get(status, "")
        headers_out = tuple((n, v) for n, v in stream.response_headers if not n.startswith(":"))
        if stream.is_event_stream:
            stream.streamed = _Response(status, reason, headers_out, b"")
            return stream.streamed
        if not stream.finished.wait(timeout):
            raise TimeoutError(f"the upstream server's answer did not end in {timeout} s")
        if stream.reset_code is not None:
            raise _UpstreamReset(stream.reset_code)
        return _Response(status, reason, headers_out, bytes(stream.response_body))

    def _cancel_upstream(
        self, stream: _Stream, error_code: int = h2.errors.ErrorCodes.CANCEL
    ) -> None:
        """Reset ``stream``'s upstream stream if it is still open (its answer is not used)."""
        upstream_id = stream.upstream_id
        if upstream_id is not None and self._by_upstream.pop(upstream_id, None) is not None:
            self._drop_outbound(False, upstream_id)
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._up.reset_stream(upstream_id, error_code)
        for _, size in stream.early:
            self._up.acknowledge_received_data(size, upstream_id or 0)
        stream.early.clear()

    # ------------------------------------------------------------------ flow control

    def _drop_outbound(self, downstream: bool, stream_id: int) -> None:
        """Forget what waits to be sent on a stream that was reset, giving its bytes back to
        the other connection's window (or the connection would stall, window spent)."""
        outbound = self._outbound.pop((downstream, stream_id), None)
        other = self._up if downstream else self._down
        for _, size, other_id in outbound.chunks if outbound else ():
            if size:
                other.acknowledge_received_data(size, other_id)

    def _queue(
        self,
        downstream: bool,
        stream_id: int,
        data: bytes,
        size: int = 0,
        other_id: int = 0,
        *,
        end: bool = False,
        trailers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Send ``data`` on a stream as the peer's window allows; once it is sent, ``size``
        bytes of the other connection's window (of its stream ``other_id``) are opened. Call
        under the lock."""
        outbound = self._outbound.setdefault((downstream, stream_id), _Outbound())
        if data or size:
            outbound.chunks.append((data, size, other_id))
        if end:
            outbound.ended, outbound.trailers = True, trailers
        self._send_outbound(downstream, stream_id)

    def _send_outbound(self, downstream: bool, only: int | None = None) -> None:
        connection, other = (self._down, self._up) if downstream else (self._up, self._down)
        for key in list(self._outbound):
            side, stream_id = key
            if side != downstream or (only is not None and stream_id != only):
                continue
            outbound = self._outbound[key]
            try:
                while outbound.chunks:
                    data, size, other_id = outbound.chunks[0]
                    window = min(
                        connection.local_flow_control_window(stream_id),
                        connection.max_outbound_frame_size,
                    )
                    if data and window <= 0:
                        break
                    sent = data[:window]
                    if sent:
                        connection.send_data(stream_id, sent)
                    if len(sent) < len(data):
                        outbound.chunks[0] = (data[len(sent):], size, other_id)
                        continue
                    outbound.chunks.popleft()
                    if size:
                        # h2 opens only the connection's window when that stream is closed.
                        other.acknowledge_received_data(size, other_id)
                if outbound.chunks or not outbound.ended:
                    continue
                if outbound.trailers:
                    connection.send_headers(stream_id, outbound.trailers, end_stream=True)
                else:
                    connection.end_stream(stream_id)
            except h2.exceptions.ProtocolError:
                # The stream was reset or closed meanwhile: nothing more to send on it.
                self._drop_outbound(downstream, stream_id)
            else:
                del self._outbound[key]
            if downstream:
                self._streams.pop(stream_id, None)

    # ------------------------------------------------------------------ sockets

    def _flush(self) -> None:
        """Write what both connections have to send. Call under the lock."""
        with contextlib.suppress(OSError):
            if data := self._down.data_to_send():
                self._client.sendall(data)
        if self._upstream is not None:
            with contextlib.suppress(OSError):
                if data := self._up.data_to_send():
                    self._upstream.sendall(data)

    def _abort(self) -> None:
        """Make the client reader stop; ``_close`` then resets the client connection."""
        self._aborted = True
        with contextlib.suppress(OSError):
            self._client.shutdown(socket.SHUT_RD)

    def _close(self) -> None:
        with self._lock:
            for stream in self._streams.values():
                stream.reset_code = h2.errors.ErrorCodes.CANCEL
                stream.answered.set()
                stream.finished.set()
            if self._upstream is not None:
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self._up.close_connection()
                self._flush()
                with contextlib.suppress(OSError):
                    self._upstream.shutdown(socket.SHUT_RDWR)
                self._upstream.close()
        if self._aborted:
            # SO_LINGER 0: closing sends a TCP reset, as an HTTP/1.1 Reset fault does.
            self._client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._client.close()
