"""Deserialization schemas in real jobs: Avro (generic dicts, generic Rows, specific class), JSON
rows, and Flink's TypeInformation format written by the sink and read back by the consumer.

Each reading job maps every record, in Python, to sorted-key JSON of what Python received and
writes it to an output stream; the test reads that back with boto3 and compares it exactly with
the same rendering of the values it wrote.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import shutil
import subprocess
import time
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Sequence

import fastavro
import pytest
from pyflink.common import Row, Types
from pyflink.common.serialization import DeserializationSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.formats.json import JsonRowDeserializationSchema

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator, jars
from pyflink_kinesis.schemas import AvroDeserializationSchema, TypeInformationSerializationSchema
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import Job, start_mapped, string_sink

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0
UTC = dt.timezone.utc

ORDER = {
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "quantity", "type": "int"},
        {"name": "customer", "type": "string"},
        {"name": "price", "type": "double"},
        {"name": "weight", "type": "float"},
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string"},
            {"name": "zip", "type": ["null", "int"]},
        ]}},
        {"name": "previous", "type": ["null", "Address"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "counts", "type": {"type": "map", "values": "long"}},
        {"name": "status", "type": {"type": "enum", "name": "Status",
                                    "symbols": ["NEW", "SHIPPED", "LOST"]}},
        {"name": "payload", "type": "bytes"},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
        {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "due", "type": {"type": "int", "logicalType": "date"}},
        {"name": "total", "type": {"type": "bytes", "logicalType": "decimal",
                                   "precision": 9, "scale": 2}},
    ],
}
ORDER_WITH_ANY_REF = {  # a union of two non-null types: only the dict output can carry it
    **ORDER, "fields": [*ORDER["fields"], {"name": "ref", "type": ["null", "long", "string"]}],
}


def order(i: int) -> dict[str, Any]:
    """A varied order: nulls and non-nulls, empty and full collections, extreme numbers."""
    return {
        "id": 2**62 + i if i % 3 == 0 else -i,
        "quantity": -(2**31) if i == 1 else i,
        "customer": f"cüstomer-{i} ✓",
        "price": i / 7 if i % 2 else -1e300,
        "weight": 0.5 * i,
        "paid": i % 2 == 0,
        "note": None if i % 2 else f"note {i}",
        "address": {"city": f"city-{i % 5}", "zip": None if i % 4 == 0 else 10000 + i},
        "previous": None if i % 3 else {"city": "old", "zip": i},
        "tags": [f"t{j}" for j in range(i % 4)],
        "counts": {f"k{j}": j * 2**40 for j in range(i % 3)},
        "status": ["NEW", "SHIPPED", "LOST"][i % 3],
        "payload": bytes(range(i % 7)) + b"\xff",
        "digest": i.to_bytes(4, "big"),
        "placed": dt.datetime(2024, 2, 29, 23, 59, 58, 123000, UTC) + dt.timedelta(hours=i),
        "due": dt.date(1969, 12, 31) + dt.timedelta(days=i * 40),
        "total": Decimal(f"{i * 1234 - 5000}.{i % 100:02d}"),
        "ref": [None, i, f"ref-{i}"][i % 3],
    }


def avro_bytes(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    """Bare Avro binary, as a Kinesis record carries it (no container header)."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def as_json() -> Callable[[Any], str]:
    """The job's map: what Python received, as sorted-key JSON with type-tagged non-JSON values.

    A nested function, so the job pickles it by value (workers need not import this module).
    """

    def render(value: Any) -> str:
        import base64
        import datetime
        import decimal
        import json

        from pyflink.common import Row

        def plain(v: Any) -> Any:
            if isinstance(v, Row):
                return {"<row>": plain(v.as_dict())}
            if isinstance(v, dict):
                return {str(k): plain(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, (bytes, bytearray)):
                return {"<bytes>": base64.b64encode(v).decode()}
            if isinstance(v, (datetime.datetime, datetime.date)):
                return {f"<{type(v).__name__}>": v.isoformat()}
            if isinstance(v, decimal.Decimal):
                return {"<decimal>": str(v)}
            return v

        return json.dumps(plain(value), sort_keys=True)

    return render


def expected_json(value: Any) -> str:
    """What ``as_json`` renders for a value equal to ``value``, computed in the test."""
    rendered: str = as_json()(value)
    return rendered


def read_job(
    env: StreamExecutionEnvironment,
    source: str,
    deserializer: DeserializationSchema,
    aws_config: dict[str, object],
    out: str,
) -> Job:
    """Start: consumer (TRIM_HORIZON) -> Python map to JSON -> KinesisStreamsSink to ``out``."""
    consumer = FlinkKinesisConsumer(
        source, deserializer, {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    return start_mapped(env, consumer, as_json(), string_sink(aws_config, out), "deserialize")


def read_back(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    source: str,
    deserializer: DeserializationSchema,
    aws_config: dict[str, object],
    out: str,
    count: int,
) -> Counter[str]:
    """Run ``read_job`` until ``out`` holds ``count`` records; return them."""
    job = read_job(env, source, deserializer, aws_config, out)
    try:
        job.wait_for(
            lambda: len(local_kinesis.read_all(out)) >= count or None,
            TIMEOUT_S,
            f"{count} records in {out}",
        )
        time.sleep(2.0)  # a duplicate would arrive within the sink's 100 ms flush interval
    finally:
        job.cancel()
    return Counter(r.text for r in local_kinesis.read_all(out))


def put_avro(
    local_kinesis: LocalKinesis, stream: str, schema: dict[str, Any], records: Sequence[Any]
) -> None:
    local_kinesis.put_records(stream, [avro_bytes(schema, r) for r in records])


def test_avro_for_generic_gives_python_dicts_of_every_avro_type(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    records = [order(i) for i in range(60)]
    put_avro(local_kinesis, source, ORDER_WITH_ANY_REF, records)

    got = read_back(
        env, local_kinesis, source, AvroDeserializationSchema.for_generic(ORDER_WITH_ANY_REF),
        aws_config, out, len(records),
    )

    # Logical types arrive as their underlying Avro values (documented in for_generic): the
    # records as fastavro reads them when the schema has no logical types.
    plain_schema = fastavro.parse_schema(without_logical_types(ORDER_WITH_ANY_REF))
    underlying: list[Any] = [
        fastavro.schemaless_reader(io.BytesIO(avro_bytes(ORDER_WITH_ANY_REF, r)), plain_schema)
        for r in records
    ]
    assert underlying[1]["placed"] == 1709251198123 + 3600_000  # epoch millis, an int
    assert got == Counter(expected_json(r) for r in underlying)


def without_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [without_logical_types(v) for v in node]
    return node


def test_avro_for_generic_row_output_from_an_avsc_file_converts_logical_types(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    records = [{k: v for k, v in order(i).items() if k != "ref"} for i in range(60)]
    put_avro(local_kinesis, source, ORDER, records)
    avsc = tmp_path / "order.avsc"
    avsc.write_text(json.dumps(ORDER, indent=2), encoding="utf-8")

    got = read_back(
        env, local_kinesis, source, AvroDeserializationSchema.for_generic(avsc, output="row"),
        aws_config, out, len(records),
    )

    def as_row(record: dict[str, Any]) -> Row:
        def address(value: dict[str, Any] | None) -> Row | None:
            return None if value is None else Row(**value)

        return Row(**{
            **record,
            "address": address(record["address"]),
            "previous": address(record["previous"]),
            "placed": record["placed"].astimezone(UTC).replace(tzinfo=None),
        })

    assert got == Counter(expected_json(as_row(r)) for r in records)


READING_SCHEMA = {
    "type": "record", "name": "Reading", "namespace": "pyflinkkinesis.test",
    "fields": [
        {"name": "sensor", "type": "long"},
        {"name": "value", "type": "double"},
        {"name": "unit", "type": ["null", "string"], "default": None},
    ],
}

# The shape avro-tools generates (trimmed: no builder), compiled against the Avro that
# flink-sql-avro shades. Only its SCHEMA$ matters to for_specific.
READING_JAVA = """
package pyflinkkinesis.test;

import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.specific.SpecificRecordBase;

public class Reading extends SpecificRecordBase {
    public static final Schema SCHEMA$ = new Schema.Parser().parse("%s");
    private long sensor;
    private double value;
    private CharSequence unit;

    public static Schema getClassSchema() { return SCHEMA$; }
    public Schema getSchema() { return SCHEMA$; }

    public Object get(int field) {
        switch (field) {
            case 0: return sensor;
            case 1: return value;
            case 2: return unit;
            default: throw new IndexOutOfBoundsException("Invalid index: " + field);
        }
    }

    public void put(int field, Object v) {
        switch (field) {
            case 0: sensor = (Long) v; break;
            case 1: value = (Double) v; break;
            case 2: unit = (CharSequence) v; break;
            default: throw new IndexOutOfBoundsException("Invalid index: " + field);
        }
    }
}
"""


@pytest.fixture
def reading_jar(tmp_path: Path) -> Path:
    """A jar holding ``pyflinkkinesis.test.Reading``, compiled here with javac."""
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("javac (a JDK) is needed to compile the Avro specific record class")
    avro_jar = next(p for p in jars.resolve_jars() if p.name.startswith("flink-sql-avro"))
    source = tmp_path / "src" / "pyflinkkinesis" / "test" / "Reading.java"
    source.parent.mkdir(parents=True)
    source.write_text(READING_JAVA % json.dumps(READING_SCHEMA).replace('"', '\\"'))
    classes = tmp_path / "classes"
    subprocess.run(
        [javac, "--release", "11", "-cp", str(avro_jar), "-d", str(classes), str(source)],
        check=True, capture_output=True,
    )
    jar = tmp_path / "readings.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        for path in classes.rglob("*.class"):
            archive.write(path, path.relative_to(classes).as_posix())
    return jar


def test_avro_for_specific_reads_the_schema_of_a_generated_class_into_rows(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    reading_jar: Path,
) -> None:
    source, out = stream_factory(1), stream_factory(1)
    records = [
        {"sensor": i * 2**33, "value": i / 3, "unit": None if i % 4 == 0 else "°C"}
        for i in range(40)
    ]
    put_avro(local_kinesis, source, READING_SCHEMA, records)
    env.add_jars(reading_jar.as_uri())

    schema = AvroDeserializationSchema.for_specific("pyflinkkinesis.test.Reading")
    got = read_back(env, local_kinesis, source, schema, aws_config, out, len(records))

    assert got == Counter(expected_json(Row(**r)) for r in records)


def test_json_row_deserialization_schema_gives_named_rows(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    row_type = Types.ROW_NAMED(
        ["id", "name", "score", "active", "tags", "nested"],
        [Types.LONG(), Types.STRING(), Types.DOUBLE(), Types.BOOLEAN(),
         Types.OBJECT_ARRAY(Types.STRING()),
         Types.ROW_NAMED(["x", "y"], [Types.INT(), Types.STRING()])],
    )
    records: list[dict[str, Any]] = [
        {"id": i * 2**40, "name": None if i % 5 == 0 else f"näme-{i}", "score": i * 0.25,
         "active": i % 2 == 1, "tags": [f"t{j}" for j in range(i % 3)],
         "nested": {"x": -i, "y": f"y{i}"}}
        for i in range(80)
    ]
    local_kinesis.put_records(source, [json.dumps(r) for r in records])
    schema = JsonRowDeserializationSchema.builder().type_info(row_type).build()

    got = read_back(env, local_kinesis, source, schema, aws_config, out, len(records))

    assert got == Counter(
        expected_json(Row(**{**r, "nested": Row(**r["nested"])})) for r in records
    )


def test_type_information_schema_round_trips_values_written_by_the_sink(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    typed, out = stream_factory(2), stream_factory(1)
    row_type = Types.ROW_NAMED(
        ["id", "name", "score", "big", "ok"],
        [Types.INT(), Types.STRING(), Types.DOUBLE(), Types.LONG(), Types.BOOLEAN()],
    )
    values = [
        (i - 50, None if i % 7 == 0 else f"名前-{i}", i / 9 - 3, i * 2**45, i % 3 == 0)
        for i in range(100)
    ]
    schema = TypeInformationSerializationSchema(row_type)
    writer = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(schema)
        .set_partition_key_generator(PartitionKeyGenerator.random())
        .set_stream_name(typed)
        .build()
    )
    env.from_collection([Row(*v) for v in values], type_info=row_type).map(
        lambda row: row, output_type=row_type  # the values pass through Python to the sink
    ).sink_to(writer)
    env.execute("write typed values")
    assert len(local_kinesis.read_all(typed)) == len(values)

    got = read_back(env, local_kinesis, typed, schema, aws_config, out, len(values))

    names = ["id", "name", "score", "big", "ok"]
    assert got == Counter(expected_json(Row(**dict(zip(names, v)))) for v in values)


def test_base64_rendering_is_what_the_job_uses() -> None:
    """The expected values above rely on ``as_json``; pin its rendering of the special types."""
    rendered = json.loads(as_json()(Row(b=b"\x00", d=dt.date(2020, 1, 2), n=Decimal("1.50"))))
    assert rendered == {"<row>": {
        "b": {"<bytes>": base64.b64encode(b"\x00").decode()},
        "d": {"<date>": "2020-01-02"},
        "n": {"<decimal>": "1.50"},
    }}
