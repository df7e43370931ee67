package io.pyflinkkinesis.table;

import io.pyflinkkinesis.sink.KeyOrderedKinesisStreamsSink;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.connector.sink.abilities.SupportsPartitioning;
import org.apache.flink.table.data.RowData;

import java.util.Map;

/**
 * The connector's Kinesis table sink, its records written in per-key order: everything (schema,
 * format, partition keys, static partitions, every option) is the connector sink's, whose
 * {@code KinesisStreamsSink} is written by a {@link KeyOrderedKinesisStreamsSink}.
 */
final class KeyOrderedDynamicSink implements DynamicTableSink, SupportsPartitioning {

    private final DynamicTableSink sink;

    /** @param sink the connector's, which builds a {@code KinesisStreamsSink} */
    KeyOrderedDynamicSink(DynamicTableSink sink) {
        this.sink = sink;
    }

    @Override
    public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
        return sink.getChangelogMode(requestedMode);
    }

    @Override
    @SuppressWarnings("unchecked")
    public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
        SinkRuntimeProvider provider = sink.getSinkRuntimeProvider(context);
        Sink<RowData> connectorSink = provider instanceof SinkV2Provider
                ? ((SinkV2Provider) provider).createSink()
                : null;
        if (!(connectorSink instanceof KinesisStreamsSink)) {
            throw new IllegalStateException("Expected the connector's table sink to write with a "
                    + "KinesisStreamsSink, got " + provider
                    + ": this package keeps key order for flink-connector-kinesis 4.3.0");
        }
        return SinkV2Provider.of(
                KeyOrderedKinesisStreamsSink.of((KinesisStreamsSink<RowData>) connectorSink),
                ((SinkV2Provider) provider).getParallelism().orElse(null));
    }

    @Override
    public DynamicTableSink copy() {
        return new KeyOrderedDynamicSink(sink.copy());
    }

    @Override
    public String asSummaryString() {
        return sink.asSummaryString() + " (key order kept)";
    }

    @Override
    public void applyStaticPartition(Map<String, String> partition) {
        ((SupportsPartitioning) sink).applyStaticPartition(partition);
    }

    @Override
    public boolean requiresPartitionGrouping(boolean supportsGrouping) {
        return ((SupportsPartitioning) sink).requiresPartitionGrouping(supportsGrouping);
    }
}
