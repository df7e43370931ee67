"""FaultProxy's HTTP/2 side in front of kinesis-mock (which answers h2c on its plain port), seen
by a real HTTP/2 client (``h2`` on a socket, prior knowledge, as the AWS SDK v2 connects)."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import pytest

from pyflink_kinesis.testing import KinesisMock
from pyflink_kinesis.testing.fault_proxy import HTTP2, FaultProxy, First, Reset, throttle
from tests.support.kinesis_fixtures import MakeStream

ACCESS_KEY = "AKIDHTTP2"
EVENT_STREAM = "application/vnd.amazon.eventstream"
TIMEOUT_S = 10.0


@dataclass
class Answer:
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    ended: bool = False
    reset: int | None = None

    @property
    def status(self) -> int:
        return int(self.headers[":status"])

    def json(self) -> dict[str, object]:
        return dict(json.loads(self.body))


class Client:
    """One HTTP/2 connection in clear text (prior knowledge) with a small receive window: the
    peer must honour flow control, or ``h2`` raises ``FlowControlError``."""

    def __init__(self, endpoint: str, window: int = 1024, acknowledge: bool = True) -> None:
        host, port = endpoint.removeprefix("http://").split(":")
        self.socket = socket.create_connection((host, int(port)), timeout=TIMEOUT_S)
        self.connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.connection.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
        )
        self.connection.initiate_connection()
        self.answers: dict[int, Answer] = {}
        self.terminated = False
        self.acknowledge = acknowledge
        self._send()

    def request(self, operation: str, payload: dict[str, object]) -> int:
        """Send one Kinesis JSON request on a new stream; returns its id."""
        body = json.dumps(payload).encode()
        stream_id = self.connection.get_next_available_stream_id()
        self.connection.send_headers(stream_id, [
            (":method", "POST"), (":scheme", "http"), (":authority", "kinesis"), (":path", "/"),
            ("x-amz-target", f"Kinesis_20131202.{operation}"),
            ("content-type", "application/x-amz-json-1.1"),
            ("content-length", str(len(body))),
            ("x-amz-date", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())),
            ("authorization", f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20261207/us-east-1/"
                              "kinesis/aws4_request, SignedHeaders=host;x-amz-date, "
                              "Signature=00"),
        ])
        self.connection.send_data(stream_id, body, end_stream=True)
        self.answers[stream_id] = Answer()
        self._send()
        return stream_id

    def call(self, operation: str, payload: dict[str, object]) -> Answer:
        stream_id = self.request(operation, payload)
        self.read_until(lambda: self.answers[stream_id].ended, f"the {operation} answer")
        return self.answers[stream_id]

    def read_until(self, done: object, what: str) -> None:
        """Read frames until ``done()`` is true; fails after ``TIMEOUT_S``."""
        deadline = time.monotonic() + TIMEOUT_S
        while not done():  # type: ignore[operator]
            if time.monotonic() > deadline or self.terminated:
                raise AssertionError(f"no {what} in {TIMEOUT_S} s: {self.answers}")
            data = self.socket.recv(65536)
            if not data:
                raise AssertionError(f"the connection closed before {what}: {self.answers}")
            for event in self.connection.receive_data(data):
                self._on(event)
            self._send()

    def reset(self, stream_id: int) -> None:
        self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        self._send()

    def _on(self, event: h2.events.Event) -> None:
        answer = self.answers.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived) and answer is not None:
            answer.headers = {str(n): str(v) for n, v in event.headers or ()}
        elif isinstance(event, h2.events.DataReceived):
            if answer is not None:
                answer.body += event.data or b""
            if self.acknowledge:
                self.connection.acknowledge_received_data(
                    event.flow_controlled_length or 0, event.stream_id or 0)
        elif isinstance(event, h2.events.StreamEnded) and answer is not None:
            answer.ended = True
        elif isinstance(event, h2.events.StreamReset) and answer is not None:
            answer.reset, answer.ended = event.error_code, True
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.terminated = True

    def _send(self) -> None:
        if data := self.connection.data_to_send():
            self.socket.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a Reset fault may have closed it
            self.connection.close_connection()
            self._send()
        self.socket.close()


@pytest.fixture
def proxy(kinesis_mock: KinesisMock) -> Iterator[FaultProxy]:
    with FaultProxy(kinesis_mock.endpoint, seed=3) as running:
        yield running


@pytest.fixture
def client(proxy: FaultProxy) -> Iterator[Client]:
    opened = Client(proxy.endpoint)
    yield opened
    opened.close()


def test_concurrent_streams_are_forwarded_counted_and_their_access_key_recorded(
    proxy: FaultProxy, client: Client, kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    """Two streams open at once on one connection; each answer is larger than the client's
    1 KiB window, so it arrives only because the proxy waits for WINDOW_UPDATEs."""
    stream = mock_stream_factory(40)
    ids = [client.request("ListShards", {"StreamName": stream}),
           client.request("DescribeStreamSummary", {"StreamName": stream})]
    client.read_until(lambda: all(client.answers[i].ended for i in ids), "both answers")
    shards, summary = (client.answers[i] for i in ids)

    assert (shards.status, summary.status) == (200, 200)
    assert len(shards.body) > 1024
    assert len(shards.json()["Shards"]) == 40  # type: ignore[arg-type]
    assert summary.json()["StreamDescriptionSummary"]["StreamName"] == stream  # type: ignore[index]
    assert proxy.requests == {HTTP2: 1, "ListShards": 1, "DescribeStreamSummary": 1}
    assert proxy.access_keys == {"ListShards": {ACCESS_KEY}, "DescribeStreamSummary": {ACCESS_KEY}}


def test_a_fault_answers_on_its_stream_and_the_connection_goes_on(
    proxy: FaultProxy, client: Client, mock_stream_factory: MakeStream
) -> None:
    stream = mock_stream_factory(1)
    rule = proxy.inject(throttle(), operation="ListShards", when=First(1))
    denied = client.call("ListShards", {"StreamName": stream})
    allowed = client.call("ListShards", {"StreamName": stream})

    assert denied.status == 400
    assert denied.headers["content-type"] == "application/x-amz-json-1.1"
    assert denied.json()["__type"] == "ProvisionedThroughputExceededException"
    assert denied.headers["content-length"] == str(len(denied.body))
    assert allowed.status == 200 and "Shards" in allowed.json()
    assert rule.injected == 1
    assert proxy.requests == {HTTP2: 1, "ListShards": 2}


def test_a_reset_fault_aborts_the_http2_connection(
    proxy: FaultProxy, client: Client, mock_stream_factory: MakeStream
) -> None:
    stream = mock_stream_factory(1)
    proxy.inject(Reset(), operation="ListShards", when=First(1))
    with pytest.raises(ConnectionResetError):
        client.call("ListShards", {"StreamName": stream})
    again = Client(proxy.endpoint)  # a fresh connection works
    assert again.call("ListShards", {"StreamName": stream}).status == 200
    again.close()


def subscribe(client: Client, kinesis_mock: KinesisMock, stream: str) -> int:
    consumer = kinesis_mock.register_stream_consumer(stream, "h2-proxy")
    return client.request("SubscribeToShard", {
        "ConsumerARN": consumer["ConsumerARN"], "ShardId": "shardId-000000000000",
        "StartingPosition": {"Type": "TRIM_HORIZON"}})


def test_subscribe_to_shard_events_are_relayed_while_the_stream_stays_open(
    proxy: FaultProxy, client: Client, kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    """A record written after the subscription started reaches the client on the open event
    stream: the proxy relays DATA as it comes instead of waiting for the stream's end."""
    stream = mock_stream_factory(1)
    subscription = subscribe(client, kinesis_mock, stream)
    answer = client.answers[subscription]
    client.read_until(lambda: b"SubscribeToShardEvent" in answer.body, "a first event")
    kinesis_mock.put_records(stream, ["written-while-subscribed"])
    data = base64.b64encode(b"written-while-subscribed")  # as the event's JSON holds it
    client.read_until(lambda: data in answer.body, "the record's event")

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert not answer.ended
    assert proxy.requests[HTTP2] == 1
    assert proxy.access_keys["SubscribeToShard"] == {ACCESS_KEY}



# --------------------------------------------------------------------------- a scripted upstream


class Upstream:
    """An HTTP/2 server (prior knowledge) that answers every request with an event stream of
    ``size`` bytes, sent as fast as its flow-control window allows, and keeps the stream open;
    it records the streams the proxy reset. No local server lets a test reset a stream or say
    GOAWAY on demand, hence this one."""

    def __init__(self, size: int = 0) -> None:
        self.size = size
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.lock = threading.Lock()
        self.pending: dict[int, int] = {}
        self.streams: list[int] = []
        self.resets: list[int] = []
        self.pinged = threading.Event()
        self.socket: socket.socket | None = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.socket, _ = self.listener.accept()
        with self.lock:
            self.connection.initiate_connection()
            self._send()
        # Frames after its own GOAWAY are a protocol error to h2: it stops serving then.
        with contextlib.suppress(OSError, h2.exceptions.ProtocolError):
            while data := self.socket.recv(65536):
                self._receive(data)

    def _receive(self, data: bytes) -> None:
        with self.lock:
            for event in self.connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    stream_id = event.stream_id or 0
                    self.streams.append(stream_id)
                    self.connection.send_headers(
                        stream_id, [(":status", "200"), ("content-type", EVENT_STREAM)])
                    self.pending[stream_id] = self.size
                elif isinstance(event, h2.events.StreamReset):
                    self.resets.append(event.stream_id or 0)
                    self.pending.pop(event.stream_id or 0, None)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.pending.clear()
                elif isinstance(event, h2.events.PingAckReceived):
                    self.pinged.set()
            self._write_events()
            self._send()

    def _write_events(self) -> None:
        for stream_id in list(self.pending):
            while (size := min(self.pending[stream_id],
                               self.connection.local_flow_control_window(stream_id),
                               self.connection.max_outbound_frame_size)) > 0:
                self.connection.send_data(stream_id, b"e" * size)
                self.pending[stream_id] -= size

    def window(self) -> int:
        """What the upstream connection may still send before the proxy opens its window."""
        with self.lock:
            return int(self.connection.outbound_flow_control_window)

    def sent(self, stream_id: int) -> int:
        with self.lock:
            return self.size - self.pending.get(stream_id, 0)

    def round_trip(self) -> None:
        """PING the proxy and wait for its ACK: whatever it answered to the frames before (a
        WINDOW_UPDATE) has arrived and been acted on by then."""
        self.pinged.clear()
        with self.lock:
            self.connection.ping(b"12345678")
            self._send()
        assert self.pinged.wait(TIMEOUT_S), "no PING ACK"

    def reset(self, stream_id: int) -> None:
        with self.lock:
            self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
            self._send()

    def go_away(self) -> None:
        with self.lock:
            self.connection.close_connection(h2.errors.ErrorCodes.NO_ERROR)
            self._send()

    def _send(self) -> None:
        if self.socket is not None and (data := self.connection.data_to_send()):
            self.socket.sendall(data)

    def close(self) -> None:
        self.listener.close()
        if self.socket is not None:
            self.socket.close()


def wait_until(done: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"no {what} in {TIMEOUT_S} s"
        time.sleep(0.01)


@pytest.fixture
def scripted() -> Iterator[tuple[Upstream, FaultProxy]]:
    upstream = Upstream(size=200_000)
    with FaultProxy(upstream.endpoint) as running:
        yield upstream, running
    upstream.close()


def test_a_slow_client_holds_the_upstream_back_and_its_reset_reaches_the_upstream(
    scripted: tuple[Upstream, FaultProxy],
) -> None:
    """The client takes 1 KiB of a 200 KB event stream and acknowledges nothing: the upstream
    can send no more than the proxy's 64 KiB window. The client's RST_STREAM is passed on, and
    the window its unsent bytes held is given back, so the connection serves the next stream."""
    upstream, proxy = scripted
    client = Client(proxy.endpoint, acknowledge=False)
    first = client.request("SubscribeToShard", {})
    client.read_until(lambda: len(client.answers[first].body) == 1024, "the first 1 KiB")
    wait_until(lambda: upstream.window() == 0, "a spent upstream window")
    upstream.round_trip()
    assert upstream.window() == 0
    assert upstream.sent(upstream.streams[0]) == 65535  # the proxy's initial window
    assert len(client.answers[first].body) == 1024

    client.reset(first)
    wait_until(lambda: upstream.resets == [upstream.streams[0]], "the reset upstream")
    client.acknowledge = True
    second = client.request("SubscribeToShard", {})
    client.read_until(lambda: len(client.answers[second].body) >= 100_000, "100 KB of events")
    client.close()


def test_an_upstream_reset_and_goaway_reach_the_client(
    scripted: tuple[Upstream, FaultProxy],
) -> None:
    upstream, proxy = scripted
    client = Client(proxy.endpoint)
    first = client.request("SubscribeToShard", {})
    client.read_until(lambda: len(client.answers[first].body) > 0, "events")
    upstream.reset(upstream.streams[0])
    client.read_until(lambda: client.answers[first].reset is not None, "the reset")
    assert client.answers[first].reset == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM

    upstream.go_away()
    client.read_until(lambda: client.terminated, "GOAWAY")
    client.close()
