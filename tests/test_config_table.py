"""``table_options``, ``ddl_tables`` and ``check_ddl``: the WITH options of kinesis tables."""

from __future__ import annotations

import re
from typing import Any, Mapping

import pytest

from pyflink_kinesis.config import (
    CONSUMER_KEYS,
    FORMAT_KEYS,
    SINK_OPTIONS,
    TABLE_KEYS,
    DdlTable,
    check_ddl,
    consumer_properties,
    ddl_tables,
    table_options,
)
from pyflink_kinesis.config.aws import AWS_KEYS
from pyflink_kinesis.config.table import (
    DEPRECATED_PRODUCER_OPTIONS,
    NEWER_CONNECTOR_OPTIONS,
    TABLE_SINK_KEYS,
    TABLE_SOURCE_KEYS,
    java_key,
    table_key,
)
from pyflink_kinesis.errors import KinesisConfigError, KinesisConfigWarning

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
MIB = 1024 * 1024
TABLE = {"connector": "kinesis", "stream": "orders", "format": "json", "aws.region": "us-east-1"}
MINIMAL = {"stream": "orders", "format": "json", "aws.region": "us-east-1"}
BY_NAME = {key.name: key for key in TABLE_KEYS.keys}


def problems(config: Mapping[str, object], **arguments: Any) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as raised:
        table_options(config, **arguments)
    assert raised.value.subject == "kinesis table options"
    return {problem.key: problem.message for problem in raised.value.problems}


def ddl_problems(sql: str) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as raised:
        check_ddl(sql)
    return {problem.key: problem.message for problem in raised.value.problems}


# --- Option names: the translation Flink makes, and the tables derived by it -------------------


@pytest.mark.parametrize(
    ("option", "key"),
    [
        ("scan.stream.initpos", "flink.stream.initpos"),
        ("scan.stream.initpos-timestamp", "flink.stream.initpos.timestamp"),
        ("scan.stream.initpos-timestamp-format", "flink.stream.initpos.timestamp.format"),
        ("scan.stream.efo.consumerarn.orders", "flink.stream.efo.consumerarn.orders"),
        ("aws.credentials.provider", "aws.credentials.provider"),
        ("aws.credentials.basic.secretkey", "aws.credentials.provider.basic.secretkey"),
        ("aws.credentials.role.provider", "aws.credentials.provider.role.provider"),
        (
            "aws.credentials.role.provider.basic.accesskeyid",
            "aws.credentials.provider.role.provider.basic.accesskeyid",
        ),
        ("sink.http-client.protocol.version", "aws.http.protocol.version"),
        ("sink.http-client.max-concurrency", "aws.http-client.max-concurrency"),
        ("aws.region", "aws.region"),
        ("aws.clientconfig.socketTimeout", "aws.clientconfig.socketTimeout"),
        ("sink.batch.max-size", "sink.batch.max-size"),
        ("stream", "stream"),
    ],
)
def test_options_translate_to_connector_keys_and_back(option: str, key: str) -> None:
    assert java_key(option) == key
    assert table_key(key) == option


def test_java_mangles_datastream_credential_keys_in_a_table() -> None:
    assert java_key("aws.credentials.provider.basic.secretkey") == (
        "aws.credentials.provider.provider.basic.secretkey"
    )


def test_every_table_option_translates_back_to_itself() -> None:
    for key in TABLE_KEYS.keys:
        assert table_key(java_key(key.name)) == key.name


def test_scan_options_are_the_consumer_keys_renamed() -> None:
    consumer_only = [key for key in CONSUMER_KEYS.keys if key not in AWS_KEYS.keys]
    for key in consumer_only:
        option = BY_NAME[table_key(key.name)]
        assert option in TABLE_SOURCE_KEYS.keys
        same = ("type", "default", "allowed", "minimum", "maximum", "unit", "java", "java_enum")
        assert [getattr(option, name) for name in same] == [getattr(key, name) for name in same]
    assert len(TABLE_SOURCE_KEYS.keys) == len(consumer_only) + 1  # and scan.shard-assigner


def test_aws_options_are_the_aws_keys_renamed() -> None:
    for key in AWS_KEYS.keys:
        option = BY_NAME[table_key(key.name)]
        assert (option.type, option.default, option.secret) == (key.type, key.default, key.secret)


def test_sink_options_are_the_builder_options_with_their_limits() -> None:
    builder_only = {"max_record_size_in_bytes"}  # a table sink takes records up to 1 MiB
    for key in SINK_OPTIONS.keys:
        options = [
            option for option in TABLE_SINK_KEYS.keys if option.java_default == key.java_default
        ]
        assert len(options) == (key.name not in builder_only), key.name
        for option in options:
            assert (option.type, option.default, option.maximum) == (
                key.type,
                key.default,
                key.maximum,
            )


def test_every_option_names_what_it_mirrors_in_the_jar() -> None:
    """So that tests/test_config_table_matches_jar.py compares each one with the jar."""
    for table in (TABLE_KEYS, *FORMAT_KEYS.values()):
        assert [key.name for key in table.keys if key.java is None] == []


def test_docs_name_table_options() -> None:
    docs = " ".join(key.doc for key in TABLE_KEYS.keys)
    assert not re.search(r"\bflink\.|aws\.credentials\.provider\.|max_batch_size", docs)


def test_the_5x_options_map_to_table_options() -> None:
    for option in NEWER_CONNECTOR_OPTIONS.values():
        assert TABLE_KEYS.find(option) is not None, option


def test_deprecated_producer_options_map_to_table_options() -> None:
    for option in DEPRECATED_PRODUCER_OPTIONS.values():
        assert TABLE_KEYS.find(option) is not None, option


# --- table_options: what passes ------------------------------------------------------------


def test_a_minimal_table_passes_as_strings() -> None:
    config = {**TABLE, "scan.shard.getrecords.maxrecordcount": 500, "sink.fail-on-error": True}
    assert table_options(config) == {
        **TABLE,
        "scan.shard.getrecords.maxrecordcount": "500",
        "sink.fail-on-error": "true",
    }


def test_connector_is_optional() -> None:
    assert table_options(MINIMAL) == MINIMAL


def test_one_datastream_config_serves_the_consumer_and_the_table() -> None:
    datastream = {
        "aws.region": "us-east-1",
        "aws.credentials.provider": "BASIC",
        "aws.credentials.provider.basic.accesskeyid": "AKIA",
        "aws.credentials.provider.basic.secretkey": SECRET,
        "flink.stream.initpos": "AT_TIMESTAMP",
        "flink.stream.initpos.timestamp": "2024-01-02T03:04:05.678+00:00",
        "flink.shard.consumer.error.recoverable[0].exception": "java.io.IOException",
    }
    consumer_properties(datastream, ["orders"])
    assert table_options({**datastream, "stream": "orders", "format": "json"}) == {
        "aws.region": "us-east-1",
        "aws.credentials.provider": "BASIC",
        "aws.credentials.basic.accesskeyid": "AKIA",
        "aws.credentials.basic.secretkey": SECRET,
        "scan.stream.initpos": "AT_TIMESTAMP",
        "scan.stream.initpos-timestamp": "2024-01-02T03:04:05.678+00:00",
        "scan.shard.consumer.error.recoverable[0].exception": "java.io.IOException",
        "stream": "orders",
        "format": "json",
    }


def test_sink_client_keys_of_the_datastream_sink_become_sink_options() -> None:
    config = {**MINIMAL, "aws.http.protocol.version": "HTTP1_1", "aws.http-client.read-timeout": 5}
    assert table_options(config, role="sink") == {
        **MINIMAL,
        "sink.http-client.protocol.version": "HTTP1_1",
        "sink.http-client.read-timeout": "5",
    }


def test_a_format_this_package_does_not_know_passes_with_its_options() -> None:
    config = {**MINIMAL, "format": "debezium-json", "debezium-json.schema-include": "true"}
    assert table_options(config) == config


@pytest.mark.parametrize(
    ("format_name", "option", "value"),
    [
        ("json", "json.map-null-key.mode", "drop"),
        ("raw", "raw.endianness", "Little-Endian"),
        ("avro", "avro.encoding", "JSON"),
    ],
)
def test_format_choices_take_any_letter_case_as_flink_does(
    format_name: str, option: str, value: str
) -> None:
    config = {**MINIMAL, "format": format_name, option: value}
    assert table_options(config) == config


def test_custom_credentials_let_unknown_aws_keys_through_for_the_provider() -> None:
    custom = {
        **MINIMAL,
        "aws.credentials.provider": "CUSTOM",
        "aws.credentials.custom.class": "com.example.Provider",
        "aws.credentials.custom.tenant": "blue",
    }
    assert table_options(custom, role="sink") == custom
    without = {**MINIMAL, "aws.credentials.custom.tenant": "blue"}
    assert "unknown key" in problems(without)["aws.credentials.custom.tenant"]


# --- table_options: what is reported ---------------------------------------------------------


def test_three_mistakes_are_three_problems_in_one_error() -> None:
    found = problems({"stream": "orders", "format": "json", "scan.stream.initpos": "latest"})
    assert list(found) == ["scan.stream.initpos", "aws.region"]
    assert "did you mean 'LATEST'?" in found["scan.stream.initpos"]
    assert list(problems({})) == ["stream", "format", "aws.region"]


@pytest.mark.parametrize(
    ("connector", "message"),
    [
        ("kafka", "'kafka' is not 'kinesis'"),
        ("kinesis-legacy", "is the 5.x connector's name of this table; 4.3 calls it 'kinesis'"),
    ],
)
def test_connector_must_be_kinesis_when_given(connector: str, message: str) -> None:
    assert message in problems({**MINIMAL, "connector": connector})["connector"]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ("arn:aws:kinesis:us-east-1:123456789012:stream/orders", "is an ARN"),
        ("orders!", "is not a Kinesis stream name"),
        ("", "is empty"),
    ],
)
def test_stream_must_be_a_stream_name(stream: str, message: str) -> None:
    found = problems({**MINIMAL, "stream": stream})
    assert list(found) == ["stream"] and message in found["stream"]


def test_a_format_name_in_other_letters_gets_a_hint() -> None:
    found = problems({**MINIMAL, "format": "JSON", "json.ignore-parse-errors": "true"})
    assert found["format"] == "did you mean 'json'? Formats are case-sensitive"
    assert found["json.ignore-parse-errors"] == (
        "is an option of the 'json' format, and 'format' is 'JSON'"
    )


def test_format_options_are_checked_against_the_format() -> None:
    found = problems(
        {
            **MINIMAL,
            "csv.field-delimiter": ";",
            "json.fail-on-missing-feld": "true",
            "json.ignore-parse-errors": "yes",
            "json.timestamp-format.standard": "iso-8601",
            "json.map-null-key.mode": "SKIP",
        }
    )
    assert found == {
        "json.ignore-parse-errors": (
            "'yes' must be true or false (Java's Boolean.parseBoolean would silently read it as "
            "false)"
        ),
        "json.timestamp-format.standard": (
            "'iso-8601' is not one of SQL, ISO-8601 (case-sensitive: Java uses Enum.valueOf); "
            "did you mean 'ISO-8601'?"
        ),
        "csv.field-delimiter": "is an option of the 'csv' format, and 'format' is 'json'",
        "json.fail-on-missing-feld": "unknown key; did you mean 'json.fail-on-missing-field'?",
        "json.map-null-key.mode": "'SKIP' is not one of FAIL, DROP, LITERAL",
    }


def test_unknown_options_get_the_closest_table_option_even_for_datastream_typos() -> None:
    found = problems(
        {**MINIMAL, "scan.shard.getrecords.maxrecordcnt": 1, "flink.stream.initpso": 1}
    )
    assert found == {
        "scan.shard.getrecords.maxrecordcnt": (
            "unknown key; did you mean 'scan.shard.getrecords.maxrecordcount'?"
        ),
        "flink.stream.initpso": "unknown key; did you mean 'scan.stream.initpos'?",
    }


def test_the_dotted_timestamp_spelling_is_not_taken() -> None:
    found = problems({**MINIMAL, "scan.stream.initpos.timestamp": "1459799926"})
    assert found == {
        "scan.stream.initpos.timestamp": (
            "unknown key; did you mean 'scan.stream.initpos-timestamp'?"
        )
    }


def test_a_datastream_key_and_its_table_twin_are_a_problem_naming_both() -> None:
    found = problems({**MINIMAL, "flink.stream.initpos": "LATEST", "scan.stream.initpos": "LATEST"})
    assert found == {
        "flink.stream.initpos": (
            "is the DataStream key of 'scan.stream.initpos', which is set too; keep one"
        )
    }


def test_without_datastream_keys_only_those_java_reads_are_taken() -> None:
    config = {
        **MINIMAL,
        "flink.stream.initpos": "LATEST",
        "aws.credentials.provider.basic.accesskeyid": "AKIA",
        "aws.http.protocol.version": "HTTP1_1",
    }
    found = problems(config, datastream_keys=False)
    assert found == {
        "flink.stream.initpos": (
            "is a DataStream key, which a table does not read; set 'scan.stream.initpos'"
        ),
        "aws.credentials.provider.basic.accesskeyid": (
            "is a DataStream key, which a table does not read; set "
            "'aws.credentials.basic.accesskeyid'"
        ),
    }
    passed_on = {**MINIMAL, "aws.http.protocol.version": "HTTP1_1"}
    assert table_options(passed_on, datastream_keys=False)["sink.http-client.protocol.version"]


def test_consumer_checks_run_on_the_scan_options() -> None:
    at_timestamp = {**MINIMAL, "scan.stream.initpos": "AT_TIMESTAMP"}
    assert problems(at_timestamp) == {
        "scan.stream.initpos-timestamp": (
            "missing; scan.stream.initpos = AT_TIMESTAMP needs it: epoch seconds like "
            "1459799926.480, or a date in scan.stream.initpos-timestamp-format"
        )
    }
    wrong_date = {
        **at_timestamp,
        "scan.stream.initpos-timestamp": "2024-01-02",
        "scan.stream.initpos-timestamp-format": "yyyy-MM-dd HH:mm",
    }
    assert "is neither epoch seconds" in problems(wrong_date)["scan.stream.initpos-timestamp"]
    efo = {**MINIMAL, "scan.stream.recordpublisher": "EFO"}
    assert problems(efo) == {
        "scan.stream.efo.consumername": (
            "missing; scan.stream.recordpublisher = EFO with scan.stream.efo.registration = LAZY "
            "needs it"
        )
    }
    none = {**efo, "scan.stream.efo.registration": "NONE"}
    assert list(problems(none)) == ["scan.stream.efo.consumerarn.orders"]
    gap = {**MINIMAL, "scan.shard.consumer.error.recoverable[1].exception": "java.io.IOException"}
    assert (
        "indices must count up from 0"
        in problems(gap)["scan.shard.consumer.error.recoverable[1].exception"]
    )


def test_credential_checks_name_the_table_options() -> None:
    lone = {**MINIMAL, "aws.credentials.basic.accesskeyid": "AKIA"}
    with pytest.warns(KinesisConfigWarning, match=(
        r"'aws.credentials.basic.secretkey': missing; 'aws.credentials.basic.accesskeyid' is "
        r"set alone, and BASIC credentials need both: Java ignores the lone key")):
        table_options(lone)
    role = {**MINIMAL, "aws.credentials.provider": "ASSUME_ROLE"}
    role["aws.credentials.role.arn"] = "arn:aws:iam::123456789012:role/reader"
    role["aws.credentials.role.sessionName"] = "reader"
    role["aws.credentials.role.provider"] = "BASIC"
    assert set(problems(role)) == {
        "aws.credentials.role.provider.basic.accesskeyid",
        "aws.credentials.role.provider.basic.secretkey",
    }


def test_custom_credentials_fail_a_table_that_is_read() -> None:
    custom = {
        **MINIMAL,
        "aws.credentials.provider": "CUSTOM",
        "aws.credentials.custom.class": "com.example.Provider",
    }
    assert "CUSTOM does not work" in problems(custom)["aws.credentials.provider"]
    assert "CUSTOM does not work" in problems(custom, role="source")["aws.credentials.provider"]
    assert table_options(custom, role="sink") == custom


@pytest.mark.parametrize(
    ("name", "option", "message"),
    [
        ("source.init.position", "scan.stream.initpos", "set 'scan.stream.initpos', "),
        (
            "source.shard.discovery.interval",
            "scan.shard.discovery.intervalmillis",
            "set 'scan.shard.discovery.intervalmillis', in ms, ",
        ),
    ],
)
def test_source_options_in_a_stream_table_name_their_scan_twin_and_stream_arn(
    name: str, option: str, message: str
) -> None:
    found = problems({**MINIMAL, name: "x"})[name]
    assert found.startswith("is an option of 'stream.arn' tables (connector 5.x's 'kinesis' DDL)")
    assert message in found
    assert found.endswith("name the stream with 'stream.arn' instead of 'stream' to read with "
                          "KinesisStreamsSource, which takes the source.* options")
    assert option in NEWER_CONNECTOR_OPTIONS.values()


def test_a_source_option_beside_its_scan_twin_says_keep_the_scan_one() -> None:
    found = problems({**MINIMAL, "source.init.position": "LATEST", "scan.stream.initpos": "LATEST"})
    assert found["source.init.position"].endswith(
        "and its equivalent 'scan.stream.initpos' is set too; keep 'scan.stream.initpos' only"
    )
    datastream = {**MINIMAL, "source.init.position": "LATEST", "flink.stream.initpos": "LATEST"}
    assert "its equivalent 'scan.stream.initpos'" in problems(datastream)["source.init.position"]


def test_other_source_options_in_a_stream_table_point_at_both_families() -> None:
    found = problems({**MINIMAL, "source.reader.nonempty-records-fetch-interval": "1 s"})
    assert "which takes 'scan.*' source options; or name the stream with 'stream.arn'" in found[
        "source.reader.nonempty-records-fetch-interval"]


# --- 'stream.arn' tables (connector 5.x's kinesis DDL, read by KinesisStreamsSource) ------------

ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
BY_ARN = {"connector": "kinesis", "stream.arn": ARN, "format": "json", "aws.region": "us-east-1"}


def test_a_stream_arn_table_takes_the_5x_source_options_as_written() -> None:
    table = {
        **BY_ARN,
        "source.init.position": "AT_TIMESTAMP",
        "source.init.timestamp": "2026-12-06T22:00:00.000Z",
        "source.shard.discovery.interval": "2 s",
        "source.reader.empty-records-fetch-interval": "100ms",
        "source.shard.get-records.max-record-count": 500,
        "json.ignore-parse-errors": True,
        "sink.partitioner": "random",
    }
    assert table_options(table) == {name: str(value).lower() if isinstance(value, bool)
                                     else str(value) for name, value in table.items()}


def test_a_stream_arn_table_needs_its_arn_format_and_region_and_names_what_is_missing() -> None:
    found = problems({"connector": "kinesis", "stream.arn": ARN})
    assert found["format"] == "missing; set like 'json'"
    assert "aws.region" in found
    assert problems({"format": "json", "aws.region": "us-east-1"})["stream"] == (
        "missing; set the Kinesis stream's name (or 'stream.arn', its ARN)")


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("orders", "'orders' is not a Kinesis stream ARN like arn:aws:kinesis:"),
        ("arn:aws:kinesis:eu-west-1:000000000000:stream/orders",
         "the stream is in eu-west-1 but aws.region is us-east-1"),
    ],
)
def test_the_stream_arn_is_a_stream_arn_of_the_region(arn: str, message: str) -> None:
    assert problems({**BY_ARN, "stream.arn": arn})["stream.arn"].startswith(message)


def test_mixing_the_families_in_a_stream_arn_table_says_what_to_change() -> None:
    found = problems({
        **BY_ARN,
        "stream": "orders",
        "scan.stream.initpos": "LATEST",
        "scan.shard.discovery.intervalmillis": "100",
        "scan.stream.describe.backoff.base": "100",
        "flink.stream.initpos.timestamp": "1459799926.480",
    })
    assert found["stream"].startswith("and 'stream.arn' are both set: keep 'stream.arn' to read "
                                      "with KinesisStreamsSource")
    legacy = "is an option of 'stream' tables (read by FlinkKinesisConsumer); "
    assert found["scan.stream.initpos"] == legacy + (
        "this 'stream.arn' table takes 'source.init.position', one of TRIM_HORIZON, LATEST, "
        "AT_TIMESTAMP")
    assert found["scan.shard.discovery.intervalmillis"] == legacy + (
        "this 'stream.arn' table takes 'source.shard.discovery.interval', a duration like "
        "'10 s' or '250 ms'")
    assert found["scan.stream.describe.backoff.base"] == legacy + (
        "this 'stream.arn' table has no equivalent, so remove it: the source does not call "
        "DescribeStream")
    assert "flink.stream.initpos.timestamp (as scan.stream.initpos-timestamp)" in found


def test_stream_arn_table_values_are_checked_every_one_at_once() -> None:
    found = problems({
        **BY_ARN,
        "source.init.position": "EARLIEST",
        "source.shard.discovery.interval": "PT10S",
        "source.shard.get-records.max-record-count": "20000",
        "source.reader.type": "EFO",
        "source.shard-assigner": "uniform",
        "source.init.timestamp.format": "yyyy-MM-dd",
        "source.inti.timestamp": "x",
    })
    assert found["source.init.position"].startswith("'EARLIEST' is not one of TRIM_HORIZON, ")
    assert "is not a duration like '10 s'" in found["source.shard.discovery.interval"]
    assert "20000" in found["source.shard.get-records.max-record-count"]
    assert found["source.efo.consumer.name"].startswith(
        "missing; source.reader.type = EFO needs the name of the EFO consumer")
    assert "uniform assigner; remove it" in found["source.shard-assigner"]
    assert "did you mean 'source.init.timestamp'?" in found["source.inti.timestamp"]
    assert len(found) == 6


def test_at_timestamp_in_a_stream_arn_table_is_checked_with_the_5x_names() -> None:
    start = {**BY_ARN, "source.init.position": "AT_TIMESTAMP"}
    assert problems(start)["source.init.timestamp"].endswith(
        "or a date in source.init.timestamp.format")
    found = problems({**start, "source.init.timestamp": "yesterday"})
    assert found["source.init.timestamp"].startswith("'yesterday' is neither epoch seconds")
    assert table_options({**start, "source.init.timestamp": "1459799926.480"})


def test_a_stream_arn_tables_secrets_are_never_shown() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        table_options({
            **BY_ARN,
            "aws.credentials.provider": "BASIC",
            "aws.credentials.basic.accesskeyid": "id",
            "aws.credentials.basic.secretkey": SECRET,
            "source.init.position": "NOWHERE",
        })
    assert SECRET not in str(raised.value)


def test_a_stream_arn_table_read_only_refuses_sink_options_and_the_reverse() -> None:
    assert "sink.partitioner" in problems({**BY_ARN, "sink.partitioner": "random"}, role="source")
    found = problems({**BY_ARN, "source.init.position": "LATEST"}, role="sink")
    assert found["source.init.position"] == (
        "only the source reads it, and this table's role is 'sink'")


def test_check_ddl_takes_a_stream_arn_table_and_reports_a_mixed_one() -> None:
    check_ddl(f"""CREATE TABLE orders (id BIGINT) WITH ('connector' = 'kinesis',
        'stream.arn' = '{ARN}', 'aws.region' = 'us-east-1', 'format' = 'json',
        'source.init.position' = 'TRIM_HORIZON')""")
    found = ddl_problems(f"""CREATE TABLE orders (id BIGINT) WITH ('connector' = 'kinesis',
        'stream.arn' = '{ARN}', 'aws.region' = 'us-east-1', 'format' = 'json',
        'scan.stream.initpos' = 'TRIM_HORIZON')""")
    assert list(found) == ["orders: scan.stream.initpos"]


def test_producer_options_of_older_sinks_name_their_replacement() -> None:
    found = problems(
        {**MINIMAL, "sink.producer.collection-max-count": 5, "sink.producer.aggregation-enabled": 1}
    )
    assert found == {
        "sink.producer.collection-max-count": (
            "is a deprecated KinesisProducer (KPL) option; set 'sink.requests.max-inflight' instead"
        ),
        "sink.producer.aggregation-enabled": (
            "is a KinesisProducer (KPL) option; this sink has none (Java ignores it)"
        ),
    }


def test_options_of_the_other_side_are_problems_for_one_role() -> None:
    config = {
        **MINIMAL,
        "scan.stream.initpos": "LATEST",
        "aws.clientconfig.socketTimeout": "1000",
        "sink.batch.max-size": 100,
        "aws.trust.all.certificates": "true",
    }
    assert problems(config, role="source") == {
        "sink.batch.max-size": "only the sink reads it, and this table's role is 'source'",
        "aws.trust.all.certificates": "only the sink reads it, and this table's role is 'source'",
    }
    assert problems(config, role="sink") == {
        "scan.stream.initpos": "only the source reads it, and this table's role is 'sink'",
        "aws.clientconfig.socketTimeout": (
            "only the source reads it, and this table's role is 'sink'"
        ),
    }
    assert table_options(config) == {key: str(value) for key, value in config.items()}


def test_a_role_must_be_one_of_three_and_a_config_a_mapping() -> None:
    with pytest.raises(ValueError, match="role must be 'source', 'sink' or 'both', got 'reader'"):
        table_options(MINIMAL, role="reader")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got list"):
        table_options([("stream", "orders")])  # type: ignore[arg-type]


def test_the_partitioner_is_not_for_partitioned_tables() -> None:
    partitioned = {**MINIMAL, "sink.partitioner": "random"}
    assert problems(partitioned, partitioned_by=["region", "id"]) == {
        "sink.partitioner": (
            "cannot be set on a table with PARTITIONED BY (region, id): its partition keys are "
            "then made of those columns"
        )
    }
    assert table_options(partitioned) == partitioned
    assert table_options(MINIMAL, partitioned_by=["region"]) == MINIMAL


@pytest.mark.parametrize(
    ("partitioner", "message"),
    [
        ("Fixed", "did you mean 'fixed'? Java compares case-sensitively and would load a class"),
        (
            "my partitioner",
            "'my partitioner' is neither random nor fixed, and is not a fully qualified Java "
            "class name",
        ),
    ],
)
def test_the_partitioner_is_random_fixed_or_a_class(partitioner: str, message: str) -> None:
    assert problems({**MINIMAL, "sink.partitioner": partitioner}) == {"sink.partitioner": message}
    for valid in ("random", "fixed", "com.example.OrderKeys"):
        table_options({**MINIMAL, "sink.partitioner": valid})


def test_keep_key_order_is_a_boolean_sink_option_of_our_table() -> None:
    ordered = {**MINIMAL, "sink.keep-key-order": "true"}
    assert table_options(ordered) == ordered
    assert table_options({**ordered, "connector": "pyflink-kinesis"})["connector"] == (
        "pyflink-kinesis"
    )
    assert problems({**MINIMAL, "sink.keep-key-order": "yes"}) == {
        "sink.keep-key-order": "'yes' must be true or false (Java's Boolean.parseBoolean would "
        "silently read it as false)"
    }
    assert problems(ordered, role="source") == {
        "sink.keep-key-order": "only the sink reads it, and this table's role is 'source'"
    }
    [table] = ddl_tables(
        "CREATE TABLE t (id BIGINT) WITH ('connector' = 'pyflink-kinesis', 'stream' = 's', "
        "'format' = 'json', 'aws.region' = 'us-east-1')"
    )
    assert table.options["connector"] == "pyflink-kinesis"


def test_exactly_once_is_a_sink_option_of_our_table_with_its_buffer_and_timeout() -> None:
    once = {
        **MINIMAL,
        "sink.delivery-guarantee": "exactly-once",
        "sink.exactly-once.max-buffered-bytes": str(8 * MIB),
        "sink.exactly-once.commit-timeout": "30 s",
    }
    assert table_options(once) == once
    assert table_options({**MINIMAL, "sink.delivery-guarantee": "Exactly-Once"})
    assert table_options({**MINIMAL, "sink.delivery-guarantee": "at-least-once"})


def test_exactly_once_mistakes_are_reported_all_at_once() -> None:
    assert problems(
        {
            **MINIMAL,
            "sink.delivery-guarantee": "exactly-once",
            "sink.exactly-once.max-buffered-bytes": "1000",
            "sink.exactly-once.commit-timeout": "soon",
            "sink.keep-key-order": "true",
            "sink.batch.max-size": "10",
        }
    ) == {
        "sink.exactly-once.max-buffered-bytes": "'1000' is out of range: must be >= 1048576",
        "sink.exactly-once.commit-timeout": "'soon' is not a duration like '10 s', '250 ms', "
        "'1 min' (a whole number, then d, h, min, s, ms, µs or ns; a number alone is "
        "milliseconds)",
        "sink.keep-key-order": "set, but with 'sink.delivery-guarantee' = 'exactly-once' the sink "
        "does not use it: it writes each checkpoint's rows once the checkpoint completes, "
        "aggregated and in order per shard",
        "sink.batch.max-size": "set, but with 'sink.delivery-guarantee' = 'exactly-once' the sink "
        "does not use it: it writes each checkpoint's rows once the checkpoint completes, "
        "aggregated and in order per shard",
    }
    assert problems(
        {
            **MINIMAL,
            "sink.delivery-guarantee": "once",
            "sink.exactly-once.commit-timeout": "5 s",
        }
    ) == {
        "sink.delivery-guarantee": "'once' is not one of at-least-once, exactly-once",
        "sink.exactly-once.commit-timeout": "set, but the sink is at-least-once: add "
        "'sink.delivery-guarantee' = 'exactly-once'",
    }
    assert problems({**MINIMAL, "sink.delivery-guarantee": "exactly-once"}, role="source") == {
        "sink.delivery-guarantee": "only the sink reads it, and this table's role is 'source'"
    }


def test_shard_assigner_ids_are_case_sensitive_and_custom_ones_pass() -> None:
    assert problems({**MINIMAL, "scan.shard-assigner": "Uniform"}) == {
        "scan.shard-assigner": (
            "did you mean 'uniform'? Java matches assigner ids case-sensitively and falls back to "
            "'default' for unknown ones"
        )
    }
    table_options({**MINIMAL, "scan.shard-assigner": "my-assigner"})


def test_sink_options_keep_the_relations_of_the_sink() -> None:
    found = problems(
        {
            **MINIMAL,
            "sink.requests.max-buffered": 400,
            "sink.batch.max-size": 400,
            "sink.requests.max-inflight": 10_000_000,
            "sink.flush-buffer.size": MIB - 1,
        }
    )
    assert found == {
        "sink.flush-buffer.size": "1048575 is out of range: must be 1048576 to 5242880",
        "sink.requests.max-buffered": "400 must be greater than sink.batch.max-size (400)",
        "sink.requests.max-inflight": (
            "sink.batch.max-size * sink.requests.max-inflight (4000000000) must fit in a Java "
            "int: the sink's AIMD rate limit is sized by it"
        ),
    }
    default = problems({**MINIMAL, "sink.requests.max-buffered": 500})
    assert default["sink.requests.max-buffered"].endswith("(500, the default)")


def test_secrets_are_never_shown() -> None:
    config = {
        "aws.credentials.basic.secretkey": SECRET,
        "aws.credentials.provider.basic.secretkey": SECRET,
        "aws.credentials.basic.secretkye": SECRET,
        "aws.credentials.role.provider.basic.secretkey": "",
        "json.map-null-key.literal": SECRET,
        "my.session.token": SECRET,
    }
    with pytest.raises(KinesisConfigError) as raised:
        table_options(config)
    assert SECRET not in str(raised.value) and SECRET not in repr(raised.value)
    messages = {problem.key: problem.message for problem in raised.value.problems}
    assert messages["aws.credentials.role.provider.basic.secretkey"].startswith("**** is empty")


# --- ddl_tables ------------------------------------------------------------------------------

SCRIPT = """
-- tables; of 'the' job
CREATE TEMPORARY TABLE IF NOT EXISTS `cat`.db.`orders ``v2``` (
  id BIGINT,
  region STRING,
  arrived TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  WATERMARK FOR arrived AS arrived - INTERVAL '5' SECOND
) COMMENT 'orders; with ''quotes''' PARTITIONED BY (region, `id`)
WITH (
  'connector' = 'kinesis', /* the 'stream' below; */
  'stream' = 'orders',
  'format' = 'csv', -- 'format' = 'json',
  'csv.field-delimiter' = '''',
  'aws.region' = 'us-east-1'
);
create table prints (id BIGINT) with ('connector' = 'print');
CREATE VIEW v AS SELECT * FROM orders;
INSERT INTO prints SELECT id FROM `cat`.db.`orders ``v2```;
CREATE OR REPLACE TABLE copy WITH ('connector'='kinesis', 'stream'='copy', 'format'='raw',
'aws.region'='us-east-1') AS WITH recent AS (SELECT * FROM orders) SELECT * FROM recent;
"""


def test_ddl_tables_reads_every_kinesis_create_table() -> None:
    tables = ddl_tables(SCRIPT)
    assert [(table.name, table.options, table.partitioned_by) for table in tables] == [
        (
            "cat.db.orders `v2`",
            {
                "connector": "kinesis",
                "stream": "orders",
                "format": "csv",
                "csv.field-delimiter": "'",
                "aws.region": "us-east-1",
            },
            ("region", "id"),
        ),
        (
            "copy",
            {"connector": "kinesis", "stream": "copy", "format": "raw", "aws.region": "us-east-1"},
            (),
        ),
    ]


def test_with_end_is_where_options_can_be_added() -> None:
    for table in ddl_tables(SCRIPT):
        assert SCRIPT[table.with_end] == ")"
    first = ddl_tables(SCRIPT)[0]
    added = (
        SCRIPT[: first.with_end]
        + ",\n  'scan.stream.initpos' = 'LATEST'\n"
        + (SCRIPT[first.with_end :])
    )
    assert ddl_tables(added)[0].options["scan.stream.initpos"] == "LATEST"


def test_ddl_tables_ignores_other_statements_and_connectors() -> None:
    sql = (
        "SELECT 'CREATE TABLE t WITH (''connector'' = ''kinesis'')';"
        "CREATE CATALOG c WITH ('type' = 'generic_in_memory');"
        "CREATE TABLE k (a INT) WITH ('connector' = 'Kinesis');"
        "CREATE TABLE l (a INT) LIKE other;"
        "CREATE TABLE e (a INT) WITH ();"
    )
    assert ddl_tables(sql) == []


def test_ddl_tables_repr_masks_secrets() -> None:
    sql = (
        "CREATE TABLE t (a INT) WITH ('connector' = 'kinesis', "
        f"'aws.credentials.basic.secretkey' = '{SECRET}')"
    )
    (table,) = ddl_tables(sql)
    assert table.options["aws.credentials.basic.secretkey"] == SECRET
    assert SECRET not in repr(table) and "'****'" in repr(table)
    assert isinstance(table, DdlTable)


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT 1;\nSELECT 'open", ("line 2", "a string literal is never closed")),
        ("CREATE TABLE t (a INT) /* open", ("line 1", "a comment is never closed")),
        ("CREATE TABLE `t (a INT)", ("line 1", "a backquoted name is never closed")),
        (
            "CREATE TABLE t (a INT)\nWITH (\n'connector' = 'kinesis',\n'stream')",
            ("line 4", "expected '=' after 'stream' in the WITH clause of t, found )"),
        ),
        (
            "CREATE TABLE t WITH ('connector' = 'kinesis' 'stream' = 's')",
            ("line 1", "expected ',' or ')' in the WITH clause of t, found 'stream'"),
        ),
        (
            "CREATE TABLE t WITH (connector = 'kinesis')",
            (
                "line 1",
                "expected an option name in quotes in the WITH clause of t, found connector",
            ),
        ),
        (
            "CREATE TABLE t WITH ('stream' = 'a', 'stream' = 'b')",
            ("line 1", "'stream' is given twice in the WITH clause of t"),
        ),
        (
            "CREATE TABLE t (a INT, b INT) PARTITIONED BY (a b) WITH ('connector' = 'kinesis')",
            ("line 1", "expected ',' or ')' in PARTITIONED BY of t, found b"),
        ),
        (
            "CREATE TABLE t WITH ('connector' = ",
            (
                "line 1",
                "expected a value in quotes for 'connector' in the WITH clause of t, the "
                "statement ended",
            ),
        ),
    ],
)
def test_unreadable_ddl_is_reported_with_its_line(sql: str, problem: tuple[str, str]) -> None:
    with pytest.raises(KinesisConfigError) as raised:
        ddl_tables(sql)
    assert raised.value.subject == "DDL"
    assert [(p.key, p.message) for p in raised.value.problems] == [problem]


def test_every_unreadable_statement_is_reported() -> None:
    sql = "CREATE TABLE a WITH ('x');\nCREATE TABLE b WITH ('y' = 1)"
    with pytest.raises(KinesisConfigError) as raised:
        ddl_tables(sql)
    assert [problem.key for problem in raised.value.problems] == ["line 1", "line 2"]


# --- check_ddl -------------------------------------------------------------------------------


def test_check_ddl_passes_valid_tables() -> None:
    check_ddl(SCRIPT.replace("'us-east-1'", "'us-east-1', 'scan.stream.initpos' = 'LATEST'"))


def test_check_ddl_reports_every_table_prefixed_with_its_name() -> None:
    sql = (
        "CREATE TABLE a (id INT) PARTITIONED BY (id) WITH ('connector' = 'kinesis', "
        "'stream' = 'a', 'format' = 'json', 'aws.region' = 'us-east-1', 'sink.partitioner' = "
        "'fixed');\n"
        "CREATE TABLE b (id INT) WITH ('connector' = 'kinesis', 'stream' = 'b', "
        "'format' = 'json', 'flink.stream.initpos' = 'LATEST', "
        f"'aws.credentials.basic.secretkey' = '{SECRET}')"
    )
    with pytest.raises(KinesisConfigError) as raised, \
            pytest.warns(KinesisConfigWarning) as warned:
        check_ddl(sql)
    assert raised.value.subject == "kinesis tables of the DDL"
    assert [problem.key for problem in raised.value.problems] == [
        "a: sink.partitioner",
        "b: flink.stream.initpos",
        "b: aws.region",
    ]
    [lone_key] = [str(w.message) for w in warned]
    assert "'b: aws.credentials.basic.accesskeyid': missing" in lone_key
    assert SECRET not in str(raised.value) + lone_key


def test_check_ddl_takes_datastream_keys_flink_passes_on_unchanged() -> None:
    sql = (
        "CREATE TABLE t (id INT) WITH ('connector' = 'kinesis', 'stream' = 't', "
        "'format' = 'json', 'aws.region' = 'us-east-1', 'aws.http.protocol.version' = 'HTTP1_1'"
    )
    check_ddl(sql + ")")
    both = ddl_problems(sql + ", 'sink.http-client.protocol.version' = 'HTTP2')")
    assert both == {
        "t: aws.http.protocol.version": (
            "is the DataStream key of 'sink.http-client.protocol.version', which is set too; "
            "keep one"
        )
    }


def test_check_ddl_raises_when_the_ddl_cannot_be_read() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        check_ddl("CREATE TABLE t WITH ('connector' = 'kinesis'")
    assert raised.value.subject == "DDL"


def test_format_keys_are_named_for_their_format() -> None:
    for name, keys in FORMAT_KEYS.items():
        assert all(key.name.startswith(f"{name}.") for key in keys.keys)
