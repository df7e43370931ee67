"""A private certificate authority for TLS tests, made the way a company's CA is handed out.

``PrivateCA(directory)`` writes, in ``directory``:

* ``ca.pem``: the CA's certificate (what a user gets from their company), for Python clients
  (boto3's ``verify=`` or ``AWS_CA_BUNDLE``);
* ``truststore.p12``: a PKCS12 trust store holding that certificate, made with the JDK's
  ``keytool``, for the JVM (``-Djavax.net.ssl.trustStore=...``), password ``TRUST_STORE_PASSWORD``;
* ``server.pem`` and ``server-key.pem``: a server certificate for ``127.0.0.1`` and
  ``localhost`` signed by the CA, and its key, for the local servers.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TRUST_STORE_PASSWORD", "PrivateCA"]

TRUST_STORE_PASSWORD = "changeit"
_VALID = datetime.timedelta(days=2)


class PrivateCA:
    """A CA and one server certificate for 127.0.0.1/localhost, written under ``directory``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_pem = directory / "ca.pem"
        self.trust_store = directory / "truststore.p12"
        self.server_pem = directory / "server.pem"
        self.server_key_pem = directory / "server-key.pem"
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyflink-kinesis test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                              content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALID)
            .add_extension(
                x509.SubjectAlternativeName([
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.server_pem.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        self.server_key_pem.write_bytes(server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
        self.trust_store.unlink(missing_ok=True)  # keytool adds to an existing store
        keytool = shutil.which("keytool") or "keytool"
        subprocess.run(
            [keytool, "-importcert", "-noprompt", "-alias", "private-ca",
             "-file", str(self.ca_pem), "-keystore", str(self.trust_store),
             "-storetype", "PKCS12", "-storepass", TRUST_STORE_PASSWORD],
            check=True, capture_output=True,
        )

    def jvm_args(self) -> str:
        """The JVM options that make a JVM trust this CA (and only it), for ``JVM_ARGS``."""
        return (
            f"-Djavax.net.ssl.trustStore={self.trust_store} "
            f"-Djavax.net.ssl.trustStorePassword={TRUST_STORE_PASSWORD} "
            "-Djavax.net.ssl.trustStoreType=PKCS12"
        )
