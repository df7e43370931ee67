"""One PyFlink job process of the performance benchmark: ``python -m bench.perf_job PLAN OUT``.

Runs the tasks of a plan (JSON written by ``bench.performance``) one after the other in one
JVM and writes what it measured to ``OUT``. The plan's ``variant`` picks the wrappers:

* ``ours``: ``pyflink_kinesis`` (jars registered on import, JSON protocol and HTTP/1.1 for a
  local endpoint set by the package), reading with ``FlinkKinesisConsumer`` (``add_source``);
* ``ours_flip27``: the same package, reading with the FLIP-27 ``KinesisStreamsSource``
  (``from_source``, no watermarks; the source tasks only);
* ``builtin``: PyFlink's own ``pyflink.datastream.connectors.kinesis`` with the same jars
  added by hand (``env.add_jars``) and the JSON-protocol system properties and HTTP/1.1 setting
  a user must add by hand against a local server. This process never imports
  ``pyflink_kinesis``; the result says so (``pyflink_kinesis_imported``).

Tasks:

* ``sink``: ``from_collection`` (records in the job graph, Java only) -> the sink, bounded.
  The stream's arrival times are then read back and the stream is deleted before the next
  task, so every sink run meets a server holding the same data (see ``run_sink``).
* ``source``: the reader from TRIM_HORIZON -> a Java DiscardingSink (chaining off); the
  records the source has emitted are read from the mini-cluster's REST API until the backlog is
  drained, then the job is cancelled.
* ``latency``: reader -> Python map that stamps the time -> sink; a producer process puts
  time-stamped records at a steady rate. With ``wait_reading`` the producer starts only once a
  probe record has come out of the job (the reader has its shards).
* ``construction``: wall time and py4j round trips of building a consumer and a sink.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.functions import SinkFunction

from bench.perf_common import (
    FLIP27,
    client,
    delete_stream,
    distinct_arrivals,
    free_port,
    payload,
    put_time_of,
    read_stream,
)

_STARTUP_ENVIRONMENT = dict(os.environ)
_DISCARDING_SINK = "org.apache.flink.streaming.api.functions.sink.DiscardingSink"
_SOURCE_NAME = "kinesis-source"
_POLL_S = 0.05
#: The module whose FlinkKinesisConsumer, KinesisStreamsSink and PartitionKeyGenerator each
#: variant uses: the same names and builder methods in both.
_WRAPPERS = {"ours": "pyflink_kinesis", FLIP27: "pyflink_kinesis",
             "builtin": "pyflink.datastream.connectors.kinesis"}
#: The latency job's probe record (``wait_reading``): not a latency payload, left out of pairs.
_PROBE = "probe"


def stamp(line: str) -> str:
    """The latency job's map: append the time the record reached Python in the job."""
    return f"{line},{time.time():.6f}"


class Variant:
    """Builds consumers and sinks with one set of wrappers."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.name: str = plan["variant"]
        self.plan = plan
        self.wrappers: Any = importlib.import_module(_WRAPPERS[self.name])

    def prepare(self, env: StreamExecutionEnvironment) -> None:
        """What the user of this variant does to an environment before using Kinesis."""
        if self.name == "builtin":
            from pyflink.java_gateway import get_gateway

            env.add_jars(*self.plan["jar_uris"])
            system = get_gateway().jvm.System
            for name, value in self.plan["system_properties"].items():
                system.setProperty(name, value)

    def consumer(self, stream: str, extra: dict[str, str]) -> Any:
        """A ``FlinkKinesisConsumer``, or for ``ours_flip27`` a ``KinesisStreamsSource``, of
        ``stream`` from TRIM_HORIZON (``extra``: more consumer or source keys)."""
        config = {**self.plan["client_properties"], "flink.stream.initpos": "TRIM_HORIZON",
                  **self.plan.get("consumer_settings", {}), **extra}
        if self.name == FLIP27:
            return (self.wrappers.KinesisStreamsSource.builder().set_stream_name(stream)
                    .set_source_config(config)
                    .set_deserialization_schema(SimpleStringSchema()).build())
        return self.wrappers.FlinkKinesisConsumer(stream, SimpleStringSchema(), config)

    def read(self, env: StreamExecutionEnvironment, stream: str,
             extra: dict[str, str]) -> DataStream:
        """The job's first operator, named ``_SOURCE_NAME``: ``env.add_source`` of the consumer,
        or ``env.from_source`` of the FLIP-27 source (no watermarks)."""
        reader = self.consumer(stream, extra)
        if self.name == FLIP27:
            return env.from_source(reader, WatermarkStrategy.no_watermarks(), _SOURCE_NAME)
        return env.add_source(reader, _SOURCE_NAME)

    def sink(self, stream: str, extra: dict[str, Any]) -> Any:
        builder = (
            self.wrappers.KinesisStreamsSink.builder()
            .set_kinesis_client_properties(dict(self.plan["client_properties"]))
            .set_serialization_schema(SimpleStringSchema())
            .set_partition_key_generator(self.wrappers.PartitionKeyGenerator.random())
            .set_stream_name(stream)
        )
        for name, value in {**self.plan.get("sink_settings", {}), **extra}.items():
            getattr(builder, f"set_{name}")(value)
        return builder.build()


def environment(
    variant: Variant, parallelism: int, rest_port: int, bundle_ms: int | None = None
) -> StreamExecutionEnvironment:
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("rest.bind-address", "127.0.0.1")
    config.set_string("rest.address", "127.0.0.1")
    config.set_string("rest.bind-port", str(rest_port))
    config.set_string("metrics.fetcher.update-interval", "100")
    if bundle_ms is not None:
        config.set_string("python.fn-execution.bundle.time", str(bundle_ms))
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    variant.prepare(env)
    return env


def rest_job(rest_port: int, job_id: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{rest_port}/jobs/{job_id}"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def source_records(job: dict[str, Any]) -> int:
    """Records the source vertex has sent downstream."""
    return sum(
        int(v["metrics"]["write-records"]) for v in job["vertices"]
        if _SOURCE_NAME in v["name"]
    )


def all_running(job: dict[str, Any]) -> bool:
    return bool(job["vertices"]) and all(v["status"] == "RUNNING" for v in job["vertices"])


def wait_rest(
    rest_port: int, job_id: str, done: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            job = rest_job(rest_port, job_id)
            if done(job):
                return job
            if job.get("state") in ("FAILED", "CANCELED", "FINISHED"):
                raise RuntimeError(f"job {job_id} is {job['state']}; see the Flink log")
        except OSError:
            pass  # the REST endpoint is not up yet
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id}: condition not reached in {timeout_s} s")
        time.sleep(_POLL_S)


def run_sink(variant: Variant, task: dict[str, Any], parallelism: int) -> dict[str, Any]:
    env = environment(variant, parallelism, free_port())
    texts = [payload(i, task["size"]) for i in range(task["records"])]
    sink = variant.sink(task["stream"], task.get("sink_settings", {}))
    env.from_collection(texts, Types.STRING()).sink_to(sink)
    execute_at = time.time()
    env.execute(f"bench sink {task['stream']}")
    finished_at = time.time()
    # kinesalite keeps every record in its (single-threaded) node heap: a run that wrote next
    # to the 100 MB of an earlier run measured 5-13% slower. The raw clients drop each stream
    # after their run, so the Flink runs do the same before the next task.
    kinesis = client(task["endpoint"], task["region"])
    read_back = distinct_arrivals(read_stream(kinesis, task["stream"]))
    delete_stream(kinesis, task["stream"])
    return {"execute_at": execute_at, "finished_at": finished_at, **read_back}


def run_source(variant: Variant, task: dict[str, Any], parallelism: int) -> dict[str, Any]:
    rest_port = free_port()
    env = environment(variant, parallelism, rest_port)
    env.disable_operator_chaining()
    reader = variant.read(env, task["stream"], task.get("consumer_settings", {}))
    reader.add_sink(SinkFunction(_DISCARDING_SINK))
    execute_at = time.time()
    job = env.execute_async(f"bench source {task['stream']}")
    job_id = str(job.get_job_id())
    try:
        wait_rest(rest_port, job_id, lambda j: source_records(j) > 0, 120)
        first_at = time.time()
        first_count = source_records(rest_job(rest_port, job_id))
        wait_rest(rest_port, job_id, lambda j: source_records(j) >= task["records"], 600)
        done_at = time.time()
        count = source_records(rest_job(rest_port, job_id))
    finally:
        job.cancel().result()
    return {"execute_at": execute_at, "first_at": first_at, "first_count": first_count,
            "done_at": done_at, "records": count}


def run_latency(variant: Variant, task: dict[str, Any], parallelism: int) -> dict[str, Any]:
    rest_port = free_port()
    env = environment(variant, parallelism, rest_port, bundle_ms=task["bundle_ms"])
    sink = variant.sink(task["out_stream"], {"max_time_in_buffer_ms": 100})
    reader = variant.read(env, task["stream"], task.get("consumer_settings", {}))
    reader.map(stamp, output_type=Types.STRING()).sink_to(sink)
    job = env.execute_async(f"bench latency {task['stream']}")
    kinesis = client(task["endpoint"], task["region"])
    try:
        wait_rest(rest_port, str(job.get_job_id()), all_running, 120)
        if task.get("wait_reading"):
            wait_for_probe(kinesis, task["stream"], task["out_stream"], 120)
        time.sleep(task["settle_s"])
        produced = int(subprocess.run(
            [sys.executable, "-m", "bench.perf_raw", "produce", task["endpoint"],
             task["region"], task["stream"], str(task["size"]), str(task["rate"]),
             str(task["seconds"])],
            env=_STARTUP_ENVIRONMENT, check=True, capture_output=True, text=True,
        ).stdout.strip())
        deadline = time.monotonic() + 60
        rows = measured_rows(kinesis, task["out_stream"])
        while len(rows) < produced and time.monotonic() < deadline:
            time.sleep(0.5)
            rows = measured_rows(kinesis, task["out_stream"])
    finally:
        job.cancel().result()
    pairs = [(put_time_of(row), float(row.rsplit(",", 1)[1])) for row in rows]
    return {"produced": produced, "received": len(rows), "pairs": pairs}


def measured_rows(kinesis: Any, out_stream: str) -> list[str]:
    """The latency job's output records, the probe left out."""
    rows = (data.decode() for _, data in read_stream(kinesis, out_stream))
    return [row for row in rows if not row.startswith(_PROBE)]


def wait_for_probe(kinesis: Any, stream: str, out_stream: str, timeout_s: float) -> None:
    """Put a probe record into ``stream`` and wait until the job has written it out: from
    then on the reader has its shards (the FLIP-27 source gets them at a shard discovery)."""
    kinesis.put_record(StreamName=stream, Data=f"{_PROBE},".encode(), PartitionKey=_PROBE)
    deadline = time.monotonic() + timeout_s
    while not any(data.startswith(_PROBE.encode()) for _, data in read_stream(kinesis, out_stream)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the probe record did not come out of the job in {timeout_s} s")
        time.sleep(0.2)


class _CountingClient:
    """Counts the py4j commands sent through a gateway client, and among them the name
    lookups (``jvm.org.apache...`` resolves one package segment per round trip)."""

    def __init__(self) -> None:
        from pyflink.java_gateway import get_gateway

        self.client = get_gateway()._gateway_client
        self.original = self.client.send_command
        self.count = 0
        self.lookups = 0

        def counting(command: str, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            self.lookups += command.startswith("r\nu\n")
            return self.original(command, *args, **kwargs)

        self.client.send_command = counting


def run_construction(variant: Variant, task: dict[str, Any], parallelism: int) -> dict[str, Any]:
    env = environment(variant, parallelism, free_port())  # the JVM is up from here on
    del env
    counter = _CountingClient()
    result: dict[str, Any] = {}
    builders: dict[str, Callable[[], Any]] = {
        "consumer": lambda: variant.consumer(task["stream"], {}),
        "sink": lambda: variant.sink(task["stream"], {}),
    }
    for what, build in builders.items():
        times, calls, lookups, built = [], [], [], []
        gc.disable()  # and keep what was built: py4j sends a command when a proxy is freed
        for _ in range(task["repeats"]):
            before, looked_up = counter.count, counter.lookups
            started = time.perf_counter()
            built.append(build())
            times.append((time.perf_counter() - started) * 1000)
            calls.append(counter.count - before)
            lookups.append(counter.lookups - looked_up)
        gc.enable()
        result[what] = {"first_ms": round(times[0], 2),
                        "median_ms": round(statistics.median(times[1:] or times), 2),
                        "py4j_calls": calls[-1], "py4j_name_lookups": lookups[-1]}
    if variant.name == "ours":
        result.update(_package_overhead(task))
    return result


def _package_overhead(task: dict[str, Any]) -> dict[str, Any]:
    """Our pure-Python work: jar resolution and config validation, without the JVM."""
    from pyflink_kinesis import jars
    from pyflink_kinesis.config import SinkSettings, consumer_properties, validate_sink

    def median_ms(work: Callable[[], object]) -> float:
        times = []
        for _ in range(task["repeats"]):
            started = time.perf_counter()
            work()
            times.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(times), 3)

    config = {**task["client_properties"], "flink.stream.initpos": "TRIM_HORIZON"}
    settings = SinkSettings(
        client_properties=task["client_properties"], stream_name=task["stream"],
        has_serialization_schema=True, has_partition_key_generator=True,
    )
    return {
        "resolve_jars_ms": median_ms(jars.resolve_jars),
        "validate_consumer_ms": median_ms(lambda: consumer_properties(config, [task["stream"]])),
        "validate_sink_ms": median_ms(lambda: validate_sink(settings)),
    }


_TASKS: dict[str, Callable[[Variant, dict[str, Any], int], dict[str, Any]]] = {
    "sink": run_sink,
    "source": run_source,
    "latency": run_latency,
    "construction": run_construction,
}


def main(argv: list[str]) -> int:
    plan_path, out_path = Path(argv[0]), Path(argv[1])
    plan = json.loads(plan_path.read_text())
    variant = Variant(plan)
    results = []
    for task in plan["tasks"]:
        measured = _TASKS[task["kind"]](variant, task, task.get("parallelism",
                                                                 plan["parallelism"]))
        results.append({"task": task["id"], **measured})
        out_path.write_text(json.dumps({"results": results}))
    out_path.write_text(json.dumps({
        "results": results,
        "pyflink_kinesis_imported": "pyflink_kinesis" in sys.modules,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
