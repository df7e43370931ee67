"""application_properties(): the runtime property groups, from the service's file format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyflink_kinesis import properties
from pyflink_kinesis.properties import ApplicationPropertiesError, application_properties

# The format Managed Service for Apache Flink writes to /etc/flink/application_properties.json.
SERVICE_FILE = [
    {"PropertyGroupId": "kinesis.analytics.flink.run.options",
     "PropertyMap": {"python": "app.py", "jarfile": "lib/pyflink-kinesis-dependencies.jar"}},
    {"PropertyGroupId": "InputStream",
     "PropertyMap": {"stream.name": "orders", "aws.region": "eu-west-1"}},
]


@pytest.fixture
def no_service_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    missing = tmp_path / "etc" / "application_properties.json"
    monkeypatch.setattr(properties, "SERVICE_PATH", missing)
    monkeypatch.delenv(properties.ENV_PATH, raising=False)
    return missing


def write(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def test_the_service_file_is_read_first(no_service_file: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write(no_service_file, SERVICE_FILE)
    monkeypatch.setenv(properties.ENV_PATH, str(write(tmp_path / "local.json", [])))
    groups = application_properties()
    assert groups["InputStream"] == {"stream.name": "orders", "aws.region": "eu-west-1"}
    assert groups["kinesis.analytics.flink.run.options"]["python"] == "app.py"


def test_elsewhere_the_file_named_by_the_environment_or_the_argument(
    no_service_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = write(tmp_path / "local.json", [
        {"PropertyGroupId": "InputStream", "PropertyMap": {"shards": 4, "efo": True}},
    ])
    monkeypatch.setenv(properties.ENV_PATH, str(local))
    assert application_properties() == {"InputStream": {"shards": "4", "efo": "true"}}
    other = write(tmp_path / "other.json", SERVICE_FILE)
    assert "InputStream" in application_properties(other)


def test_no_file_anywhere_says_where_it_looked(no_service_file: Path) -> None:
    with pytest.raises(ApplicationPropertiesError) as raised:
        application_properties()
    assert str(no_service_file) in str(raised.value)
    assert properties.ENV_PATH in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"InputStream": {}}, "holds dict; a JSON list of"),
        ([{"PropertyMap": {}}], "entry 0 has no PropertyGroupId"),
        ([{"PropertyGroupId": "a", "PropertyMap": []}], "entry 0 (a): PropertyMap is not an"),
        ([{"PropertyGroupId": "a"}, {"PropertyGroupId": "a"}], "entry 1: group 'a' is given"),
    ],
    ids=["not-a-list", "no-id", "map-not-object", "twice"],
)
def test_a_malformed_file_is_named_with_the_entry(
    tmp_path: Path, content: object, message: str
) -> None:
    path = write(tmp_path / "p.json", content)
    with pytest.raises(ApplicationPropertiesError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")) as raised:
        application_properties(path)
    assert str(path) in str(raised.value)


def test_text_that_is_not_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("[{")
    with pytest.raises(ApplicationPropertiesError, match="is not valid JSON"):
        application_properties(path)
