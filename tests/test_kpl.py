"""The KPL decoder against aggregates of ``aws-kinesis-agg`` and of our Java aggregating sink."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Any

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

from pyflink_kinesis import kpl
from pyflink_kinesis.kpl import KplFormatError, UserRecord

USER_RECORDS = [
    UserRecord("customer-1", None, b'{"n": 1}'),
    UserRecord("customer-2", "170141183460469231731687303715884105728", "zwei \u00fc".encode()),
    UserRecord("customer-1", None, b"\xff\x00 not text"),
    UserRecord("customer-3", None, b""),
    UserRecord("customer-2", "170141183460469231731687303715884105728", b"x" * 300),
]


def aws_kinesis_agg(records: list[UserRecord]) -> bytes:
    aggregator = RecordAggregator()
    for record in records:
        assert aggregator.add_user_record(
            record.partition_key, record.data, record.explicit_hash_key
        ) is None
    _key, _hash_key, data = aggregator.clear_and_get().get_contents()
    return bytes(data)


def test_unpacks_what_aws_kinesis_agg_packs_in_order_with_keys_and_hash_keys() -> None:
    assert kpl.unpack(aws_kinesis_agg(USER_RECORDS)) == USER_RECORDS


def test_plain_records_are_no_aggregates() -> None:
    assert kpl.unpack(b'{"customer": "ann"}') is None
    assert kpl.unpack(b"") is None
    assert kpl.unpack(kpl.MAGIC) is None
    packed = bytearray(aws_kinesis_agg(USER_RECORDS))
    packed[-1] ^= 1  # the digest no longer matches: a plain record that starts like one
    assert not kpl.is_aggregate(bytes(packed))
    assert kpl.unpack(bytes(packed)) is None


def with_digest(protobuf: bytes) -> bytes:
    return kpl.MAGIC + protobuf + hashlib.md5(protobuf).digest()


@pytest.mark.parametrize(
    ("protobuf", "problem"),
    [
        (b"\x0a\x05ab", "runs past its message"),  # a key of 5 bytes with 2 there
        (b"\x0a\x01a\x1a\x02\x08\x05", "a record without partition key or data"),
        (b"\x0a\x01a\x1a\x04\x08\x01\x1a\x00", "partition key index 1 of a table of 1"),
        (b"\x0a\x01a\x1a\x06\x08\x00\x10\x00\x1a\x00", "explicit hash key index 0 of a table of 0"),
        (b"\x0a\x01\xff\x1a\x04\x08\x00\x1a\x00", "a partition key is not UTF-8"),
        (b"\x0f", "wire type 7"),
    ],
)
def test_a_malformed_aggregate_says_what_is_wrong(protobuf: bytes, problem: str) -> None:
    with pytest.raises(KplFormatError, match=problem):
        kpl.unpack(with_digest(protobuf))


def test_unknown_fields_and_tags_are_skipped() -> None:
    # Record{key index 0, tag (field 4, a nested message), data "d"}, then a fixed32 and a
    # fixed64 field of the AggregatedRecord that this format does not define.
    record = b"\x08\x00\x22\x04\x0a\x02tg\x1a\x01d"
    protobuf = b"\x0a\x01k\x1a" + bytes([len(record)]) + record + b"\x25abcd\x29abcdefgh"
    assert kpl.unpack(with_digest(protobuf)) == [UserRecord("k", None, b"d")]


def test_module_needs_nothing_but_the_standard_library() -> None:
    tree = ast.parse(Path(kpl.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "hashlib", "dataclasses"}


@pytest.mark.jvm
def test_unpacks_what_our_java_aggregating_sink_packs() -> None:
    """``KplAggregate`` (package-private) is the class the aggregating sink writes with; it is
    reached by reflection, as no public API hands out its bytes."""
    from pyflink.java_gateway import get_gateway

    from pyflink_kinesis import gateway

    jvm, py4j = gateway.jvm(), get_gateway()
    loader = jvm.Thread.currentThread().getContextClassLoader()

    def java_class(name: str) -> Any:
        return jvm.Class.forName(name, True, loader)

    def array(of: Any, values: list[Any]) -> Any:
        result = py4j.new_array(of, len(values))
        for index, value in enumerate(values):
            result[index] = value
        return result

    def accessible(member: Any) -> Any:
        member.setAccessible(True)
        return member

    aggregate_class = java_class("io.pyflinkkinesis.aggregation.KplAggregate")
    record_class = java_class("io.pyflinkkinesis.aggregation.KeyedRecord")
    long_type = jvm.java.lang.Long.TYPE
    aggregate = accessible(
        aggregate_class.getDeclaredConstructor(array(jvm.Class, [long_type, long_type]))
    ).newInstance(array(jvm.Object, [jvm.java.lang.Long(1 << 20), jvm.java.lang.Long(1 << 20)]))
    new_record = accessible(record_class.getDeclaredConstructor(
        array(jvm.Class, [java_class("java.lang.String"), java_class("[B")])))
    add = accessible(aggregate_class.getDeclaredMethod("add", array(jvm.Class, [record_class])))
    plain = [UserRecord(r.partition_key, None, r.data) for r in USER_RECORDS]
    for record in plain:
        java_record = new_record.newInstance(
            array(jvm.Object, [record.partition_key, bytearray(record.data)]))
        assert add.invoke(aggregate, array(jvm.Object, [java_record]))
    encode = accessible(aggregate_class.getDeclaredMethod("encode", array(jvm.Class, [])))
    packed = bytes(encode.invoke(aggregate, array(jvm.Object, [])))
    assert packed.startswith(kpl.MAGIC)
    assert kpl.unpack(packed) == plain
