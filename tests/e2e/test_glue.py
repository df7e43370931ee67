"""AWS Glue Schema Registry schemas in real jobs: kinesalite for Kinesis, moto for the registry.

Records are produced here as a Glue Schema Registry serializer writes them (header byte 3, a
compression byte, the 16-byte schema version id, then the Avro binary, zlib-deflated when the
compression byte is 5), with schemas registered in moto's Glue registry. The job reads them with
the consumer, turns each dict into JSON in Python and writes it to a second stream with
KinesisStreamsSink; what arrived is read back with boto3.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zlib
from collections import Counter
from typing import Any, Callable

import fastavro
import pytest
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    JarResolutionError,
    KinesisConfigError,
    KinesisConfigWarning,
)
from pyflink_kinesis.glue import (
    JSON_ARTIFACT,
    GlueSchemaRegistryAvroDeserializationSchema,
    GlueSchemaRegistryJsonDeserializationSchema,
)
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import start, string_sink
from tests.support.moto_fixtures import LocalGlueRegistry

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0

READING_V1 = {
    "type": "record", "name": "Reading", "namespace": "test.glue",
    "fields": [
        {"name": "sensor", "type": "string"},
        {"name": "value", "type": "double"},
        {"name": "count", "type": "long"},
        {"name": "labels", "type": {"type": "array", "items": "string"}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
# Version 2 adds a field with a default (BACKWARD compatible); it is the job's reader schema.
READING_V2 = {
    **READING_V1,
    "fields": [*READING_V1["fields"], {"name": "unit", "type": "string", "default": "celsius"}],
}


def gsr_encode(version_id: uuid.UUID, schema: dict[str, Any], record: dict[str, Any],
               compress: bool = False) -> bytes:
    """``record`` as a Glue Schema Registry serializer writes it."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)
    payload = zlib.compress(body.getvalue()) if compress else body.getvalue()
    return bytes([3, 5 if compress else 0]) + version_id.bytes + payload


def glue_configs(registry: LocalGlueRegistry) -> dict[str, object]:
    return {
        "region": registry.region,
        "endpoint": registry.endpoint,
        "aws.credentials.provider": "BASIC",
        "aws.credentials.provider.basic.accesskeyid": "local-access-key",
        "aws.credentials.provider.basic.secretkey": "local-secret-key",
        "cacheSize": 10,
    }


def test_gsr_avro_records_of_two_schema_versions_are_read_with_the_reader_schema(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    glue_registry: LocalGlueRegistry,
) -> None:
    schema_id, v1 = glue_registry.create_avro_schema(READING_V1)
    v2 = glue_registry.register_version(schema_id, READING_V2)
    old = [
        {"sensor": f"s{i % 7}", "value": i / 4, "count": 2**40 + i, "labels": ["a"] * (i % 3),
         "note": None if i % 2 else f"note {i}"}
        for i in range(60)
    ]
    new = [
        {"sensor": "ü-sensor", "value": -i * 1.5, "count": -i, "labels": [], "note": "n",
         "unit": "kelvin"}
        for i in range(60)
    ]
    records = [gsr_encode(v1, READING_V1, r, compress=i % 2 == 0) for i, r in enumerate(old)]
    records += [gsr_encode(v2, READING_V2, r, compress=i % 3 == 0) for i, r in enumerate(new)]
    source, out = stream_factory(2), stream_factory(1)
    local_kinesis.put_records(source, records, [f"key-{i}" for i in range(len(records))])

    schema = GlueSchemaRegistryAvroDeserializationSchema.for_generic(
        READING_V2, glue_configs(glue_registry)
    )
    consumer = FlinkKinesisConsumer(
        source, schema, {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    env.add_source(consumer).map(
        lambda d: json.dumps(d, sort_keys=True), output_type=Types.STRING()
    ).sink_to(string_sink(aws_config, out))
    job = start(env, "glue-avro")
    try:
        job.wait_for(
            lambda: len(local_kinesis.read_all(out)) >= len(records) or None, TIMEOUT_S,
            f"{len(records)} records in {out}",
        )
        time.sleep(2.0)  # a duplicate would arrive within the sink's 100 ms flush interval
    finally:
        job.cancel()

    expected = [{**r, "unit": "celsius"} for r in old] + new
    got = Counter(r.text for r in local_kinesis.read_all(out))
    assert got == Counter(json.dumps(r, sort_keys=True) for r in expected)


def test_configs_are_checked_before_the_jvm_and_the_repr_masks_secrets(
    glue_registry: LocalGlueRegistry,
) -> None:
    with pytest.raises(KinesisConfigError) as error, \
            pytest.warns(KinesisConfigWarning, match="accesskeyid': missing") as lone_key:
        GlueSchemaRegistryAvroDeserializationSchema.for_generic(
            READING_V1, {"endpiont": glue_registry.endpoint, "cacheSize": "many",
                         "aws.credentials.provider.basic.secretkey": "s3cr3t"},
        )
    keys = {problem.key for problem in error.value.problems}
    assert keys == {"endpiont", "cacheSize", "region"}
    assert "s3cr3t" not in str(error.value) + str(lone_key[0].message)

    schema = GlueSchemaRegistryAvroDeserializationSchema.for_generic(
        READING_V1, glue_configs(glue_registry)
    )
    assert "local-secret-key" not in repr(schema)
    assert "test.glue.Reading" in repr(schema)
    assert "GenericRecord" in str(schema._j_deserialization_schema.getProducedType())


def test_json_schema_names_the_missing_artifact(
    glue_registry: LocalGlueRegistry,
) -> None:
    with pytest.raises(KinesisConfigError):
        GlueSchemaRegistryJsonDeserializationSchema("stream", {"cacheSize": 0})
    with pytest.raises(JarResolutionError, match=JSON_ARTIFACT):
        GlueSchemaRegistryJsonDeserializationSchema("stream", glue_configs(glue_registry))
