"""What a custom ``aws.endpoint`` implies for the AWS clients (pure: decides, does not apply).

Kinesis-compatible servers such as kinesalite and kinesis-mock speak the JSON protocol and
HTTP/1.1 on plain ``http://``. The connector's AWS SDKs default to CBOR, and the sink's client to
HTTP/2 with prior knowledge, which real AWS endpoints accept but those servers do not.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlparse

ENDPOINT = "aws.endpoint"
HTTP_PROTOCOL_VERSION = "aws.http.protocol.version"
# The same setting as a SQL table option; either name counts as the user's choice.
TABLE_HTTP_PROTOCOL_VERSION = "sink.http-client.protocol.version"
_AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "api.aws")

# JVM system properties that switch the SDKs inside the connector jar from CBOR to JSON.
# The SDK v1 name carries the jar's shading prefix.
JSON_PROTOCOL_SYSTEM_PROPERTIES = {
    "org.apache.flink.kinesis.shaded.com.amazonaws.sdk.disableCbor": "true",
    "aws.cborEnabled": "false",
}


def is_aws_host(endpoint: str) -> bool:
    """True when the endpoint is an AWS service host (which speaks CBOR and HTTP/2)."""
    host = (urlparse(endpoint).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in _AWS_DOMAINS)


def needs_json_protocol(properties: Mapping[str, str]) -> bool:
    """True when ``aws.endpoint`` points at a server that is not AWS."""
    endpoint = properties.get(ENDPOINT)
    return bool(endpoint) and not is_aws_host(str(endpoint))


def with_endpoint_defaults(
    properties: Mapping[str, str], protocol_key: str = HTTP_PROTOCOL_VERSION
) -> dict[str, str]:
    """Add ``protocol_key = HTTP1_1`` for a plain ``http://`` non-AWS endpoint, unless the
    user chose a protocol version (under either name). ``protocol_key`` is the DataStream key
    by default; SQL tables use :data:`TABLE_HTTP_PROTOCOL_VERSION`."""
    result = dict(properties)
    endpoint = result.get(ENDPOINT, "")
    chosen = HTTP_PROTOCOL_VERSION in result or TABLE_HTTP_PROTOCOL_VERSION in result
    if endpoint.lower().startswith("http://") and not is_aws_host(endpoint) and not chosen:
        result[protocol_key] = "HTTP1_1"
    return result
