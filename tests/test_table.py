"""pyflink_kinesis.table: DDL and descriptors checked, completed for local servers, and shipped."""

from __future__ import annotations

import pytest
from pyflink.table import DataTypes, Schema

from pyflink_kinesis import KinesisConfigError, create_table_ddl, table_descriptor
from pyflink_kinesis.config import ddl_tables
from pyflink_kinesis.table import masked_ddl, prepare_descriptor, prepare_statement
from tests.test_gateway import expected_urls, run_python

pytestmark = pytest.mark.jvm

LOCAL = {
    "aws.region": "us-east-1",
    "aws.endpoint": "http://localhost:4567",
    "aws.credentials.basic.accesskeyid": "k",
    "aws.credentials.basic.secretkey": "s",
}


def ddl(endpoint: str, *extra: str) -> str:
    options = ",\n".join([
        "'connector' = 'kinesis'", "'stream' = 'orders'", "'format' = 'json'",
        "'aws.region' = 'us-east-1'", f"'aws.endpoint' = '{endpoint}'", *extra,
    ])
    return f"CREATE TABLE orders (id BIGINT) WITH (\n{options}\n)"


def test_a_plain_http_local_endpoint_gets_http1_1_inserted() -> None:
    [table] = ddl_tables(prepare_statement(ddl("http://localhost:4567")))
    assert table.options["sink.http-client.protocol.version"] == "HTTP1_1"


@pytest.mark.parametrize(
    "statement",
    [
        ddl("https://kinesis.us-east-1.amazonaws.com"),
        ddl("https://localhost:4568"),
        ddl("http://localhost:4567", "'sink.http-client.protocol.version' = 'HTTP2'"),
        "CREATE TABLE t (id BIGINT) WITH ('connector' = 'datagen')",
        "SELECT 1",
    ],
    ids=["aws", "tls", "chosen", "other-connector", "query"],
)
def test_other_statements_are_left_as_written(statement: str) -> None:
    assert prepare_statement(statement) == statement


def test_every_table_of_a_script_is_completed() -> None:
    script = ddl("http://localhost:4567") + ";\n" + ddl("http://localhost:4567").replace(
        "TABLE orders", "TABLE more_orders"
    )
    tables = ddl_tables(prepare_statement(script))
    assert [t.name for t in tables] == ["orders", "more_orders"]
    assert all(t.options["sink.http-client.protocol.version"] == "HTTP1_1" for t in tables)


FIXED_KEYS = "io.pyflinkkinesis.SubtaskPartitionKeyGenerator"


def test_fixed_partitioner_becomes_ours_which_knows_its_subtask() -> None:
    # Two tables, one statement each, the option given where other options follow it.
    one = ddl("https://kinesis.us-east-1.amazonaws.com", "'sink.partitioner' = 'fixed'")
    two = ddl("http://localhost:4567", "'sink.partitioner' = 'fixed'", "'format' = 'json'")
    script = one + ";\n" + two.replace("'format' = 'json',\n'aws", "'aws").replace(
        "TABLE orders", "TABLE more")
    prepared = prepare_statement(script)
    tables = ddl_tables(prepared)
    assert [t.options["sink.partitioner"] for t in tables] == [FIXED_KEYS, FIXED_KEYS]
    assert tables[1].options["sink.http-client.protocol.version"] == "HTTP1_1"
    assert prepare_statement(prepared) == prepared
    random = ddl("https://kinesis.us-east-1.amazonaws.com", "'sink.partitioner' = 'random'")
    assert prepare_statement(random) == random


def test_fixed_partitioner_in_helpers_and_descriptors() -> None:
    from pyflink.table import TableDescriptor

    config = {**LOCAL, "sink.partitioner": "fixed"}
    [table] = ddl_tables(create_table_ddl("t", "id BIGINT", "s", config, "json"))
    assert table.options["sink.partitioner"] == FIXED_KEYS
    schema = Schema.new_builder().column("id", DataTypes.BIGINT()).build()
    descriptor = table_descriptor("s", schema, config, "json")
    assert dict(descriptor._j_table_descriptor.getOptions())["sink.partitioner"] == FIXED_KEYS
    builder = TableDescriptor.for_connector("kinesis").schema(schema).format("json")
    for key, value in {**config, "stream": "s"}.items():
        builder = builder.option(key, value)
    options = prepare_descriptor(builder.build())._j_table_descriptor.getOptions()
    assert dict(options)["sink.partitioner"] == FIXED_KEYS


def test_keep_key_order_makes_the_table_one_of_our_table_factory() -> None:
    ordered = ddl("http://localhost:4567", "'sink.keep-key-order' = 'true'")
    prepared = prepare_statement(ordered)
    [table] = ddl_tables(prepared)
    assert table.options["connector"] == "pyflink-kinesis"
    assert table.options["sink.http-client.protocol.version"] == "HTTP1_1"
    assert prepare_statement(prepared) == prepared
    schema = Schema.new_builder().column("id", DataTypes.BIGINT()).build()
    descriptor = table_descriptor("s", schema, {**LOCAL, "sink.keep-key-order": "true"}, "json")
    assert dict(descriptor._j_table_descriptor.getOptions())["connector"] == "pyflink-kinesis"
    assert dict(prepare_descriptor(descriptor)._j_table_descriptor.getOptions())[
        "sink.http-client.protocol.version"] == "HTTP1_1"


ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders"


def test_a_stream_arn_table_becomes_ours_and_a_stream_table_stays_the_connectors() -> None:
    by_arn = ddl("http://localhost:4567", "'source.init.position' = 'TRIM_HORIZON'").replace(
        "'stream' = 'orders'", f"'stream.arn' = '{ARN}'")
    legacy = ddl("http://localhost:4567", "'scan.stream.initpos' = 'TRIM_HORIZON'").replace(
        "TABLE orders", "TABLE legacy")
    prepared = prepare_statement(by_arn + ";\n" + legacy)
    ours, connectors = ddl_tables(prepared)
    assert ours.options == {
        **ddl_tables(by_arn)[0].options,
        "connector": "pyflink-kinesis",
        "sink.http-client.protocol.version": "HTTP1_1",
    }
    assert connectors.options["connector"] == "kinesis"
    assert prepare_statement(prepared) == prepared
    schema = Schema.new_builder().column("id", DataTypes.BIGINT()).build()
    from pyflink.table import TableDescriptor

    builder = TableDescriptor.for_connector("kinesis").schema(schema).format("json")
    for key, value in {**LOCAL, "stream.arn": ARN}.items():
        builder = builder.option(key, value)
    options = dict(prepare_descriptor(builder.build())._j_table_descriptor.getOptions())
    assert options["connector"] == "pyflink-kinesis"


def test_show_create_table_text_gets_its_secrets_masked() -> None:
    shown = """CREATE TABLE `default_catalog`.`default_database`.`e` (
  `id` BIGINT,
  `at` TIMESTAMP(3) WITH LOCAL TIME ZONE METADATA FROM 'timestamp' VIRTUAL
) WITH (
  'aws.credentials.basic.secretkey' = 'it''s-secret',
  'connector' = 'pyflink-kinesis',
  'aws.credentials.role.provider.basic.secretkey' = 'nested-secret',
  'aws.credentials.role.externalId' = 'external-id',
  'aws.credentials.basic.accesskeyid' = 'AKID'
)"""
    masked = masked_ddl(shown)
    assert masked == shown.replace("'it''s-secret'", "'****'").replace(
        "'nested-secret'", "'****'").replace("'external-id'", "'****'")
    other = "CREATE TABLE t (id BIGINT) WITH ('connector' = 'jdbc', 'password' = 'p')"
    assert masked_ddl(other) == other


def test_create_table_ddl_quotes_values_and_round_trips() -> None:
    config = {
        **LOCAL, "flink.stream.initpos": "TRIM_HORIZON", "sink.partitioner-field-delimiter": "'"
    }
    text = create_table_ddl("orders", "id BIGINT, customer STRING", "in", config, "json",
                            partitioned_by=["customer"])
    [table] = ddl_tables(text)
    assert table.options["scan.stream.initpos"] == "TRIM_HORIZON"  # the DataStream key, as SQL
    assert table.options["sink.partitioner-field-delimiter"] == "'"
    assert table.partitioned_by == ("customer",)
    assert prepare_statement(text) == text  # already complete


def test_descriptor_helper_rejects_what_ddl_would() -> None:
    with pytest.raises(KinesisConfigError, match=r"'flink\.stream\.initpos \(as scan"):
        table_descriptor("in", Schema.new_builder().build(), {**LOCAL,
                         "flink.stream.initpos": "SOMEWHERE"}, "json")


def test_hand_built_descriptors_are_checked_and_completed() -> None:
    from pyflink.table import TableDescriptor

    schema = Schema.new_builder().column("id", DataTypes.BIGINT()).build()
    builder = TableDescriptor.for_connector("kinesis").schema(schema).format("json")
    for key, value in {**LOCAL, "stream": "in"}.items():
        builder = builder.option(key, value)
    completed = prepare_descriptor(builder.build())
    options = dict(completed._j_table_descriptor.getOptions())
    assert options["sink.http-client.protocol.version"] == "HTTP1_1"
    with pytest.raises(KinesisConfigError, match=r"scan\.stream\.initpos"):
        prepare_descriptor(builder.option("scan.stream.initpos", "NOPE").build())


def test_a_table_job_in_a_jvm_started_before_import_ships_the_jars() -> None:
    result = run_python("""
        import json
        from pyflink.table import EnvironmentSettings, TableEnvironment
        t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        import pyflink_kinesis
        t_env.execute_sql(
            "CREATE TABLE k (id BIGINT) WITH ('connector' = 'kinesis', 'stream' = 's', "
            "'format' = 'json', 'aws.region' = 'us-east-1')")
        t_env.execute_sql("CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', "
                          "'number-of-rows' = '1')")
        t_env.execute_sql("CREATE TABLE b (id BIGINT) WITH ('connector' = 'blackhole')")
        t_env.execute_sql("INSERT INTO b SELECT id FROM g").wait()
        print(json.dumps({"pipeline_jars": t_env.get_config().get("pipeline.jars", "")}))
    """)
    shipped = str(result["pipeline_jars"])
    assert all(shipped.count(url) == 1 for url in expected_urls()), shipped
