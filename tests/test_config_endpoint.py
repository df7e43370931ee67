"""What a custom aws.endpoint implies: JSON protocol and HTTP/1.1 for local servers only."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config.endpoint import (
    is_aws_host,
    needs_json_protocol,
    with_endpoint_defaults,
)


@pytest.mark.parametrize(
    ("endpoint", "aws"),
    [
        ("https://kinesis.us-east-1.amazonaws.com", True),
        ("https://vpce-0abc-kinesis.us-east-1.vpce.amazonaws.com", True),
        ("https://kinesis.cn-north-1.amazonaws.com.cn", True),
        ("http://localhost:4567", False),
        ("https://127.0.0.1:4568", False),
        ("http://notamazonaws.com", False),
    ],
)
def test_aws_hosts_are_told_apart_from_others(endpoint: str, aws: bool) -> None:
    assert is_aws_host(endpoint) is aws
    assert needs_json_protocol({"aws.endpoint": endpoint}) is (not aws)


def test_no_endpoint_means_aws_and_no_changes() -> None:
    assert not needs_json_protocol({"aws.region": "us-east-1"})
    assert with_endpoint_defaults({"aws.region": "us-east-1"}) == {"aws.region": "us-east-1"}


def test_plain_http_local_endpoint_gets_http1_1() -> None:
    props = {"aws.region": "us-east-1", "aws.endpoint": "http://localhost:4567"}
    assert with_endpoint_defaults(props)["aws.http.protocol.version"] == "HTTP1_1"
    assert "aws.http.protocol.version" not in props  # the input is not changed


def test_tls_endpoint_and_explicit_choice_are_left_alone() -> None:
    tls = {"aws.endpoint": "https://localhost:4568"}
    assert "aws.http.protocol.version" not in with_endpoint_defaults(tls)
    chosen = {"aws.endpoint": "http://localhost:4567", "aws.http.protocol.version": "HTTP2"}
    assert with_endpoint_defaults(chosen)["aws.http.protocol.version"] == "HTTP2"
