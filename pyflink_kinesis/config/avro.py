"""Avro schemas for the Kinesis consumer: load (dict, JSON text, ``.avsc`` file) and check them.

Pure Python (fastavro and the standard library): every problem is found before the JVM parses
the schema, and all of them are reported at once in an
:class:`~pyflink_kinesis.errors.AvroSchemaError` that names where in the schema each one is.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

from pyflink_kinesis.errors import AvroSchemaError, ConfigProblem

SchemaSource = Union[Mapping[str, Any], str, "os.PathLike[str]"]

PRIMITIVE_TYPES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
_NAMED_TYPES = ("record", "error", "enum", "fixed")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FIX_HINT = "fix the schema, or pass a schema dict, JSON text, or the path of an .avsc file"


@dataclass(frozen=True)
class AvroSchemaSpec:
    """A checked Avro record schema.

    ``text`` is the schema as JSON (what the JVM parses), ``definition`` the parsed JSON,
    ``name`` the record's full name and ``origin`` where it came from (for reprs and errors).
    """

    text: str
    definition: Mapping[str, Any]
    name: str
    origin: str


def load_avro_schema(schema: SchemaSource, origin: str | None = None) -> AvroSchemaSpec:
    """Load and check an Avro record schema given as a dict, JSON text or ``.avsc`` path.

    A ``str`` whose first non-blank character is ``{``, ``[`` or ``"`` is JSON text; any other
    ``str`` (and any ``os.PathLike``) is a file path. Raises :class:`AvroSchemaError` listing
    every problem: unreadable file, invalid JSON, unknown type, missing or invalid name,
    fields, symbols, items, values or size, duplicate names, bad defaults, a top-level type
    that is not a record. ``origin`` overrides the description of where the schema came from.
    """
    definition, read_from = _read(schema)
    origin = origin or read_from
    problems = schema_problems(definition)
    if problems:
        raise AvroSchemaError(problems, f"Avro schema ({origin})")
    return AvroSchemaSpec(
        text=json.dumps(definition), definition=definition, name=_full_name(definition, ""),
        origin=origin,
    )


def _read(schema: SchemaSource) -> tuple[Any, str]:
    if isinstance(schema, Mapping):
        return dict(schema), "dict"
    if isinstance(schema, str) and schema.lstrip()[:1] in ("{", "[", '"'):
        return _parse_json(schema, "schema text", "JSON text"), "JSON text"
    if isinstance(schema, (str, os.PathLike)):
        path = Path(schema)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            problem = ConfigProblem(str(path), (
                f"cannot read the schema file ({reason}): check the path; a str that does not "
                "start with '{' is read as a file path, so pass inline schemas as a dict or "
                "JSON text"
            ))
            raise AvroSchemaError([problem], "Avro schema") from None
        return _parse_json(text, str(path), f"file {path}"), f"file {path}"
    raise AvroSchemaError(
        [ConfigProblem("schema", f"got {type(schema).__name__}; {_FIX_HINT}")], "Avro schema"
    )


def _parse_json(text: str, key: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = ConfigProblem(
            key, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        )
        raise AvroSchemaError([problem], f"Avro schema ({origin})") from None


def schema_problems(definition: Any) -> list[ConfigProblem]:
    """Every problem of an Avro schema definition (parsed JSON) as a record schema."""
    if not (isinstance(definition, Mapping) and definition.get("type") in ("record", "error")):
        shown = definition.get("type") if isinstance(definition, Mapping) else definition
        return [ConfigProblem(
            "schema", f"the top-level type must be a record, not {shown!r}: Kinesis records are "
            "read as Avro records (wrap the value in a record with one field)",
        )]
    problems = _Walker().walk(definition, "", "")
    if problems:
        return problems
    import fastavro  # only Avro schemas need it (about 10 ms of every import otherwise)

    try:
        fastavro.parse_schema(dict(definition), _write_hint=False)
    except Exception as exc:  # fastavro raises SchemaParseException, ValueError, KeyError...
        return [ConfigProblem(_full_name(definition, ""), f"{exc}; {_FIX_HINT}")]
    return []


def row_output_problems(definition: Mapping[str, Any]) -> list[ConfigProblem]:
    """Problems of a checked record schema for Flink's Avro-to-Row conversion.

    Flink maps a union to a Row field only when it has at most one non-null branch
    (``["null", X]``); any other union becomes a Java type PyFlink cannot pass to Python.
    """
    problems: list[ConfigProblem] = []

    def visit(node: Any, path: str) -> None:
        if isinstance(node, list):
            branches = [b for b in node if b != "null"]
            if len(branches) > 1:
                names = ", ".join(_type_label(b) for b in branches)
                problems.append(ConfigProblem(
                    path, f"union of {names} has more than one non-null type, which Flink's "
                    "Avro-to-Row conversion cannot represent: use output='dict', or make it "
                    "['null', <one type>]",
                ))
            for branch in node:
                visit(branch, path)
        elif isinstance(node, Mapping):
            for field in node.get("fields", ()):
                visit(field["type"], f"{path}.{field['name']}")
            for key in ("items", "values"):
                if key in node:
                    visit(node[key], f"{path}.{key}")

    visit(definition, _full_name(definition, ""))
    return problems


def _type_label(node: Any) -> str:
    if isinstance(node, Mapping):
        return str(node.get("name") or node.get("type"))
    return str(node)


def _full_name(node: Mapping[str, Any], namespace: str) -> str:
    name = str(node.get("name", ""))
    if "." in name:
        return name
    own = node.get("namespace", namespace)
    return f"{own}.{name}" if own else name


class _Walker:
    """Checks what fastavro lets through but the JVM's Avro parser rejects, with paths."""

    def __init__(self) -> None:
        self.named: set[str] = set()
        self.problems: list[ConfigProblem] = []

    def walk(self, node: Any, path: str, namespace: str) -> list[ConfigProblem]:
        if isinstance(node, str):
            self._reference(node, path, namespace)
        elif isinstance(node, list):
            self._union(node, path, namespace)
        elif isinstance(node, Mapping):
            self._complex(node, path, namespace)
        else:
            self._add(path, f"a type must be a name, a JSON object or a union list, not {node!r}")
        return self.problems

    def _add(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path or "schema", message))

    def _reference(self, name: str, path: str, namespace: str) -> None:
        candidates = {name} if "." in name else {f"{namespace}.{name}" if namespace else name, name}
        if name not in PRIMITIVE_TYPES and not candidates & self.named:
            self._add(path, f"unknown type {name!r}: use a primitive type "
                      f"({', '.join(PRIMITIVE_TYPES)}) or a record, enum or fixed defined earlier")

    def _union(self, branches: list[Any], path: str, namespace: str) -> None:
        seen: set[str] = set()
        for index, branch in enumerate(branches):
            where = f"{path}[{index}]"
            if isinstance(branch, list):
                self._add(where, "a union cannot directly contain another union")
                continue
            self.walk(branch, where, namespace)
            label = _full_name(branch, namespace) if isinstance(branch, Mapping) and (
                branch.get("type") in _NAMED_TYPES) else _type_label(branch)
            if label in seen:
                self._add(where, f"the union lists {label!r} twice")
            seen.add(label)

    def _complex(self, node: Mapping[str, Any], path: str, namespace: str) -> None:
        kind = node.get("type")
        if kind in _NAMED_TYPES:
            namespace = self._define(node, path, namespace)
            path = path or _full_name(node, "")
        if kind in ("record", "error"):
            self._fields(node, path, namespace)
        elif kind == "enum":
            self._symbols(node, path)
        elif kind == "fixed":
            size = node.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                self._add(path, f"a fixed needs a non-negative integer 'size', got {size!r}")
        elif kind in ("array", "map"):
            key = "items" if kind == "array" else "values"
            if key in node:
                self.walk(node[key], f"{path}.{key}", namespace)
            else:
                self._add(path, f"{'an array' if kind == 'array' else 'a map'} needs {key!r}")
        elif isinstance(kind, (list, Mapping)):
            self.walk(kind, path, namespace)
        elif kind is None:
            self._add(path, "a type object needs a 'type'")
        else:
            self._reference(str(kind), path, namespace)

    def _define(self, node: Mapping[str, Any], path: str, namespace: str) -> str:
        name = node.get("name")
        if not isinstance(name, str) or not all(_NAME.match(p) for p in name.split(".")):
            self._add(path, f"a {node['type']} needs a 'name' of letters, digits and _ "
                      f"(not starting with a digit), got {name!r}")
            return namespace
        full = _full_name(node, namespace)
        if full in self.named:
            self._add(path, f"the type {full!r} is defined twice; refer to it by name instead")
        self.named.add(full)
        return full.rpartition(".")[0]

    def _fields(self, node: Mapping[str, Any], path: str, namespace: str) -> None:
        fields = node.get("fields")
        if not isinstance(fields, list):
            self._add(path, f"a record needs a 'fields' list, got {fields!r}")
            return
        seen: set[str] = set()
        for index, field in enumerate(fields):
            name = field.get("name") if isinstance(field, Mapping) else None
            where = f"{path}.{name}" if isinstance(name, str) else f"{path}.fields[{index}]"
            if not isinstance(name, str) or not _NAME.match(name):
                self._add(where, f"a field needs a 'name' of letters, digits and _ "
                          f"(not starting with a digit), got {name!r}")
            elif name in seen:
                self._add(where, f"the field {name!r} appears twice")
            seen.add(str(name))
            if not isinstance(field, Mapping) or "type" not in field:
                self._add(where, "a field needs a 'type'")
                continue
            self.walk(field["type"], where, namespace)
            if isinstance(field["type"], list) and field["type"] and "default" in field:
                self._union_default(field["type"][0], field["default"], where)

    def _union_default(self, first: Any, default: Any, path: str) -> None:
        """A union field's default must be of the union's first type (Avro spec)."""
        if (first == "null") != (default is None):
            self._add(path, f"the default {json.dumps(default)} does not match the union's "
                      f"first type {_type_label(first)!r}: a union's default must be of its "
                      "first type, so reorder the union or change the default")

    def _symbols(self, node: Mapping[str, Any], path: str) -> None:
        symbols = node.get("symbols")
        if not isinstance(symbols, list):
            self._add(path, f"an enum needs a 'symbols' list, got {symbols!r}")
            return
        bad = [s for s in symbols if not (isinstance(s, str) and _NAME.match(s))]
        if bad:
            self._add(path, f"enum symbols must be names (letters, digits, _), got {bad!r}")
        duplicates = sorted({s for s in symbols if isinstance(s, str) and symbols.count(s) > 1})
        if duplicates:
            self._add(path, f"enum symbols appear twice: {duplicates!r}")
