"""KinesisFirehoseSink and the SQL ``firehose`` table against a real local Firehose: moto's
server, whose DirectPut delivery streams write each PutRecordBatch to its S3 at once.

Each job runs in a fresh Python process (tests/e2e/firehose_job.py) whose JVM starts with the
"firehose" jars (PYFLINK_KINESIS_EXTRAS), as docs/firehose.md tells local jobs to. Faults come
from a FaultProxy between the sink and moto, which itself never fails or throttles.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from pyflink_kinesis.testing.fault_proxy import (
    ErrorResponse,
    Every,
    FaultProxy,
    FaultRule,
    First,
    PartialFailure,
    internal_failure,
)
from tests.e2e.firehose_job import records
from tests.support.environment import fresh_process_environment
from tests.support.moto_fixtures import LocalFirehose

JOB = Path(__file__).with_name("firehose_job.py")
COUNT = 300
# Firehose's throttling error (PutRecordBatch's "back off and retry").
SLOW_DOWN = ErrorResponse(
    503, "ServiceUnavailableException", "Slow down (injected by FaultProxy)."
)
FAILED_ENTRY = "ServiceUnavailableException"
SDK_RUN = 12  # consecutive failed requests: more than the AWS SDK's retries of one call


def run_job(
    *args: str, extras: str = "firehose", timeout_s: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run one firehose_job.py job to its end in a fresh process whose JVM starts with the
    optional jar sets ``extras`` (PYFLINK_KINESIS_EXTRAS)."""
    environment = {**fresh_process_environment(), "PYFLINK_KINESIS_EXTRAS": extras}
    return subprocess.run(
        [sys.executable, str(JOB), *args], capture_output=True, text=True,
        env=environment, timeout=timeout_s, cwd=Path(__file__).parents[2],
    )


def expected(count: int = COUNT) -> Counter[str]:
    return Counter(records(count))


@pytest.fixture(scope="module")
def proxy(local_firehose: LocalFirehose) -> Iterator[FaultProxy]:
    with FaultProxy(local_firehose.endpoint, seed=19) as running:
        yield running


@pytest.fixture(scope="module")
def faults_retried(
    local_firehose: LocalFirehose, proxy: FaultProxy
) -> tuple[str, str, list[FaultRule]]:
    """One job with fail_on_error False writing COUNT records to two delivery streams: one
    straight to moto, one through the proxy, which throttles, answers 500 and fails some
    entries of its PutRecordBatch calls."""
    direct = local_firehose.delivery_stream("direct")
    proxied = local_firehose.delivery_stream("faults")
    # The AWS SDK retries throttling and 5xx itself (3 retries): runs of failed requests long
    # enough to exhaust them hand the errors to the sink's own classification and retries.
    rules = [
        proxy.inject(SLOW_DOWN, operation="PutRecordBatch", when=First(SDK_RUN)),
        proxy.inject(internal_failure(), operation="PutRecordBatch", when=First(SDK_RUN)),
        proxy.inject(
            PartialFailure(entry_rate=0.3, error_code=FAILED_ENTRY),
            operation="PutRecordBatch", when=Every(2), limit=3,
        ),
    ]
    try:
        job = run_job("datastream", local_firehose.endpoint, local_firehose.region, str(COUNT),
                      "false", direct, f"{proxied}@{proxy.endpoint}")
    finally:
        proxy.clear()
    assert job.returncode == 0, job.stderr[-4000:]
    return direct, proxied, rules


def test_a_job_delivers_exactly_its_records(
    local_firehose: LocalFirehose, faults_retried: tuple[str, str, list[FaultRule]]
) -> None:
    direct, _, _ = faults_retried
    assert Counter(local_firehose.records(direct)) == expected()
    assert len(local_firehose.objects(direct)) >= COUNT // 25  # batches of at most 25


def test_throttling_500s_and_failed_entries_are_retried_until_every_record_arrives(
    local_firehose: LocalFirehose, faults_retried: tuple[str, str, list[FaultRule]]
) -> None:
    _, proxied, (throttled, failed, partial) = faults_retried
    assert (throttled.injected, failed.injected, partial.injected) == (SDK_RUN, SDK_RUN, 3)
    assert partial.failed_entries > 0
    assert Counter(local_firehose.records(proxied)) == expected()


def test_with_fail_on_error_a_failed_entry_fails_the_job_saying_why(
    local_firehose: LocalFirehose, proxy: FaultProxy
) -> None:
    stream = local_firehose.delivery_stream("failfast")
    rule = proxy.inject(PartialFailure(entry_rate=0.5, error_code=FAILED_ENTRY),
                        operation="PutRecordBatch", when=Every(1), limit=1)
    try:
        job = run_job("datastream", proxy.endpoint, local_firehose.region, "50", "true", stream)
    finally:
        proxy.clear()
    assert rule.injected == 1
    assert job.returncode == 1, job.stderr[-4000:]
    assert "KinesisFirehoseFailFastException" in job.stderr
    assert "not retrying due to {failOnError} being set" in job.stderr


@pytest.mark.parametrize("extras", ["firehose", ""], ids=["jvm-started-for-firehose", "add-jar"])
def test_sql_insert_into_a_firehose_table_delivers_exactly_its_rows(
    local_firehose: LocalFirehose, extras: str
) -> None:
    """Also in a JVM started without the jars: the TableEnvironment then gets them as ADD JAR
    would (with a FirehoseClassPathWarning, as its sink could not classify service errors)."""
    stream = local_firehose.delivery_stream("sql")
    count = COUNT if extras else 50
    job = run_job("sql", local_firehose.endpoint, local_firehose.region, str(count), stream,
                  extras=extras)
    assert job.returncode == 0, job.stderr[-4000:]
    assert Counter(local_firehose.records(stream)) == expected(count)
    assert ("FirehoseClassPathWarning" in job.stderr) == (not extras)
