"""pyflink_kinesis.schemas without jobs: what is checked before the JVM, and the JVM-side errors.

The real reading and writing is in tests/e2e/test_deserialization.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyflink.common import Types

from pyflink_kinesis import gateway
from pyflink_kinesis.errors import AvroSchemaError
from pyflink_kinesis.schemas import AvroDeserializationSchema, TypeInformationSerializationSchema

pytestmark = pytest.mark.jvm

SCHEMA: dict[str, Any] = {
    "type": "record", "name": "R", "fields": [{"name": "a", "type": ["null", "long", "string"]}],
}


def test_a_bad_schema_fails_before_the_jvm_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_jvm() -> None:
        raise AssertionError("the JVM was asked")

    monkeypatch.setattr(gateway, "jvm", no_jvm)
    with pytest.raises(AvroSchemaError, match="unknown type 'nope'"):
        AvroDeserializationSchema.for_generic({"type": "record", "name": "R",
                                               "fields": [{"name": "a", "type": "nope"}]})
    with pytest.raises(AvroSchemaError, match=r"'R\.a': union of long, string"):
        AvroDeserializationSchema.for_generic(SCHEMA, output="row")
    with pytest.raises(AvroSchemaError, match="'output': must be 'dict' or 'row', not 'rows'"):
        AvroDeserializationSchema.for_generic(SCHEMA, output="rows")  # type: ignore[arg-type]


def test_for_generic_builds_the_java_schema_of_each_output() -> None:
    row_schema = {**SCHEMA, "fields": [{"name": "a", "type": ["null", "long"]}]}
    generic = AvroDeserializationSchema.for_generic(SCHEMA)
    rows = AvroDeserializationSchema.for_generic(row_schema, output="row")

    assert generic._j_deserialization_schema.getClass().getSimpleName() == \
        "AvroDeserializationSchema"
    assert "GenericRecord" in str(generic._j_deserialization_schema.getProducedType())
    assert str(rows._j_deserialization_schema.getProducedType()) == "Row(a: Long)"
    assert repr(generic) == "AvroDeserializationSchema('R' from dict, output='dict')"


def test_what_only_the_jvm_parser_rejects_is_still_an_avro_schema_error() -> None:
    # fastavro does not check the items of an array default; Avro's Java parser does.
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "e", "type": {"type": "array", "items": "int"}, "default": [1, "x"]},
    ]}
    with pytest.raises(AvroSchemaError) as caught:
        AvroDeserializationSchema.for_generic(schema)
    assert str(caught.value) == (
        "1 problem in the Avro schema (dict):\n  - 'R': AvroTypeException: Invalid default for "
        'field e: [1,"x"] not a {"type":"array","items":"int"}; fix the schema'
    )


def test_for_specific_names_the_jar_to_add_when_the_class_is_missing() -> None:
    with pytest.raises(AvroSchemaError) as caught:
        AvroDeserializationSchema.for_specific("com.example.Missing")
    message = str(caught.value)
    assert "'com.example.Missing': cannot be loaded (ClassNotFoundException" in message
    assert "env.add_jars('file:///path/to/records.jar')" in message


def test_for_specific_rejects_a_class_that_is_not_avro_generated() -> None:
    with pytest.raises(AvroSchemaError, match="is not an Avro-generated class"):
        AvroDeserializationSchema.for_specific("java.lang.String")


def test_type_information_schema_is_both_schemas_of_the_given_type() -> None:
    row_type = Types.ROW_NAMED(["id", "name"], [Types.INT(), Types.STRING()])
    schema = TypeInformationSerializationSchema(row_type)

    assert schema._j_serialization_schema is schema._j_deserialization_schema
    assert str(schema._j_deserialization_schema.getProducedType()) == \
        "Row(id: Integer, name: String)"
    with pytest.raises(TypeError, match="type_info must be a pyflink TypeInformation"):
        TypeInformationSerializationSchema("ROW<id INT>")
