"""Loading and checking Avro schemas in pure Python (pyflink_kinesis.config.avro): no JVM."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from pyflink_kinesis.config.avro import load_avro_schema, row_output_problems
from pyflink_kinesis.errors import AvroSchemaError, KinesisConfigError

ORDER: dict[str, Any] = {
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string"},
        ]}},
        {"name": "previous", "type": ["null", "Address"]},
        {"name": "also_previous", "type": ["null", "shop.Address"]},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "counts", "type": {"type": "map", "values": "long"}},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["A", "B"]}},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 16}},
        {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}


def problems_of(schema: Any) -> list[tuple[str, str]]:
    with pytest.raises(AvroSchemaError) as caught:
        load_avro_schema(schema)
    return [(p.key, p.message) for p in caught.value.problems]


def record(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": list(fields), **extra}


def test_a_dict_is_loaded_as_it_is() -> None:
    spec = load_avro_schema(ORDER)
    assert json.loads(spec.text) == ORDER
    assert spec.definition == ORDER
    assert spec.name == "shop.Order"
    assert spec.origin == "dict"


def test_json_text_is_parsed() -> None:
    spec = load_avro_schema("\n  " + json.dumps(ORDER, indent=2))
    assert spec.definition == ORDER
    assert spec.origin == "JSON text"


@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
def test_an_avsc_path_is_read(tmp_path: Path, as_path: type[Any]) -> None:
    avsc = tmp_path / "order.avsc"
    avsc.write_text(json.dumps(ORDER), encoding="utf-8")
    spec = load_avro_schema(as_path(avsc))
    assert spec.definition == ORDER
    assert spec.origin == f"file {avsc}"


def test_a_missing_file_names_the_path_and_how_inline_schemas_are_passed(tmp_path: Path) -> None:
    missing = tmp_path / "nope.avsc"
    [(key, message)] = problems_of(str(missing))
    assert key == str(missing)
    assert "cannot read the schema file (No such file or directory)" in message
    assert "dict or JSON text" in message


def test_invalid_json_text_gives_line_and_column() -> None:
    [(key, message)] = problems_of('{"type": "record",\n "name": }')
    assert key == "schema text"
    assert message.startswith("invalid JSON at line 2, column 10")


def test_invalid_json_in_a_file_names_the_file(tmp_path: Path) -> None:
    avsc = tmp_path / "bad.avsc"
    avsc.write_text("{not json", encoding="utf-8")
    with pytest.raises(AvroSchemaError) as caught:
        load_avro_schema(avsc)
    assert caught.value.problems[0].key == str(avsc)
    assert f"file {avsc}" in str(caught.value)


def test_a_value_of_another_type_is_rejected() -> None:
    [(key, message)] = problems_of(42)
    assert (key, message.split(";")[0]) == ("schema", "got int")


@pytest.mark.parametrize("schema", ['"string"', '["null", "long"]', {"type": "enum"}])
def test_the_top_level_type_must_be_a_record(schema: Any) -> None:
    [(key, message)] = problems_of(schema)
    assert key == "schema"
    assert "the top-level type must be a record" in message


def test_every_problem_is_reported_at_once_with_its_place() -> None:
    schema = record(
        {"name": "a", "type": "strng"},
        {"name": "b", "type": {"type": "array"}},
        {"name": "c", "type": {"type": "map", "items": "int"}},
        {"name": "a", "type": "int"},
        {"name": "1d", "type": "int"},
        {"type": "int"},
        {"name": "e"},
        {"name": "f", "type": ["null", "int", "null"]},
        {"name": "g", "type": ["null", ["int"]]},
        {"name": "h", "type": {"type": "enum", "name": "E", "symbols": ["X", "X", "1"]}},
        {"name": "i", "type": {"type": "fixed", "name": "F", "size": -1}},
        {"name": "j", "type": {"type": "record", "name": "R", "fields": []}},
        {"name": "k", "type": {"logicalType": "date"}},
    )
    assert problems_of(schema) == [
        ("R.a", "unknown type 'strng': use a primitive type (null, boolean, int, long, float, "
         "double, bytes, string) or a record, enum or fixed defined earlier"),
        ("R.b", "an array needs 'items'"),
        ("R.c", "a map needs 'values'"),
        ("R.a", "the field 'a' appears twice"),
        ("R.1d", "a field needs a 'name' of letters, digits and _ (not starting with a digit), "
         "got '1d'"),
        ("R.fields[5]", "a field needs a 'name' of letters, digits and _ (not starting with a "
         "digit), got None"),
        ("R.e", "a field needs a 'type'"),
        ("R.f[2]", "the union lists 'null' twice"),
        ("R.g[1]", "a union cannot directly contain another union"),
        ("R.h", "enum symbols must be names (letters, digits, _), got ['1']"),
        ("R.h", "enum symbols appear twice: ['X']"),
        ("R.i", "a fixed needs a non-negative integer 'size', got -1"),
        ("R.j", "the type 'R' is defined twice; refer to it by name instead"),
        ("R.k", "a type object needs a 'type'"),
    ]


def test_a_record_needs_a_name_and_fields() -> None:
    assert problems_of({"type": "record", "fields": []}) == [
        ("schema", "a record needs a 'name' of letters, digits and _ (not starting with a "
         "digit), got None"),
    ]
    assert problems_of({"type": "record", "name": "R"}) == [
        ("R", "a record needs a 'fields' list, got None"),
    ]


def test_named_types_resolve_in_their_namespace() -> None:
    assert load_avro_schema(ORDER).name == "shop.Order"
    [(key, message)] = problems_of(record(
        {"name": "a", "type": {"type": "enum", "name": "E", "namespace": "x", "symbols": ["A"]}},
        {"name": "b", "type": "E"},
    ))
    assert (key, message.split(":")[0]) == ("R.b", "unknown type 'E'")


def test_a_union_default_must_be_of_its_first_type() -> None:
    assert problems_of(record(
        {"name": "a", "type": ["null", "string"], "default": "x"},
        {"name": "b", "type": ["string", "null"], "default": None},
    )) == [
        ("R.a", "the default \"x\" does not match the union's first type 'null': a union's "
         "default must be of its first type, so reorder the union or change the default"),
        ("R.b", "the default null does not match the union's first type 'string': a union's "
         "default must be of its first type, so reorder the union or change the default"),
    ]


def test_fastavro_checks_what_remains_such_as_defaults() -> None:
    [(key, message)] = problems_of(record({"name": "a", "type": "int", "default": "one"}))
    assert key == "R"
    assert "Default value <one> must match schema type: int" in message


def test_the_error_is_a_config_error_and_a_value_error_and_pickles() -> None:
    with pytest.raises(AvroSchemaError) as caught:
        load_avro_schema(record({"name": "a", "type": "nope"}))
    error = caught.value
    assert isinstance(error, KinesisConfigError)
    assert isinstance(error, ValueError)
    assert str(error).startswith("1 problem in the Avro schema (dict):\n  - 'R.a': unknown type")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.problems, copy.subject) == (error.problems, error.subject)


def test_row_output_accepts_nullable_unions_and_rejects_wider_ones() -> None:
    assert row_output_problems(ORDER) == []
    schema = record(
        {"name": "a", "type": ["null", "long", "string"]},
        {"name": "b", "type": {"type": "array", "items": ["int", "string"]}},
        {"name": "c", "type": {"type": "map", "values": {"type": "record", "name": "In",
                                                         "fields": [{"name": "d",
                                                                     "type": ["int", "In"]}]}}},
    )
    assert [(p.key, p.message.split(" has ")[0]) for p in row_output_problems(schema)] == [
        ("R.a", "union of long, string"),
        ("R.b.items", "union of int, string"),
        ("R.c.values.d", "union of int, In"),
    ]
    assert "use output='dict'" in row_output_problems(schema)[0].message
