"""Quix Streams apps for ``make bench``; run by ``bench.perf_quix`` in tools/quix/venv.

This file runs under the Quix virtualenv, not ours: it imports only the standard library and
quixstreams. One argument, a JSON object whose ``command`` is one of:

* ``fill``: write ``count`` records of ``size`` bytes to the Kafka topic ``topic``;
* ``sink``: a Quix Application, Kafka topic ``topic`` -> ``KinesisSink`` into ``stream``,
  stopped after ``count`` records;
* ``source``: ``KinesisSource`` on ``stream`` from the earliest record -> a dataframe that
  notes when it sees each record, stopped after ``count`` records;
* ``latency``: ``KinesisSource`` on ``stream`` -> prints ``index put seen`` (put and seen in
  epoch seconds) for each record, whose payload carries its index and put time
  (``bench.perf_common.latency_payload``), until it is terminated.

The last line on stdout is a JSON answer (``latency`` prints one line per
record). Written the way the Quix documentation shows these connectors; the credentials are
the local server's dummy ones.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from quixstreams import Application
from quixstreams.models import TopicConfig
from quixstreams.sinks.community.kinesis import KinesisSink
from quixstreams.sources.community.kinesis import KinesisSource

CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def application(plan: dict[str, Any]) -> Application:
    return Application(
        broker_address=plan["broker"],
        consumer_group=plan.get("group", "bench"),
        auto_offset_reset="earliest",
        state_dir=plan["state_dir"],
        loglevel="WARNING",
    )


def payload(index: int, size: int) -> bytes:
    """The same records as ``bench.perf_common.payload``."""
    head = f"{index:010d}|"
    return (head + "x" * (size - len(head))).encode()


def fill(plan: dict[str, Any]) -> dict[str, Any]:
    app = application(plan)
    topic = app.topic(plan["topic"], key_serializer="str", value_serializer="bytes",
                      config=TopicConfig(num_partitions=plan["partitions"],
                                         replication_factor=1))
    with app.get_producer() as producer:
        for index in range(plan["count"]):
            producer.produce(topic=topic.name, key=str(index),
                             value=payload(index, plan["size"]))
    return {"filled": plan["count"]}


def sink(plan: dict[str, Any]) -> dict[str, Any]:
    app = application(plan)
    topic = app.topic(plan["topic"], key_deserializer="bytes", value_deserializer="bytes")
    frame = app.dataframe(topic)
    frame.sink(KinesisSink(stream_name=plan["stream"], aws_endpoint_url=plan["endpoint"],
                           region_name=plan["region"], value_serializer=bytes, **CREDENTIALS))
    app.run(count=plan["count"])
    return {"written": plan["count"]}


def kinesis_source(plan: dict[str, Any]) -> KinesisSource:
    return KinesisSource(plan["stream"], aws_region=plan["region"],
                         aws_endpoint_url=plan["endpoint"], auto_offset_reset="earliest",
                         **CREDENTIALS)


def source(plan: dict[str, Any]) -> dict[str, Any]:
    app = application(plan)
    seen: dict[str, Any] = {"records": 0, "first_at": None, "last_at": None}

    def note(value: Any) -> None:
        now = time.time()
        if seen["first_at"] is None:
            seen["first_at"] = now
        seen["last_at"] = now
        seen["records"] += 1

    frame = app.dataframe(source=kinesis_source(plan))
    frame.update(note)
    seen["run_at"] = time.time()
    app.run(count=plan["count"])
    return seen


def latency(plan: dict[str, Any]) -> dict[str, Any]:
    app = application(plan)

    def stamp(value: bytes) -> None:
        seen = time.time()
        index, put, _ = value.split(b",", 2)
        print(f"{int(index)} {float(put):.6f} {seen:.6f}", flush=True)

    frame = app.dataframe(source=kinesis_source(plan))
    frame.update(stamp)
    app.run()
    return {"stopped": True}


COMMANDS = {"fill": fill, "sink": sink, "source": source, "latency": latency}


def main(argv: list[str]) -> int:
    plan = json.loads(argv[0])
    answer = COMMANDS[plan["command"]](plan)
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
