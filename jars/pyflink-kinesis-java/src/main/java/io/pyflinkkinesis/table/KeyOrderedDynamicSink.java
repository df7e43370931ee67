package io.pyflinkkinesis.table;

import io.pyflinkkinesis.sink.KeyOrderedKinesisStreamsSink;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.data.RowData;

/**
 * The connector's Kinesis table sink, its records written in per-key order: everything (schema,
 * format, partition keys, static partitions, every option) is the connector sink's, whose
 * {@code KinesisStreamsSink} is written by a {@link KeyOrderedKinesisStreamsSink}.
 */
final class KeyOrderedDynamicSink extends WrappedDynamicSink {

    /** @param sink the connector's, which builds a {@code KinesisStreamsSink} */
    KeyOrderedDynamicSink(DynamicTableSink sink) {
        super(sink, "key order kept");
    }

    @Override
    Sink<RowData> wrap(KinesisStreamsSink<RowData> connectorSink) {
        return KeyOrderedKinesisStreamsSink.of(connectorSink);
    }

    @Override
    public DynamicTableSink copy() {
        return new KeyOrderedDynamicSink(sink.copy());
    }
}
