"""Jobs against an ``https://`` endpoint whose certificate a private CA signed.

kinesis-mock serves its TLS port with a certificate for 127.0.0.1 that a CA made by the test
signed (``tests/support/tls.py``), so it is verified as AWS's certificate is. Each job runs in
a fresh Python process (tests/e2e/tls_job.py) started the way a user trusts a company's CA:
``JVM_ARGS`` gives the JVM the CA's trust store, ``AWS_CA_BUNDLE`` gives boto3 its PEM file.

* One job reads a stream through the TLS port with the consumer (AWS SDK v1) and the FLIP-27
  source (SDK v2, Apache client) and writes both copies with the sink (SDK v2, Netty client),
  and with the Firehose sink to moto's server, which serves HTTPS with the same CA.
* Without the trust store, a sink's job fails with a message that says what is wrong and what
  to do, unless ``aws.trust.all.certificates`` (which warns) turns the checks off; without the
  CA, ``check_streams`` says so before any job starts.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from pyflink_kinesis import StreamCheckError, check_streams
from pyflink_kinesis.testing import KinesisMock
from tests.e2e.tls_job import aws_config, read_all
from tests.support.environment import fresh_process_environment
from tests.support.moto_fixtures import LocalFirehose, LocalGlueRegistry
from tests.support.tls import PrivateCA

JOB = Path(__file__).with_name("tls_job.py")
COUNT = 20


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return PrivateCA(tmp_path_factory.mktemp("private-ca"))


@pytest.fixture(scope="module")
def tls_mock(private_ca: PrivateCA) -> Iterator[KinesisMock]:
    """kinesis-mock whose TLS port shows a certificate signed by ``private_ca``."""
    server = KinesisMock(tls_certificate=(private_ca.server_pem, private_ca.server_key_pem))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_firehose(private_ca: PrivateCA) -> Iterator[LocalFirehose]:
    """Firehose and S3 on a moto server whose certificate ``private_ca`` signed."""
    server = LocalGlueRegistry(tls=private_ca).start()
    try:
        yield LocalFirehose(server)
    finally:
        server.stop()


def run_job(*args: str, jvm_args: str, ca_bundle: Path, timeout_s: float = 240) -> (
        subprocess.CompletedProcess[str]):
    """Run one tls_job.py job to its end in a fresh process with these JVM options (and the
    Firehose jars, which the Kinesis connector works beside)."""
    environment = fresh_process_environment(
        JVM_ARGS=jvm_args, AWS_CA_BUNDLE=str(ca_bundle), PYFLINK_KINESIS_EXTRAS="firehose")
    return subprocess.run(
        [sys.executable, str(JOB), *args], capture_output=True, text=True,
        env=environment, timeout=timeout_s, cwd=Path(__file__).parents[2],
    )


def test_consumer_source_and_sinks_trust_a_private_ca(
    tls_mock: KinesisMock, tls_firehose: LocalFirehose, private_ca: PrivateCA
) -> None:
    source, target = "tls-in", "tls-out"
    tls_mock.create_stream(source, 2)
    tls_mock.create_stream(target)
    records = [f"r{i}" for i in range(COUNT)]
    tls_mock.put_records(source, records)

    delivery_stream = tls_firehose.delivery_stream("tls")

    done = run_job("copy", tls_mock.tls_endpoint, tls_mock.region, source, target, str(COUNT),
                   tls_firehose.endpoint, delivery_stream,
                   jvm_args=private_ca.jvm_args(), ca_bundle=private_ca.ca_pem)

    assert done.returncode == 0, done.stderr[-4000:]
    expected = Counter([f"consumer:{r}" for r in records] + [f"source:{r}" for r in records])
    assert Counter(read_all_verified(tls_mock, private_ca, target)) == expected
    assert Counter(tls_firehose.records(delivery_stream)) == expected


def read_all_verified(server: KinesisMock, ca: PrivateCA, stream: str) -> list[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_CA_BUNDLE", str(ca.ca_pem))
        return read_all(server.tls_endpoint, server.region, stream)


def test_an_untrusted_certificate_fails_the_job_with_what_to_do(
    tls_mock: KinesisMock, private_ca: PrivateCA
) -> None:
    tls_mock.create_stream("tls-untrusted")

    done = run_job("write", tls_mock.tls_endpoint, tls_mock.region, "tls-untrusted",
                   jvm_args="", ca_bundle=private_ca.ca_pem, timeout_s=120)

    assert done.returncode == 1, done.stderr[-4000:]
    failure = done.stderr[done.stderr.index("JOB FAILED: "):]
    assert "an endpoint's TLS certificate is not trusted by the JVM" in failure, failure
    assert "-Djavax.net.ssl.trustStore=" in failure
    assert "env.java.opts.all" in failure


def test_check_streams_names_the_untrusted_endpoint_before_the_job(
    tls_mock: KinesisMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    config = aws_config(tls_mock.tls_endpoint, tls_mock.region)

    with pytest.raises(StreamCheckError) as raised:
        check_streams("any-stream", config, timeout_s=5)

    message = str(raised.value)
    assert f"the TLS certificate of {tls_mock.tls_endpoint} is not trusted" in message
    assert "certificate verify failed" in message
    assert "AWS_CA_BUNDLE" in message
    assert "-Djavax.net.ssl.trustStore=" in message


def test_trusting_all_certificates_lets_the_sink_write_with_a_warning(
    tls_mock: KinesisMock, private_ca: PrivateCA
) -> None:
    tls_mock.create_stream("tls-trust-all")

    done = run_job("write", tls_mock.tls_endpoint, tls_mock.region, "tls-trust-all",
                   "trust-all", jvm_args="", ca_bundle=private_ca.ca_pem, timeout_s=120)

    assert done.returncode == 0, done.stderr[-4000:]
    assert "KinesisConfigWarning: sink settings: 'aws.trust.all.certificates': true" in done.stderr
    assert read_all_verified(tls_mock, private_ca, "tls-trust-all") == ["one"]
