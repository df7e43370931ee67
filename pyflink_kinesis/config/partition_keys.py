"""Checks of the arguments of partition key generators: pure Python, run at the sink's ``build()``.

Kinesis takes partition keys of 1 to 256 characters, counted as Java and the service count them
(UTF-16 code units: a character outside the Basic Multilingual Plane, like most emoji, is 2).
"""

from __future__ import annotations

PARTITION_KEY_MAX_LENGTH = 256


def key_length(key: str) -> int:
    """The length of ``key`` as Kinesis counts it (UTF-16 code units)."""
    return len(key.encode("utf-16-le")) // 2


def field_problem(field: object) -> str | None:
    """Why ``field`` cannot name a field of ``from_field``: a name (str) or a position (int)."""
    if isinstance(field, bool) or not isinstance(field, (str, int)):
        return (
            f"expected a field name (str) or a position (int >= 0), got "
            f"{type(field).__name__} {field!r}"
        )
    if isinstance(field, int) and field < 0:
        return f"the position is {field}; positions count from 0"
    if field == "":
        return "the field name is empty; name a field of the records or give its position"
    return None


def path_problem(path: object) -> str | None:
    """Why ``path`` cannot be a ``json_field`` path: a field name, dotted for nested fields."""
    if not isinstance(path, str):
        return f"expected a field name or dotted path (str), got {type(path).__name__} {path!r}"
    if path == "" or "" in path.split("."):
        return (
            f"{path!r} has an empty field name; write a name (like 'customer') or a dotted path "
            f"(like 'order.customer')"
        )
    return None


def default_key_problem(default_key: object) -> str | None:
    """Why ``default_key`` cannot be a partition key (None, meaning no default, is fine)."""
    if default_key is None:
        return None
    if not isinstance(default_key, str):
        return f"default_key must be a str or None, got {type(default_key).__name__}"
    length = key_length(default_key)
    if not 1 <= length <= PARTITION_KEY_MAX_LENGTH:
        return (
            f"default_key is {length} characters long; Kinesis takes keys of 1 to "
            f"{PARTITION_KEY_MAX_LENGTH}"
        )
    return None


def field_generator_problems(
    field_problem_text: str | None, default_key: object, hash_long_keys: object
) -> list[str]:
    """Every problem of a field generator's arguments, the field's own problem first."""
    problems = [field_problem_text, default_key_problem(default_key)]
    if not isinstance(hash_long_keys, bool):
        kind = type(hash_long_keys).__name__
        problems.append(f"hash_long_keys must be True or False, got {kind}")
    return [problem for problem in problems if problem is not None]

