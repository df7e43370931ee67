"""The demo job as a Managed Service for Apache Flink application: orders in, paid ones out.

Reads JSON orders from the stream of the ``InputStream`` property group, keeps the paid ones,
enriches them (``orders.py``, a local module) and writes them to the stream of the
``OutputStream`` group, keyed by customer. Every setting comes from the application's runtime
properties (``pyflink_kinesis.application_properties()``): on the service from the property
groups set on the application, elsewhere from the JSON file named by
``PYFLINK_KINESIS_APPLICATION_PROPERTIES`` (``application_properties.json`` beside this file
is the one docker compose uses). Each group holds ``stream.name`` and the client config of
that stream (``aws.region``, and ``aws.endpoint`` and credentials off AWS).

Bundle it with ``pyflink-kinesis bundle demo/managed_flink/app.py -o app.zip``; docs/deploy.md
shows every way to run it.
"""

from __future__ import annotations

from orders import enrich, is_paid
from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

import pyflink_kinesis
from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    PartitionKeyGenerator,
    application_properties,
)


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
    (
        env.add_source(consumer, "orders")
        .filter(is_paid)
        .map(enrich, output_type=Types.STRING())
        .sink_to(sink)
    )
    env.execute(f"demo: {input_stream} -> {output_stream} (application)")


if __name__ == "__main__":
    main()
