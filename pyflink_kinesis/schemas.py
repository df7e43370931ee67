"""Schemas that turn Kinesis record bytes into Python values, and typed values into bytes.

* :class:`AvroDeserializationSchema`: bare Avro binary (no container header), schema supplied.
* :class:`TypeInformationSerializationSchema`: Flink's own binary format for a known type, for
  data written and read by Flink jobs; usable by the consumer and by ``KinesisStreamsSink``.
* :class:`RowFieldSerializationSchema`: for ``KinesisStreamsSink``, one field of Row records
  (the payload next to a partition key field).

For JSON use PyFlink's ``JsonRowDeserializationSchema`` (``pyflink.datastream.formats.json``);
the consumer takes it as it is. ``pyflink-kinesis docs deserialization`` compares them all.
"""

from __future__ import annotations

from typing import Any, Literal

from py4j.protocol import Py4JJavaError
from pyflink.common import DeserializationSchema, SerializationSchema, TypeInformation

from pyflink_kinesis import gateway
from pyflink_kinesis._java import java_class, own_class
from pyflink_kinesis.config.avro import (
    AvroSchemaSpec,
    SchemaSource,
    load_avro_schema,
    row_output_problems,
)
from pyflink_kinesis.config.partition_keys import field_problem
from pyflink_kinesis.errors import AvroSchemaError, ConfigProblem

__all__ = [
    "AvroDeserializationSchema",
    "AvroOutput",
    "RowFieldSerializationSchema",
    "TypeInformationSerializationSchema",
]

AvroOutput = Literal["dict", "row"]

_AVRO = "org.apache.flink.avro.shaded.org.apache.avro"  # Avro as shaded in flink-sql-avro
_FORMATS = "org.apache.flink.formats.avro"
_RECORD_FIELD = "io.pyflinkkinesis.RecordField"
_ROW_FIELD_SCHEMA = "io.pyflinkkinesis.RowFieldSerializationSchema"


class AvroDeserializationSchema(DeserializationSchema):  # type: ignore[misc]
    """Reads each Kinesis record as one Avro-encoded record (binary encoding, no header).

    The writer's schema is not in the record: the schema given here is used to read every
    record, so records must be written with exactly this schema (fastavro's
    ``schemaless_writer``, Java's ``BinaryEncoder``...). Build one with :meth:`for_generic` or
    :meth:`for_specific`.
    """

    def __init__(self, j_deserialization_schema: Any, spec: AvroSchemaSpec, output: str) -> None:
        super().__init__(j_deserialization_schema)
        self.spec = spec
        self.output = output

    @staticmethod
    def for_generic(
        schema: SchemaSource, output: AvroOutput = "dict"
    ) -> AvroDeserializationSchema:
        """Read records of this Avro record schema (a dict, JSON text or an ``.avsc`` path).

        ``output="dict"`` (default) uses Flink's ``AvroDeserializationSchema.forGeneric``:
        each record reaches Python as a ``dict`` through PyFlink's Avro coder. Every Avro
        schema works. Values: ``str``, ``int`` (int, long), ``float`` (float, double),
        ``bool``, ``None`` (null, and the null branch of any union), ``bytes`` (bytes,
        fixed), ``str`` (enum symbol), ``list`` (array), ``dict`` (map, nested record).
        Logical types keep their underlying Avro value: timestamp-millis/-micros are ``int``
        since the epoch, date is ``int`` days since the epoch, decimal is its unscaled
        two's-complement ``bytes``.

        ``output="row"`` uses Flink's ``AvroRowDeserializationSchema``: each record is a
        ``Row`` with the schema's field names (nested records are Rows too) and logical types
        are converted: timestamp-millis/-micros to naive ``datetime`` in UTC, date to
        ``date``, time-millis to ``time``, decimal to ``Decimal``. Unions may only be
        ``["null", X]`` (checked here).

        Raises :class:`~pyflink_kinesis.AvroSchemaError` (a ``ValueError``) before any JVM
        call when the schema is unreadable or invalid, naming each problem.
        """
        spec = load_avro_schema(schema)
        return _avro_schema(spec, output)

    @staticmethod
    def for_specific(java_class_name: str) -> AvroDeserializationSchema:
        """Read records of the schema of an Avro-generated Java class; records become Rows.

        Python cannot use instances of the Java class, so the class serves as the schema: its
        static ``SCHEMA$`` is read on the client and records are read as with
        ``for_generic(schema, output="row")``. The class (and, if it was generated against
        plain ``org.apache.avro``, an Avro jar) must be loadable in the client JVM: add its jar
        first with ``env.add_jars("file:///path/to/records.jar")``. The class is not needed
        where the job runs.

        Raises :class:`~pyflink_kinesis.AvroSchemaError` if the class cannot be loaded, is not
        Avro-generated, or its schema cannot be read as Rows.
        """
        subject = f"Avro specific record class {java_class_name!r}"
        jvm = gateway.jvm()
        try:
            loader = jvm.Thread.currentThread().getContextClassLoader()
            j_class = jvm.Class.forName(java_class_name, True, loader)
        except Py4JJavaError as exc:
            raise AvroSchemaError([ConfigProblem(java_class_name, (
                f"cannot be loaded ({_java_message(exc)}): add the jar that holds it, and "
                "for classes generated against org.apache.avro also an org.apache.avro:avro "
                "jar, with env.add_jars('file:///path/to/records.jar') before for_specific"
            ))], subject) from None
        try:
            text = str(j_class.getField("SCHEMA$").get(None).toString())
        except Py4JJavaError:
            raise AvroSchemaError([ConfigProblem(java_class_name, (
                "is not an Avro-generated class (no public static SCHEMA$ field): pass a class "
                "generated from an .avsc by avro-tools or the avro-maven-plugin, or use "
                "for_generic with the schema"
            ))], subject) from None
        return _avro_schema(load_avro_schema(text, origin=f"class {java_class_name}"), "row")

    def __repr__(self) -> str:
        return f"AvroDeserializationSchema({self.spec.name!r} from {self.spec.origin}, " \
            f"output={self.output!r})"


def _avro_schema(spec: AvroSchemaSpec, output: str) -> AvroDeserializationSchema:
    """Check that ``output`` suits the schema, then create the Java schema once."""
    if output not in ("dict", "row"):
        problems = [ConfigProblem("output", f"must be 'dict' or 'row', not {output!r}")]
    else:
        problems = row_output_problems(spec.definition) if output == "row" else []
    if problems:
        raise AvroSchemaError(problems, f"Avro schema ({spec.origin})")
    jvm = gateway.jvm()
    try:
        if output == "row":
            j_schema = java_class(jvm, f"{_FORMATS}.AvroRowDeserializationSchema")(spec.text)
        else:
            parsed = java_class(jvm, f"{_AVRO}.Schema").Parser().parse(spec.text)
            j_schema = java_class(jvm, f"{_FORMATS}.AvroDeserializationSchema").forGeneric(parsed)
    except Py4JJavaError as exc:  # the JVM's Avro parser is stricter than our checks in places
        raise AvroSchemaError(
            [ConfigProblem(spec.name, f"{_java_message(exc)}; fix the schema")],
            f"Avro schema ({spec.origin})",
        ) from None
    return AvroDeserializationSchema(j_schema, spec, output)


def _java_message(exc: Py4JJavaError) -> str:
    j_exc = exc.java_exception
    return f"{j_exc.getClass().getSimpleName()}: {j_exc.getMessage()}"


class TypeInformationSerializationSchema(SerializationSchema, DeserializationSchema):  # type: ignore[misc]
    """Flink's own binary format for values of one type, both ways.

    Use it for Kinesis data written and read by Flink jobs: as the sink's schema
    (``KinesisStreamsSink.builder().set_serialization_schema(...)``) and as the consumer's
    deserializer, with the same ``type_info``. The sink's input must be declared with that
    type (``.map(f, output_type=type_info)``); records then reach Python as the values of that
    type (``Row``, ``tuple``, ``int``...). The bytes are Flink's serializer format for the type,
    not meant for other readers, and change if the type changes.
    """

    def __init__(self, type_info: TypeInformation) -> None:
        if not isinstance(type_info, TypeInformation):
            raise TypeError(
                f"type_info must be a pyflink TypeInformation (e.g. Types.ROW([...])), "
                f"not {type(type_info).__name__}"
            )
        jvm = gateway.jvm()
        execution_config = java_class(jvm, "org.apache.flink.api.common.ExecutionConfig")()
        j_schema = java_class(
            jvm, "org.apache.flink.api.common.serialization.TypeInformationSerializationSchema"
        )(type_info.get_java_type_info(), execution_config)
        SerializationSchema.__init__(self, j_schema)
        DeserializationSchema.__init__(self, j_schema)
        self.type_info = type_info

    def __repr__(self) -> str:
        return f"TypeInformationSerializationSchema({self.type_info})"


class RowFieldSerializationSchema(SerializationSchema):  # type: ignore[misc]
    """Writes one field of each Row record as the Kinesis record's data.

    With :meth:`PartitionKeyGenerator.from_field` on another field, this keys records by any
    Python function: map each record to ``Row(key, payload)`` (``output_type=Types.ROW(...)``),
    key the sink by field 0 and write field 1. ``field`` is a name (named Rows) or a position
    from 0. Without ``schema`` the field must be a STRING (written as UTF-8) or bytes
    (``Types.PRIMITIVE_ARRAY(Types.BYTE())``, written as they are); with one, ``schema``
    serializes the field's value. A missing or null field fails the job, naming the field.
    """

    def __init__(self, field: str | int, schema: SerializationSchema | None = None) -> None:
        problem = field_problem(field)
        if problem is not None:
            raise ValueError(f"RowFieldSerializationSchema field: {problem}")
        if schema is not None and not isinstance(schema, SerializationSchema):
            raise TypeError(
                "RowFieldSerializationSchema schema must be a pyflink SerializationSchema "
                f"(like SimpleStringSchema()) or None, not {type(schema).__name__}"
            )
        jvm = gateway.jvm()
        fields = own_class(jvm, _RECORD_FIELD, "RowFieldSerializationSchema")
        j_field = fields.position(field) if isinstance(field, int) else fields.name(field)
        j_schema = None if schema is None else schema._j_serialization_schema
        super().__init__(own_class(jvm, _ROW_FIELD_SCHEMA, "RowFieldSerializationSchema")(
            j_field, j_schema
        ))
        self._description = f"RowFieldSerializationSchema({field!r}, {schema!r})"

    def __repr__(self) -> str:
        return self._description
