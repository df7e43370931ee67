"""The raw boto3 clients the benchmark compares against: parallel processes and one loop.

* ``put_parallel``: ``processes`` processes, each with its own client, put their share of the
  records with 500-record PutRecords. One process is the single-process loop a Python user
  writes; several are the server's ceiling.
* ``drain_parallel``: the same for reading a backlog from TRIM_HORIZON with 10000-record
  GetRecords; each process drains its share of the shards.
* ``produce`` and ``read_latency``: a steady-rate producer and a polling reader, for latency.

Imports boto3 only. Worker processes are spawned (no fork of a process that holds threads)
and start together on a barrier, after their client and records are ready.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from queue import Empty
from typing import Any, Callable

from bench.perf_common import (
    GET_LIMIT,
    batches,
    client,
    latency_payload,
    payload,
    put_batch,
    put_time_of,
    shard_ids,
)

_SPAWN = multiprocessing.get_context("spawn")
_WORKER_TIMEOUT_S = 600


def _run_workers(target: Callable[..., None], jobs: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(barrier, queue, *job)`` in one process per job; return what each queued."""
    barrier = _SPAWN.Barrier(len(jobs))
    queue = _SPAWN.Queue()
    processes = [_SPAWN.Process(target=target, args=(barrier, queue, *job)) for job in jobs]
    for process in processes:
        process.start()
    results: list[Any] = []
    deadline = time.monotonic() + _WORKER_TIMEOUT_S
    while len(results) < len(processes):
        try:
            results.append(queue.get(timeout=0.5))
            continue
        except Empty:
            pass
        dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
        if dead or time.monotonic() > deadline:
            for process in processes:  # the others may wait at the barrier for ever
                process.terminate()
            if dead:
                raise RuntimeError(
                    f"a benchmark worker process exited with code {dead[0]} before reporting; "
                    "its traceback is above. Workers are spawned, so a script that calls "
                    "bench.perf_raw must start from `if __name__ == \"__main__\":`."
                )
            raise TimeoutError(f"benchmark workers did not report in {_WORKER_TIMEOUT_S} s")
    for process in processes:
        process.join(timeout=30)
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        raise RuntimeError(f"a benchmark worker failed: {failed[0]}")
    return results


def _put_worker(
    barrier: Any, queue: Any, endpoint: str, region: str, stream: str,
    size: int, indexes: range,
) -> None:
    try:
        kinesis = client(endpoint, region)
        texts = [payload(i, size) for i in indexes]
        keys = [str(i) for i in indexes]
        prepared = list(batches(texts, keys))
        kinesis.describe_stream_summary(StreamName=stream)  # connection open before the start
        barrier.wait()
        started = time.time()
        for batch in prepared:
            put_batch(kinesis, stream, batch)
        queue.put((started, time.time(), len(texts)))
    except Exception as error:  # reported to the parent, which raises
        queue.put(f"{type(error).__name__}: {error}")


def put_parallel(
    endpoint: str, region: str, stream: str, size: int, records: int, processes: int
) -> dict[str, float]:
    """Put ``records`` records of ``size`` bytes from ``processes`` processes.

    Returns the client's view (``started``, ``finished``, epoch seconds); the benchmark's
    figure comes from the server's arrival times, like every other sink's.
    """
    share = [range(p, records, processes) for p in range(processes)]
    jobs = [(endpoint, region, stream, size, indexes) for indexes in share if indexes]
    results = _run_workers(_put_worker, jobs)
    return {"started": min(r[0] for r in results), "finished": max(r[1] for r in results)}


def _drain_worker(
    barrier: Any, queue: Any, endpoint: str, region: str, stream: str, shards: list[str]
) -> None:
    try:
        kinesis = client(endpoint, region)
        iterators = [
            kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        ]
        barrier.wait()
        started = time.time()
        count = size = 0
        for first in iterators:
            iterator: str | None = first
            while iterator:
                response = kinesis.get_records(ShardIterator=iterator, Limit=GET_LIMIT)
                count += len(response["Records"])
                size += sum(len(r["Data"]) for r in response["Records"])
                iterator = response.get("NextShardIterator")
                if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                    break
        queue.put((started, time.time(), count, size))
    except Exception as error:
        queue.put(f"{type(error).__name__}: {error}")


def drain_parallel(
    endpoint: str, region: str, stream: str, processes: int
) -> dict[str, float]:
    """Read every record of ``stream`` from TRIM_HORIZON, its shards spread over processes.

    Returns ``records``, ``bytes``, ``seconds`` (first request to last answer) and ``rate``.
    """
    shards = shard_ids(client(endpoint, region), stream)
    share = [shards[p::processes] for p in range(processes)]
    results = _run_workers(
        _drain_worker, [(endpoint, region, stream, s) for s in share if s]
    )
    seconds = max(r[1] for r in results) - min(r[0] for r in results)
    count = sum(r[2] for r in results)
    return {"records": count, "bytes": sum(r[3] for r in results), "seconds": seconds,
            "rate": count / seconds}


def preload(endpoint: str, region: str, stream: str, size: int, records: int) -> None:
    """Fill a stream with a backlog, as fast as the server takes it (4 processes)."""
    put_parallel(endpoint, region, stream, size, records, processes=4)


def produce(
    endpoint: str, region: str, stream: str, size: int, rate: int, seconds: float
) -> int:
    """Put ``rate`` records/s for ``seconds``, in 20 PutRecords per second; return the count.

    Each record carries its put time (``latency_payload``).
    """
    kinesis = client(endpoint, region)
    tick, sent = 0.05, 0
    per_tick = max(1, round(rate * tick))
    started = time.time()
    while time.time() - started < seconds:
        now = time.time()
        texts = [latency_payload(sent + i, now, size) for i in range(per_tick)]
        keys = [str(sent + i) for i in range(per_tick)]
        for batch in batches(texts, keys):
            put_batch(kinesis, stream, batch)
        sent += per_tick
        time.sleep(max(0.0, started + (sent / per_tick) * tick - time.time()))
    return sent


def _produce_worker(barrier: Any, queue: Any, *args: Any) -> None:
    try:
        barrier.wait()
        queue.put(("produced", produce(*args)))
    except Exception as error:
        queue.put(f"{type(error).__name__}: {error}")


def _latency_worker(
    barrier: Any, queue: Any, endpoint: str, region: str, stream: str,
    seconds: float, interval_s: float,
) -> None:
    try:
        kinesis = client(endpoint, region)
        iterators: dict[str, str | None] = {
            shard: kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shard_ids(kinesis, stream)
        }
        barrier.wait()
        deadline = time.time() + seconds + 3.0
        pairs: list[tuple[float, float]] = []
        while time.time() < deadline:
            for shard, iterator in iterators.items():
                if not iterator:
                    continue
                response = kinesis.get_records(ShardIterator=iterator, Limit=GET_LIMIT)
                seen = time.time()
                pairs += [(put_time_of(r["Data"].decode()), seen) for r in response["Records"]]
                iterators[shard] = response.get("NextShardIterator")
            if interval_s:
                time.sleep(interval_s)
        queue.put(("read", pairs))
    except Exception as error:
        queue.put(f"{type(error).__name__}: {error}")


def read_latency(
    endpoint: str, region: str, stream: str, size: int, rate: int, seconds: float,
    interval_s: float,
) -> list[tuple[float, float]]:
    """Produce at ``rate`` for ``seconds`` while one process polls every shard of the (empty)
    stream every ``interval_s`` s (0: back to back); returns ``(put, seen)`` time pairs."""
    barrier = _SPAWN.Barrier(2)
    queue = _SPAWN.Queue()
    producer = _SPAWN.Process(
        target=_produce_worker,
        args=(barrier, queue, endpoint, region, stream, size, rate, seconds),
    )
    reader = _SPAWN.Process(
        target=_latency_worker,
        args=(barrier, queue, endpoint, region, stream, seconds, interval_s),
    )
    producer.start()
    reader.start()
    answers = [queue.get(timeout=seconds + 120) for _ in range(2)]
    producer.join(timeout=30)
    reader.join(timeout=30)
    failed = [a for a in answers if isinstance(a, str)]
    if failed:
        raise RuntimeError(f"a latency worker failed: {failed[0]}")
    results = dict(answers)
    pairs: list[tuple[float, float]] = results["read"]
    if len(pairs) < results["produced"]:
        raise RuntimeError(f"latency reader got {len(pairs)} of {results['produced']} records")
    return pairs


def main(argv: list[str]) -> int:
    """``python -m bench.perf_raw produce ENDPOINT REGION STREAM SIZE RATE SECONDS``: prints
    the number of records put (the latency job starts its producer this way)."""
    command, endpoint, region, stream, size, rate, seconds = argv
    if command != "produce":
        raise SystemExit(f"unknown command {command!r}; the only one is 'produce'")
    print(produce(endpoint, region, stream, int(size), int(rate), float(seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
