"""``Key`` and ``KeyTable``: lookups by name, pattern keys, nesting and "did you mean" hints."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import pyflink_kinesis.config
from pyflink_kinesis.config.keys import Key, KeyTable, ValueType

TABLE = KeyTable(
    [
        Key("aws.region", ValueType.REGION, "Region."),
        Key("creds", ValueType.ENUM, "Provider.", allowed=("BASIC", "ASSUME_ROLE")),
        Key("creds.basic.secretkey", ValueType.STRING, "Secret.", secret=True),
        Key("creds.role.sessionName", ValueType.STRING, "Session."),
        Key("creds.role.provider", ValueType.ENUM, "Nested provider.", allowed=("BASIC",)),
        Key("creds.role.provider.<credential key>", ValueType.STRING, "Nested.", nests="creds"),
        Key("flink.stream.efo.consumerarn.<stream>", ValueType.ARN, "ARN per stream."),
        Key("flink.recoverable[<n>].exception", ValueType.CLASS_NAME, "Indexed."),
    ]
)


def test_find_returns_the_entry_of_a_plain_key() -> None:
    key = TABLE.find("aws.region")
    assert key is not None and key.name == "aws.region"
    assert TABLE.find("aws.regio") is None


def test_find_matches_pattern_keys_by_their_placeholders() -> None:
    key = TABLE.find("flink.stream.efo.consumerarn.my-stream")
    assert key is not None and key.type is ValueType.ARN
    assert TABLE.find("flink.stream.efo.consumerarn.") is None


def test_index_placeholders_take_indices_as_java_formats_them() -> None:
    assert TABLE.find("flink.recoverable[0].exception") is not None
    assert TABLE.find("flink.recoverable[12].exception") is not None
    assert TABLE.find("flink.recoverable[01].exception") is None
    assert TABLE.find("flink.recoverable[x].exception") is None


@pytest.mark.parametrize(
    ("name", "resolved"),
    [
        ("creds.role.provider.basic.secretkey", "creds.basic.secretkey"),
        ("creds.role.provider.role.provider", "creds.role.provider"),
        ("creds.role.provider.role.provider.role.sessionName", "creds.role.sessionName"),
    ],
)
def test_nested_keys_resolve_to_the_key_they_repeat(name: str, resolved: str) -> None:
    key = TABLE.find(name)
    assert key is not None and key.name == resolved


def test_nested_prefix_does_not_make_any_suffix_valid() -> None:
    assert TABLE.find("creds.role.provider.aws.region") is None


@pytest.mark.parametrize(
    ("misspelt", "suggestion"),
    [
        ("aws.regoin", "aws.region"),
        ("AWS.REGION", "aws.region"),
        ("creds.role.sessionname", "creds.role.sessionName"),
        ("creds.role.provider.basic.secretkye", "creds.role.provider.basic.secretkey"),
    ],
)
def test_suggest_names_the_closest_key(misspelt: str, suggestion: str) -> None:
    assert TABLE.suggest(misspelt) == suggestion


def test_suggest_gives_nothing_for_unrelated_names() -> None:
    assert TABLE.suggest("completely.different") is None


def test_secret_keys_are_secret_nested_or_not() -> None:
    assert TABLE.is_secret("creds.basic.secretkey")
    assert TABLE.is_secret("creds.role.provider.basic.secretkey")
    assert not TABLE.is_secret("aws.region")


@pytest.mark.parametrize("name", ["creds.basic.secretkye", "my.session.token", "proxyPassword"])
def test_unknown_keys_named_like_secrets_are_secret(name: str) -> None:
    assert TABLE.is_secret(name)


def test_a_table_rejects_a_key_listed_twice() -> None:
    with pytest.raises(ValueError, match=re.escape("keys listed twice: a, b.<x>")):
        KeyTable(
            [
                Key("a", ValueType.STRING, "A."),
                Key("b.<x>", ValueType.STRING, "B."),
                Key("a", ValueType.INT, "A again."),
                Key("b.<x>", ValueType.INT, "B again."),
            ]
        )


def test_pattern_properties_describe_the_template() -> None:
    key = Key("flink.stream.efo.consumerarn.<stream>", ValueType.ARN, "ARN.")
    assert key.is_pattern
    assert key.literal_prefix == "flink.stream.efo.consumerarn."
    assert not Key("aws.region", ValueType.REGION, "Region.").is_pattern


def test_config_package_imports_neither_pyflink_nor_py4j() -> None:
    package = Path(pyflink_kinesis.config.__file__).parent
    imported: set[str] = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"pyflink", "py4j"})
    assert "pyflink_kinesis" in imported  # the walk did see the package's own imports
