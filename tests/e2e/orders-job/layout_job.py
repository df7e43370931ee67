"""A job whose local code has every layout ``pyflink-kinesis bundle`` carries (test_deploy.py).

Reads JSON orders from the ``InputStream`` property group's stream, keeps the paid ones and
writes a summary of each to the ``OutputStream`` group's stream, keyed by customer. The summary
is made by the script's local code, which runs in the cluster's Python workers:

* ``shaping`` (a package) parses orders and keeps the paid ones;
* ``pricing`` (a module beside the script) prices them with ``shaping.rules`` (a nested package)
  and the discounts it reads from its data file ``discounts.json`` with ``importlib.resources``;
* ``labels`` (a namespace package: a folder without ``__init__.py``) labels them.
"""

from __future__ import annotations

import json

from labels.text import label
from pricing import total
from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from shaping.orders import is_paid, parse

import pyflink_kinesis
from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    PartitionKeyGenerator,
    application_properties,
)


def summary(line: str) -> str:
    """The output record of one paid order (JSON text)."""
    order = parse(line)
    return json.dumps({"customer": order.customer, "order_id": order.order_id,
                       "total": total(order), "label": label(order)}, sort_keys=True)


def main() -> None:
    groups = application_properties()
    source, target = dict(groups["InputStream"]), dict(groups["OutputStream"])
    input_stream, output_stream = source.pop("stream.name"), target.pop("stream.name")
    print(f"pyflink_kinesis {pyflink_kinesis.__version__} from {pyflink_kinesis.__file__}",
          flush=True)
    env = StreamExecutionEnvironment.get_execution_environment()
    consumer = FlinkKinesisConsumer(
        input_stream, SimpleStringSchema(), {"flink.stream.initpos": "TRIM_HORIZON", **source}
    )
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(target)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.json_field("customer"))
        .set_stream_name(output_stream)
        .set_max_time_in_buffer_ms(200)
        .build()
    )
    env.add_source(consumer, "orders").filter(is_paid).map(
        summary, output_type=Types.STRING()
    ).sink_to(sink)
    env.execute(f"layouts: {input_stream} -> {output_stream}")


if __name__ == "__main__":
    main()
