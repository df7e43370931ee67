"""Check dates against Java ``SimpleDateFormat`` patterns, as the consumer's start timestamp is.

Only the pattern letters a start timestamp needs are understood: ``y M d H m s S X`` (with
``M`` numeric, ``X`` as ``Z``, ``+hh``, ``+hhmm`` or ``+hh:mm``) and quoted literals. For a
pattern with other valid letters :func:`matches` answers None: the check is skipped, never
guessed. Parsing is strict where Java's default lenient parsing is not: the whole text must
match and the date must exist (Java would turn month 13 into January of the next year).
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

# Every letter SimpleDateFormat accepts; any other ASCII letter makes its constructor throw.
_JAVA_LETTERS = frozenset("GyYMLwWDdFEuaHkKhmsSzZX")
_NUMERIC_FIELDS = {"y": "year", "M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second"}
_ZONE_FORMS = {1: r"Z|[+-][0-9]{2}", 2: r"Z|[+-][0-9]{4}", 3: r"Z|[+-][0-9]{2}:[0-9]{2}"}


class _Token(NamedTuple):
    letter: str  # "" for literal text
    text: str  # the literal text, or the run of pattern letters


class _PatternError(ValueError):
    pass


def pattern_problem(pattern: str) -> str | None:
    """Why Java's ``new SimpleDateFormat(pattern)`` would throw, or None if it would not."""
    try:
        _tokenize(pattern)
    except _PatternError as error:
        return str(error)
    return None


def matches(text: str, pattern: str) -> bool | None:
    """Whether ``text`` is a real date written in ``pattern``; None if the pattern is not
    understood here (or invalid: :func:`pattern_problem` reports that)."""
    try:
        tokens = _tokenize(pattern)
    except _PatternError:
        return None
    regex = _regex(tokens)
    if regex is None:
        return None
    match = re.fullmatch(regex, text)
    if match is None:
        return False
    fields = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    try:
        datetime.datetime(
            fields.get("year", 1970),
            fields.get("month", 1),
            fields.get("day", 1),
            fields.get("hour", 0),
            fields.get("minute", 0),
            fields.get("second", 0),
        )
    except ValueError:
        return False
    return True


def _tokenize(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            literal, index = _quoted(pattern, index)
            tokens.append(_Token("", literal))
        elif char.isascii() and char.isalpha():
            if char not in _JAVA_LETTERS:
                raise _PatternError(f"illegal pattern character {char!r}")
            end = index
            while end < len(pattern) and pattern[end] == char:
                end += 1
            if char == "X" and end - index > 3:
                raise _PatternError("X may be repeated at most 3 times")
            tokens.append(_Token(char, pattern[index:end]))
            index = end
        else:
            tokens.append(_Token("", char))
            index += 1
    return tokens


def _quoted(pattern: str, start: int) -> tuple[str, int]:
    """The literal text of the quote starting at ``start`` and the index after it."""
    if pattern.startswith("''", start):
        return "'", start + 2
    literal = []
    index = start + 1
    while index < len(pattern):
        if pattern.startswith("''", index):
            literal.append("'")
            index += 2
        elif pattern[index] == "'":
            return "".join(literal), index + 1
        else:
            literal.append(pattern[index])
            index += 1
    raise _PatternError("unterminated quote")


def _regex(tokens: list[_Token]) -> str | None:
    parts = []
    seen: set[str] = set()  # a repeated field would need two regex groups of one name
    for position, token in enumerate(tokens):
        if token.letter in seen or (token.letter == "M" and len(token.text) > 2):
            return None
        if not token.letter:
            parts.append(re.escape(token.text))
        elif _is_number(token):
            parts.append(_number(token, tokens[position + 1 : position + 2]))
        elif token.letter == "X":
            parts.append(f"(?:{_ZONE_FORMS[len(token.text)]})")
        else:
            return None
        if token.letter:
            seen.add(token.letter)
    return "".join(parts)


def _is_number(token: _Token) -> bool:
    return token.letter in _NUMERIC_FIELDS or token.letter == "S"


def _number(token: _Token, following: list[_Token]) -> str:
    # Like SimpleDateFormat, a field's width only counts when a number follows right after.
    adjacent = bool(following) and _is_number(following[0])
    digits = f"[0-9]{{{len(token.text)}}}" if adjacent else "[0-9]+"
    name = _NUMERIC_FIELDS.get(token.letter)
    return f"(?P<{name}>{digits})" if name else f"(?:{digits})"
