"""Register, describe and deregister enhanced fan-out (EFO) stream consumers with boto3.

For ``flink.stream.efo.registration = NONE`` the consumer must exist before the job starts and
its ARN must be in ``flink.stream.efo.consumerarn.<stream>``::

    arn = register_stream_consumer(client, "orders", "my-flink-efo-consumer")
    config = {..., "flink.stream.recordpublisher": "EFO",
              "flink.stream.efo.registration": "NONE",
              "flink.stream.efo.consumername": "my-flink-efo-consumer",
              "flink.stream.efo.consumerarn.orders": arn}

``client`` is a boto3 Kinesis client (``boto3.client("kinesis", region_name=...)``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pyflink_kinesis.errors import KinesisError

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

POLL_S = 0.2


def stream_arn(client: KinesisClient, stream: str) -> str:
    """The ARN of a stream, by name."""
    summary = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    return summary["StreamARN"]


def describe_stream_consumer(
    client: KinesisClient, stream: str, consumer_name: str
) -> dict[str, Any] | None:
    """The consumer's description (ConsumerARN, ConsumerStatus ...), or None if it is absent."""
    try:
        description = client.describe_stream_consumer(
            StreamARN=stream_arn(client, stream), ConsumerName=consumer_name
        )["ConsumerDescription"]
    except client.exceptions.ResourceNotFoundException:
        return None
    return dict(description)


def register_stream_consumer(
    client: KinesisClient, stream: str, consumer_name: str, timeout_s: float = 60.0
) -> str:
    """Register ``consumer_name`` on ``stream`` (or reuse it) and wait until it is ACTIVE.

    Returns the consumer ARN, the value of ``flink.stream.efo.consumerarn.<stream>``.
    """
    existing = describe_stream_consumer(client, stream, consumer_name)
    if existing is None:
        client.register_stream_consumer(
            StreamARN=stream_arn(client, stream), ConsumerName=consumer_name
        )
    return _wait(client, stream, consumer_name, "ACTIVE", timeout_s)


def deregister_stream_consumer(
    client: KinesisClient, stream: str, consumer_name: str, timeout_s: float = 60.0
) -> None:
    """Deregister the consumer and wait until it is gone; an absent consumer is fine."""
    if describe_stream_consumer(client, stream, consumer_name) is None:
        return
    client.deregister_stream_consumer(
        StreamARN=stream_arn(client, stream), ConsumerName=consumer_name
    )
    _wait(client, stream, consumer_name, None, timeout_s)


def _wait(
    client: KinesisClient, stream: str, consumer_name: str, status: str | None, timeout_s: float
) -> str:
    """Poll until the consumer has ``status`` (None: is gone); return its ARN (or "")."""
    deadline = time.monotonic() + timeout_s
    while True:
        description = describe_stream_consumer(client, stream, consumer_name)
        current = description["ConsumerStatus"] if description else None
        if current == status:
            return str(description["ConsumerARN"]) if description else ""
        if time.monotonic() > deadline:
            wanted = status or "deregistered"
            raise KinesisError(
                f"EFO consumer {consumer_name!r} on stream {stream!r} is {current or 'absent'}, "
                f"not {wanted}, after {timeout_s:.0f} s"
            )
        time.sleep(POLL_S)
