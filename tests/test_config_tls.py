"""``config/tls.py``: the warning for ``aws.trust.all.certificates``, and the messages that say
what to do about an untrusted certificate."""

from __future__ import annotations

import warnings

import pytest

from pyflink_kinesis.config import SinkSettings, consumer_properties, validate_sink
from pyflink_kinesis.config.tls import jvm_untrusted_certificate, untrusted_certificate
from pyflink_kinesis.errors import KinesisConfigError, KinesisConfigWarning

TRUST_ALL = "aws.trust.all.certificates"
REGION = {"aws.region": "us-east-1", "aws.endpoint": "https://kinesis.internal:4567"}


def sink(value: object) -> SinkSettings:
    return SinkSettings({**REGION, TRUST_ALL: value}, "orders", True, True)


@pytest.mark.parametrize("value", [True, "true", "TRUE"])
def test_trusting_every_certificate_warns_that_it_is_for_development_only(value: object) -> None:
    with pytest.warns(KinesisConfigWarning) as warned:
        validate_sink(sink(value))
    [message] = [str(w.message) for w in warned]
    assert TRUST_ALL in message
    assert "for development only" in message
    assert "trust store" in message


@pytest.mark.parametrize("value", [False, "false"])
def test_checking_certificates_does_not_warn(value: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_sink(sink(value))


def test_the_consumer_has_no_trust_all_option() -> None:
    """Its SDK v1 client never reads the key (4.3.0's bytecode): the config says so."""
    with pytest.raises(KinesisConfigError) as raised:
        consumer_properties({**REGION, TRUST_ALL: "true"}, ["orders"])
    assert [p.key for p in raised.value.problems] == [TRUST_ALL]


def test_python_s_untrusted_certificate_names_the_endpoint_and_both_fixes() -> None:
    message = untrusted_certificate("https://kinesis.internal:4567", "certificate verify failed")
    assert message.startswith(
        "the TLS certificate of https://kinesis.internal:4567 is not trusted "
        "(certificate verify failed); this check runs in Python: give it your CA's PEM file "
        "in AWS_CA_BUNDLE. The job runs in the JVM: give the JVM a trust store with your CA ("
    )
    assert "-Djavax.net.ssl.trustStore=" in message
    assert "JVM_ARGS" in message and "env.java.opts.all" in message
    assert f"for development only, '{TRUST_ALL}': 'true'" in message


@pytest.mark.parametrize("cause", [
    "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
    "certification path to requested target",
    "javax.net.ssl.SSLHandshakeException: PKIX path building failed: ...",
    "java.security.cert.CertificateException: No subject alternative names matching IP "
    "address 10.0.0.1 found",
])
def test_the_jvm_s_untrusted_certificate_gets_what_to_do(cause: str) -> None:
    advice = jvm_untrusted_certificate(cause)
    assert advice is not None
    assert advice.startswith("an endpoint's TLS certificate is not trusted by the JVM; ")
    assert "-Djavax.net.ssl.trustStore=" in advice


def test_other_failures_get_no_tls_advice() -> None:
    assert jvm_untrusted_certificate("java.net.ConnectException: Connection refused") is None
