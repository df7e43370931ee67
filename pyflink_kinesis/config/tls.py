"""TLS trust: what a job needs to reach an ``https://`` endpoint whose certificate a private CA
signed, and what to tell a user whose endpoint's certificate is not trusted (pure: no JVM).

The connector's clients take no trust store of their own: the consumer's (AWS SDK v1, Apache
HTTP client), the FLIP-27 source's (SDK v2, Apache) and the sinks' (SDK v2, Netty) all verify
certificates with the JVM's default trust store, which the standard JSSE system properties
choose. So a private CA is trusted per JVM: ``JVM_ARGS`` for a local job (PyFlink starts its
Java gateway, which runs the mini-cluster, with them), ``env.java.opts.all`` on a cluster.
"""

from __future__ import annotations

from pyflink_kinesis.config.validation import CheckedProperties, Problems

TRUST_ALL_CERTIFICATES = "aws.trust.all.certificates"

#: The JVM options that trust the CAs in a trust store instead of the JDK's own ones.
TRUST_STORE_OPTIONS = (
    "-Djavax.net.ssl.trustStore=/path/to/truststore.p12 "
    "-Djavax.net.ssl.trustStorePassword=... -Djavax.net.ssl.trustStoreType=PKCS12"
)

# How the JVM says a certificate chain does not end at a CA it trusts (sun.security's PKIX
# validator, under SSLHandshakeException), and how it says the name does not match.
_JVM_UNTRUSTED = (
    "unable to find valid certification path to requested target",
    "PKIX path building failed",
    "PKIX path validation failed",
    "No subject alternative names",
    "No name matching",
)

_WHAT_TO_DO = (
    f"give the JVM a trust store with your CA ({TRUST_STORE_OPTIONS}: in JVM_ARGS for a "
    "local job, in env.java.opts.all of the cluster's config for a cluster job); for "
    f"development only, '{TRUST_ALL_CERTIFICATES}': 'true' turns the sinks' certificate "
    "checks off. See `pyflink-kinesis docs deploy`, section \"Trusting a private CA\""
)


def untrusted_certificate(endpoint: str, detail: str) -> str:
    """The message for an endpoint whose certificate Python's check did not trust."""
    return (
        f"the TLS certificate of {endpoint} is not trusted ({detail}); this check runs in "
        f"Python: give it your CA's PEM file in AWS_CA_BUNDLE. The job runs in the JVM: "
        f"{_WHAT_TO_DO}"
    )


def jvm_untrusted_certificate(cause: str) -> str | None:
    """What to do, when a Java failure's cause text says a TLS certificate is not trusted."""
    if not any(marker in cause for marker in _JVM_UNTRUSTED):
        return None
    return f"an endpoint's TLS certificate is not trusted by the JVM; {_WHAT_TO_DO}"


def check_tls(checked: CheckedProperties, problems: Problems) -> None:
    """Warn that ``aws.trust.all.certificates = true`` is for development only."""
    if checked.values.get(TRUST_ALL_CERTIFICATES) is True:
        problems.doubt(
            TRUST_ALL_CERTIFICATES,
            "true turns off the certificate checks of the sink's TLS connections: any server "
            "on the way can pose as the endpoint and read the records and the request "
            "signatures. Use it for development only; trust a private CA with a trust store "
            "instead (`pyflink-kinesis docs deploy`, section \"Trusting a private CA\")",
        )
