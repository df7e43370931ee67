"""AWS Glue Schema Registry deserialization schemas for the Kinesis consumer.

Each record starts with the registry's header (version byte 3, compression byte, the 16-byte id
of the schema version it was written with); the schema is fetched from the registry by that id
and cached. The "glue" jar set (``jars/manifest.toml``) is loaded when a schema is built.
``pyflink-kinesis docs glue`` has the details and the jars.
"""

from __future__ import annotations

from typing import Any, Mapping

from py4j.protocol import Py4JJavaError
from pyflink.common import DeserializationSchema

from pyflink_kinesis import gateway
from pyflink_kinesis._java import java_class
from pyflink_kinesis.config.avro import AvroSchemaSpec, SchemaSource, load_avro_schema
from pyflink_kinesis.config.glue import glue_properties
from pyflink_kinesis.config.secrets import mask_secrets
from pyflink_kinesis.errors import AvroSchemaError, ConfigProblem, JarResolutionError

__all__ = [
    "GlueSchemaRegistryAvroDeserializationSchema",
    "GlueSchemaRegistryJsonDeserializationSchema",
]

_AVRO_FACTORY = "io.pyflinkkinesis.glue.GlueSchemaRegistryAvro"
JSON_SCHEMA_CLASS = (
    "org.apache.flink.formats.json.glue.schema.registry.GlueSchemaRegistryJsonDeserializationSchema"
)
JSON_ARTIFACT = "org.apache.flink:flink-json-glue-schema-registry"


class GlueSchemaRegistryAvroDeserializationSchema(DeserializationSchema):  # type: ignore[misc]
    """Reads Avro records written through the AWS Glue Schema Registry.

    Each record is read with the schema version named in its header (fetched from the registry)
    and resolved to the reader schema given here, so producers may evolve their schema within the
    registry's compatibility rules. Records reach Python as ``dict``s, with the value types of
    :meth:`pyflink_kinesis.AvroDeserializationSchema.for_generic`. Build one with
    :meth:`for_generic`.
    """

    def __init__(
        self, j_deserialization_schema: Any, spec: AvroSchemaSpec, configs: Mapping[str, str]
    ) -> None:
        super().__init__(j_deserialization_schema)
        self.spec = spec
        self.configs = dict(configs)

    @staticmethod
    def for_generic(
        schema: SchemaSource, configs: Mapping[str, object]
    ) -> GlueSchemaRegistryAvroDeserializationSchema:
        """Read records as ``dict``s of the reader ``schema`` (a dict, JSON text or ``.avsc``).

        ``configs`` are the registry client's: ``region`` (required), ``endpoint``,
        ``cacheSize``, ``timeToLiveMillis`` ..., and ``aws.credentials.provider.*`` to choose
        its credentials (see ``pyflink_kinesis.config.glue.GLUE_KEYS``). Raises
        :class:`~pyflink_kinesis.AvroSchemaError` for an invalid schema and
        :class:`~pyflink_kinesis.KinesisConfigError` listing every config problem, both before
        any JVM call; :class:`~pyflink_kinesis.JarResolutionError` if the "glue" jars cannot be
        had.
        """
        spec = load_avro_schema(schema)
        properties = glue_properties(configs)
        jvm = gateway.require_extra("glue")
        j_configs = java_class(jvm, "java.util.HashMap")()
        for key, value in properties.items():
            j_configs.put(key, value)
        try:
            j_schema = java_class(jvm, _AVRO_FACTORY).forGeneric(spec.text, j_configs)
        except Py4JJavaError as exc:  # the JVM's Avro parser is stricter than our checks in places
            j_exc = exc.java_exception
            message = f"{j_exc.getClass().getSimpleName()}: {j_exc.getMessage()}"
            raise AvroSchemaError(
                [ConfigProblem(spec.name, f"{message}; fix the schema")],
                f"Avro schema ({spec.origin})",
            ) from None
        return GlueSchemaRegistryAvroDeserializationSchema(j_schema, spec, properties)

    def __repr__(self) -> str:
        return (
            f"GlueSchemaRegistryAvroDeserializationSchema({self.spec.name!r} from "
            f"{self.spec.origin}, configs={mask_secrets(self.configs)!r})"
        )


class GlueSchemaRegistryJsonDeserializationSchema(DeserializationSchema):  # type: ignore[misc]
    """Flink's ``GlueSchemaRegistryJsonDeserializationSchema`` (JSON Schema records).

    It lives in ``org.apache.flink:flink-json-glue-schema-registry``, which the Maven repository
    pyflink_kinesis is built against does not serve, so it is not in the "glue" jar set: add
    that jar yourself (``env.add_jars(...)`` before building this). Without it, building one
    raises :class:`~pyflink_kinesis.JarResolutionError` saying so, after the configs were
    validated. ``transport_name`` is the stream name (the library uses it to name schemas);
    ``java_class_name`` is what records become in Java (default: the library's
    ``JsonDataWithSchema``); PyFlink cannot pass either to Python functions, so downstream
    operators must be Java ones.
    """

    def __init__(
        self,
        transport_name: str,
        configs: Mapping[str, object],
        java_class_name: str = (
            "com.amazonaws.services.schemaregistry.serializers.json.JsonDataWithSchema"
        ),
    ) -> None:
        properties = glue_properties(configs)
        jvm = gateway.require_extra("glue")
        loader = jvm.Thread.currentThread().getContextClassLoader()
        try:
            jvm.Class.forName(JSON_SCHEMA_CLASS, False, loader)
        except Py4JJavaError:
            raise JarResolutionError(
                f"GlueSchemaRegistryJsonDeserializationSchema needs {JSON_ARTIFACT} (for Flink "
                "1.20: 5.0.0-1.20) and its JSON Schema dependencies (everit-json-schema, "
                "mbknor-jackson-jsonschema_2.12, Jackson), which are not in pyflink_kinesis's "
                "'glue' jar set: the Maven repository it is built against does not serve that "
                "artifact. Add the jars with env.add_jars('file:///path/to/jar', ...) before "
                "building this schema, or use GlueSchemaRegistryAvroDeserializationSchema for "
                "Avro records."
            ) from None
        j_configs = java_class(jvm, "java.util.HashMap")()
        for key, value in properties.items():
            j_configs.put(key, value)
        j_class = jvm.Class.forName(java_class_name, True, loader)
        super().__init__(java_class(jvm, JSON_SCHEMA_CLASS)(j_class, transport_name, j_configs))
        self.configs = properties
        self.transport_name = transport_name
        self.java_class_name = java_class_name

    def __repr__(self) -> str:
        return (
            f"GlueSchemaRegistryJsonDeserializationSchema({self.transport_name!r}, "
            f"configs={mask_secrets(self.configs)!r}, java_class_name={self.java_class_name!r})"
        )
