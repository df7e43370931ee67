"""Kinesis tables for Flink SQL and the Table API, checked in Python before they reach Flink.

Write DDL as usual (``CREATE TABLE ... WITH ('connector' = 'kinesis', 'stream' = ...,
'scan.stream.initpos' = 'TRIM_HORIZON', ...)``) or build a ``TableDescriptor`` with
:func:`table_descriptor` from the same dict a ``FlinkKinesisConsumer`` takes. Once
``pyflink_kinesis`` is imported, every ``kinesis`` table given to ``execute_sql``,
``create_table`` or ``create_temporary_table`` is validated first (all problems in one
:class:`~pyflink_kinesis.KinesisConfigError`, secrets masked), its jars are registered, and a
local endpoint gets what local servers need (see :mod:`pyflink_kinesis.config.endpoint`).
``firehose`` tables (Amazon Data Firehose, a sink) are checked the same way, and the
TableEnvironment that declares one gets the "firehose" jars (``pyflink-kinesis docs firehose``).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Mapping, Sequence

from pyflink.table import Schema, TableDescriptor, TableResult

from pyflink_kinesis import gateway, jars
from pyflink_kinesis.config import check_ddl, ddl_tables, table_options
from pyflink_kinesis.config.endpoint import TABLE_HTTP_PROTOCOL_VERSION, with_endpoint_defaults
from pyflink_kinesis.config.firehose import (
    TABLE_IDENTIFIER as FIREHOSE,
)
from pyflink_kinesis.config.firehose import (
    check_firehose_ddl,
    firehose_table_options,
)
from pyflink_kinesis.config.table import (
    OWN_IDENTIFIER,
    OWN_TABLE_OPTIONS,
    PARTITIONER,
    mask_table_secrets,
)
from pyflink_kinesis.firehose import warn_if_kinesis_copy_loads
from pyflink_kinesis.sink import SUBTASK_KEYS

CONNECTOR = "kinesis"
FIXED = "fixed"


def table_options_for(
    stream: str,
    config: Mapping[str, object],
    format: str,
    partitioned_by: Sequence[str] = (),
) -> dict[str, str]:
    """The validated WITH options of a ``kinesis`` table over ``stream``.

    ``config`` takes table keys (``aws.*``, ``scan.*``, ``sink.*``, format options) and the
    DataStream keys (``flink.stream.initpos`` ...), which become their ``scan.*`` twins.
    """
    options = table_options(
        {**config, "connector": CONNECTOR, "stream": stream, "format": format},
        partitioned_by=partitioned_by,
    )
    return _with_table_defaults(options)


def _with_table_defaults(options: Mapping[str, str]) -> dict[str, str]:
    """What the connector must be given for ``options``: the endpoint defaults, our fixed
    partition keys for ``'sink.partitioner' = 'fixed'`` (the connector's own writes key "0" in
    every subtask: it is never told its subtask), and our table factory
    (``'connector' = 'pyflink-kinesis'``) for a table with options only it reads."""
    defaults = with_endpoint_defaults(options, protocol_key=TABLE_HTTP_PROTOCOL_VERSION)
    if defaults.get(PARTITIONER) == FIXED:
        jars.own_jar(f"'{PARTITIONER}' = '{FIXED}'")
        defaults[PARTITIONER] = SUBTASK_KEYS
    own = [name for name in OWN_TABLE_OPTIONS if name in defaults]
    if own:
        jars.own_jar(f"'{own[0]}'")
        defaults["connector"] = OWN_IDENTIFIER
    return defaults


class KinesisTableDescriptor(TableDescriptor):  # type: ignore[misc]
    """A ``TableDescriptor`` whose ``str()`` shows secret option values as ``****``.

    Flink's own ``toString()`` prints every option in clear; everything else is Flink's.
    """

    def __str__(self) -> str:
        text = str(super().__str__())
        options = {str(k): str(v) for k, v in self.get_options().items()}
        for name, value in mask_table_secrets(options).items():
            if value != options[name] and options[name]:
                text = text.replace(_sql_string(options[name]), _sql_string(str(value)))
        return text

    def __repr__(self) -> str:
        return f"KinesisTableDescriptor({self})"


def table_descriptor(
    stream: str,
    schema: Schema,
    config: Mapping[str, object],
    format: str,
    partitioned_by: Sequence[str] = (),
) -> TableDescriptor:
    """A validated ``TableDescriptor`` for a ``kinesis`` table (see :func:`table_options_for`)."""
    options = table_options_for(stream, config, format, partitioned_by)
    builder = TableDescriptor.for_connector(options["connector"]).schema(schema)
    for key, value in options.items():
        if key != "connector":
            builder = builder.option(key, value)
    if partitioned_by:
        builder = builder.partitioned_by(*partitioned_by)
    return KinesisTableDescriptor(builder.build()._j_table_descriptor)


def create_table_ddl(
    name: str,
    columns: str,
    stream: str,
    config: Mapping[str, object],
    format: str,
    partitioned_by: Sequence[str] = (),
) -> str:
    """``CREATE TABLE`` DDL for a ``kinesis`` table, options validated and quoted.

    ``columns`` is the column list as SQL, e.g. ``"id BIGINT, name STRING"``. The DDL holds
    every option as given, secret keys included: run it, do not print or log it.
    """
    options = table_options_for(stream, config, format, partitioned_by)
    partitions = f"\nPARTITIONED BY ({', '.join(partitioned_by)})" if partitioned_by else ""
    body = ",\n".join(f"  {_sql_string(k)} = {_sql_string(v)}" for k, v in options.items())
    return f"CREATE TABLE {name} ({columns}){partitions}\nWITH (\n{body}\n)"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def prepare_statement(statement: str) -> str:
    """Validate the ``kinesis`` tables a SQL statement declares and return the statement to run.

    Raises KinesisConfigError with every problem. Tables over a plain ``http://`` local endpoint
    get ``aws.http.protocol.version = 'HTTP1_1'`` unless they set it; ``'sink.partitioner' =
    'fixed'`` becomes our fixed generator, which knows its subtask; a table with
    ``'sink.keep-key-order'`` or ``'sink.delivery-guarantee'`` becomes a ``'pyflink-kinesis'``
    table (our table factory).
    """
    tables = ddl_tables(statement)
    if not tables:
        return statement
    check_ddl(statement)
    gateway.mark_used()
    edits: list[tuple[int, int, str]] = []  # (start, end, new text) in the statement
    for table in tables:
        gateway.use_json_protocol(table.options)
        options = _with_table_defaults(table.options)
        added = "".join(
            f",\n  {_sql_string(k)} = {_sql_string(v)}"
            for k, v in options.items()
            if k not in table.options
        )
        edits.append((table.with_end, table.with_end, added))
        edits += [
            (*table.value_spans[k], _sql_string(v))
            for k, v in options.items()
            if k in table.options and v != table.options[k]
        ]
    for start, end, text in sorted(edits, reverse=True):
        statement = statement[:start] + text + statement[end:]
    return statement


def prepare_descriptor(descriptor: TableDescriptor) -> TableDescriptor:
    """Validate a ``kinesis`` or ``firehose`` TableDescriptor the same way; others pass
    unchanged."""
    j_descriptor = descriptor._j_table_descriptor
    options = {str(k): str(v) for k, v in dict(j_descriptor.getOptions()).items()}
    if options.get("connector") == FIREHOSE:
        firehose_table_options(options)
        return descriptor
    if options.get("connector") not in (CONNECTOR, OWN_IDENTIFIER):
        return descriptor
    partitioned_by = [str(column) for column in j_descriptor.getPartitionKeys()]
    checked = _with_table_defaults(
        table_options(options, partitioned_by=partitioned_by, datastream_keys=False)
    )
    gateway.mark_used()
    gateway.use_json_protocol(checked)
    j_builder = j_descriptor.toBuilder()
    for key, value in checked.items():
        if options.get(key) != value:
            j_builder.option(key, value)
    return KinesisTableDescriptor(j_builder.build())


def install() -> None:
    """Check kinesis tables in ``execute_sql``, ``create_table`` and ``create_temporary_table``."""
    from pyflink.table import TableEnvironment

    if getattr(TableEnvironment.execute_sql, "_pyflink_kinesis", False):
        return
    TableEnvironment.execute_sql = _checking(TableEnvironment.execute_sql, prepare_statement)
    for name in ("create_table", "create_temporary_table"):
        original = getattr(TableEnvironment, name)
        setattr(TableEnvironment, name, _checking_descriptor(original))


def _checking(method: Callable[..., Any], prepare: Callable[[str], str]) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(t_env: Any, stmt: str) -> Any:
        if check_firehose_ddl(stmt):
            add_firehose_jars(t_env)
        result = method(t_env, prepare(stmt))
        return without_secrets(result) if _SHOW_CREATE_TABLE.match(stmt) else result

    checked._pyflink_kinesis = True  # type: ignore[attr-defined]
    return checked


_SHOW_CREATE_TABLE = re.compile(r"\s*SHOW\s+CREATE\s+TABLE\b", re.IGNORECASE)


def without_secrets(result: TableResult) -> TableResult:
    """The result of a ``SHOW CREATE TABLE`` with the secret option values of a ``kinesis``
    (or ``pyflink-kinesis``, ``firehose``) table shown as ``'****'``; Flink shows them in clear.
    """
    from pyflink.java_gateway import get_gateway

    with result.collect() as rows:
        ddl = masked_ddl(str(next(rows)[0]))
    gateway = get_gateway()
    text = gateway.new_array(gateway.jvm.String, 1)
    text[0] = ddl
    # As Flink makes the result of SHOW CREATE TABLE (ShowCreateTableOperation).
    utils = gateway.jvm.org.apache.flink.table.api.internal.TableResultUtils
    return TableResult(utils.buildStringArrayResult("result", text))


def masked_ddl(ddl: str) -> str:
    """``ddl`` with the secret option values of its Kinesis and Firehose tables as ``'****'``."""
    edits: list[tuple[int, int, str]] = []
    for table in ddl_tables(ddl, (CONNECTOR, OWN_IDENTIFIER, FIREHOSE)):
        for name, value in mask_table_secrets(table.options).items():
            if value != table.options[name]:
                edits.append((*table.value_spans[name], _sql_string(str(value))))
    for start, end, text in sorted(edits, reverse=True):
        ddl = ddl[:start] + text + ddl[end:]
    return ddl


def _checking_descriptor(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(t_env: Any, path: str, descriptor: TableDescriptor) -> Any:
        prepared = prepare_descriptor(descriptor)
        if prepared.get_options().get("connector") == FIREHOSE:
            add_firehose_jars(t_env)
        return method(t_env, path, prepared)

    return checked


def add_firehose_jars(t_env: Any) -> None:
    """Make the "firehose" jars visible to ``t_env``'s planner and ship them with its jobs.

    A JVM that started with them has them; otherwise they are added to the environment's own
    class loader, as ``ADD JAR`` does (once per environment).
    """
    gateway.want_extra(FIREHOSE)
    jvm = gateway.require_extra(FIREHOSE)
    if gateway.started_with_extra(FIREHOSE) or getattr(t_env, _FIREHOSE_ADDED, False):
        return
    warn_if_kinesis_copy_loads(jvm, stacklevel=4)  # the user's execute_sql or create_table
    for path in jars.resolve_extra(FIREHOSE):
        t_env._j_tenv.executeSql(f"ADD JAR {_sql_string(str(path))}")
    setattr(t_env, _FIREHOSE_ADDED, True)


_FIREHOSE_ADDED = "_pyflink_kinesis_firehose_jars"
