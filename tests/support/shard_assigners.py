"""The connector's shard-to-subtask rules, restated in Python so tests can predict a job's spread.

Read from the bytecode of flink-connector-kinesis 4.3.0-1.19 (``javap -c -p``):

* The fetcher gives a shard to subtask ``abs(assign(shard, p) % p)`` with Java's ``%`` (sign
  of the dividend), ``p`` the source parallelism
  (``KinesisDataFetcher.isThisSubtaskShouldSubscribeTo``).
* The default assigner (``DefaultShardAssignerFactory``) returns
  ``StreamShardHandle.hashCode()``: ``37 * (37 * 17 + stream.hashCode()) + shardId.hashCode()``.
* ``UniformShardAssigner`` returns ``(start + end) / 2 * p / 2**128`` of the shard's hash-key
  range, as an int, plus ``stream.hashCode()``.

All sums and products wrap like Java ``int``. ``tests/e2e/test_shard_assignment.py`` checks these
functions against the Java classes themselves.
"""

from __future__ import annotations

from typing import Iterable, Mapping

_HASH_KEY_BOUND = 2**128


def java_int(value: int) -> int:
    """``value`` wrapped to a signed 32-bit Java ``int``."""
    return (value + 2**31) % 2**32 - 2**31


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode()`` (over UTF-16 code units)."""
    units = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = java_int(31 * h + int.from_bytes(units[i : i + 2], "big"))
    return h


def subtask_for(assigned: int, parallelism: int) -> int:
    """The subtask the fetcher gives a shard whose assigner returned ``assigned``."""
    return abs(assigned) % parallelism  # equals Java's abs(assigned % parallelism)


def default_assign(stream: str, shard_id: str) -> int:
    """What the connector's default assigner returns for a shard."""
    return java_int(37 * java_int(37 * 17 + java_string_hash(stream)) + java_string_hash(shard_id))


def uniform_assign(stream: str, starting_key: str, ending_key: str, parallelism: int) -> int:
    """What ``UniformShardAssigner`` returns for a shard with this hash-key range."""
    middle = (int(starting_key) + int(ending_key)) // 2
    return java_int(java_int(middle * parallelism // _HASH_KEY_BOUND) + java_string_hash(stream))


def default_spread(stream: str, shard_ids: Iterable[str], parallelism: int) -> dict[str, int]:
    """Shard id -> subtask under the default assigner."""
    return {s: subtask_for(default_assign(stream, s), parallelism) for s in shard_ids}


def uniform_spread(
    stream: str, shards: Iterable[Mapping[str, object]], parallelism: int
) -> dict[str, int]:
    """Shard id -> subtask under ``UniformShardAssigner``, for shards as ListShards returns them."""
    spread: dict[str, int] = {}
    for shard in shards:
        key_range = shard["HashKeyRange"]
        assert isinstance(key_range, Mapping)
        assigned = uniform_assign(
            stream, str(key_range["StartingHashKey"]), str(key_range["EndingHashKey"]), parallelism
        )
        spread[str(shard["ShardId"])] = subtask_for(assigned, parallelism)
    return spread
