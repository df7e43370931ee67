"""Take KPL aggregated records apart: the user records the Kinesis Producer Library packed.

An aggregate is one Kinesis record holding many user records: 4 magic bytes ``f3 89 9a c2``,
the protobuf message below, then the 16-byte MD5 of the protobuf bytes. The KPL, the
``aws-kinesis-agg`` package and this package's aggregating sink
(``KinesisStreamsSinkBuilder.set_aggregation``) write it; ``FlinkKinesisConsumer`` and the KCL
read it back one user record at a time, and so does ``pyflink-kinesis tail`` with
:func:`unpack`.

::

    AggregatedRecord { repeated string partition_key_table = 1;
                       repeated string explicit_hash_key_table = 2;
                       repeated Record records = 3; }
    Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
             required bytes data = 3; repeated Tag tags = 4; }

Pure Python, no dependency: the protobuf is read by hand (tags are skipped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["MAGIC", "KplFormatError", "UserRecord", "is_aggregate", "unpack"]

#: The first 4 bytes of every aggregate.
MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST_BYTES = 16

_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5
# Field numbers of AggregatedRecord and of Record.
_KEY_TABLE, _HASH_KEY_TABLE, _RECORDS = 1, 2, 3
_KEY_INDEX, _HASH_KEY_INDEX, _DATA = 1, 2, 3


class KplFormatError(ValueError):
    """Data with the magic bytes and digest of an aggregate whose protobuf is malformed."""


@dataclass(frozen=True)
class UserRecord:
    """One user record of an aggregate: its partition key, explicit hash key (or None), data."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes


def is_aggregate(data: bytes) -> bool:
    """True when ``data`` starts with the magic bytes and ends with the MD5 of what is between.

    Anything else is a plain Kinesis record, which is how the KCL tells them apart too.
    """
    if len(data) <= len(MAGIC) + _DIGEST_BYTES or not data.startswith(MAGIC):
        return False
    end = len(data) - _DIGEST_BYTES
    return hashlib.md5(data[len(MAGIC) : end]).digest() == data[end:]


def unpack(data: bytes) -> list[UserRecord] | None:
    """The user records of the aggregate ``data``, in order; None when it is no aggregate.

    Raises :class:`KplFormatError` when ``data`` looks like an aggregate (magic and digest)
    but its protobuf cannot be read or a record points outside the key tables.
    """
    if not is_aggregate(data):
        return None
    keys: list[str] = []
    hash_keys: list[str] = []
    entries: list[tuple[int, int | None, bytes]] = []
    reader = _Reader(data, len(MAGIC), len(data) - _DIGEST_BYTES)
    while reader.has_more():
        field, wire_type = reader.tag()
        if field == _KEY_TABLE and wire_type == _LENGTH_DELIMITED:
            keys.append(_text(reader.bytes_field(), "partition key"))
        elif field == _HASH_KEY_TABLE and wire_type == _LENGTH_DELIMITED:
            hash_keys.append(_text(reader.bytes_field(), "explicit hash key"))
        elif field == _RECORDS and wire_type == _LENGTH_DELIMITED:
            entries.append(_record(reader.bytes_field()))
        else:
            reader.skip(wire_type)
    records = []
    for key_index, hash_key_index, payload in entries:
        if key_index >= len(keys):
            raise KplFormatError(
                f"malformed KPL aggregate: partition key index {key_index} of a table of "
                f"{len(keys)}"
            )
        if hash_key_index is not None and hash_key_index >= len(hash_keys):
            raise KplFormatError(
                f"malformed KPL aggregate: explicit hash key index {hash_key_index} of a table "
                f"of {len(hash_keys)}"
            )
        hash_key = hash_keys[hash_key_index] if hash_key_index is not None else None
        records.append(UserRecord(keys[key_index], hash_key, payload))
    return records


def _record(message: bytes) -> tuple[int, int | None, bytes]:
    key_index: int | None = None
    hash_key_index: int | None = None
    payload: bytes | None = None
    reader = _Reader(message, 0, len(message))
    while reader.has_more():
        field, wire_type = reader.tag()
        if field == _KEY_INDEX and wire_type == _VARINT:
            key_index = reader.varint()
        elif field == _HASH_KEY_INDEX and wire_type == _VARINT:
            hash_key_index = reader.varint()
        elif field == _DATA and wire_type == _LENGTH_DELIMITED:
            payload = reader.bytes_field()
        else:
            reader.skip(wire_type)
    if key_index is None or payload is None:
        raise KplFormatError("malformed KPL aggregate: a record without partition key or data")
    return key_index, hash_key_index, payload


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise KplFormatError(f"malformed KPL aggregate: a {what} is not UTF-8") from error


class _Reader:
    """Reads protobuf fields of ``data`` between ``position`` and ``end``."""

    def __init__(self, data: bytes, position: int, end: int) -> None:
        self._data, self._position, self._end = data, position, end

    def has_more(self) -> bool:
        return self._position < self._end

    def tag(self) -> tuple[int, int]:
        tag = self.varint()
        return tag >> 3, tag & 7

    def varint(self) -> int:
        value = 0
        for shift in range(0, 70, 7):
            if self._position >= self._end:
                raise KplFormatError("malformed KPL aggregate: a varint runs past its message")
            byte = self._data[self._position]
            self._position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
        raise KplFormatError("malformed KPL aggregate: a varint longer than 10 bytes")

    def bytes_field(self) -> bytes:
        length = self.varint()
        return self._advance(length)

    def skip(self, wire_type: int) -> None:
        if wire_type == _VARINT:
            self.varint()
        elif wire_type == _FIXED64:
            self._advance(8)
        elif wire_type == _LENGTH_DELIMITED:
            self.bytes_field()
        elif wire_type == _FIXED32:
            self._advance(4)
        else:
            raise KplFormatError(f"malformed KPL aggregate: wire type {wire_type}")

    def _advance(self, count: int) -> bytes:
        if count > self._end - self._position:
            raise KplFormatError(
                f"malformed KPL aggregate: a field of {count} bytes runs past its message"
            )
        start = self._position
        self._position += count
        return self._data[start : self._position]
