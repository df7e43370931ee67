package io.pyflinkkinesis.table;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.connector.sink.abilities.SupportsPartitioning;
import org.apache.flink.table.data.RowData;

import java.util.Map;

/**
 * The connector's Kinesis table sink with its {@code KinesisStreamsSink} written by a sink of
 * ours: everything else (schema, format, partition keys, static partitions, stream and client
 * properties) is the connector sink's.
 */
abstract class WrappedDynamicSink implements DynamicTableSink, SupportsPartitioning {

    final DynamicTableSink sink;
    private final String what;

    /**
     * @param sink the connector's, which builds a {@code KinesisStreamsSink}
     * @param what what ours does, for the summary and errors ("exactly-once")
     */
    WrappedDynamicSink(DynamicTableSink sink, String what) {
        this.sink = sink;
        this.what = what;
    }

    /** The sink of ours that writes what {@code connectorSink} would have. */
    abstract Sink<RowData> wrap(KinesisStreamsSink<RowData> connectorSink);

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
                    + "KinesisStreamsSink, got " + provider + ": this package's " + what
                    + " tables are for flink-connector-kinesis 4.3.0");
        }
        return SinkV2Provider.of(wrap((KinesisStreamsSink<RowData>) connectorSink),
                ((SinkV2Provider) provider).getParallelism().orElse(null));
    }

    @Override
    public String asSummaryString() {
        return sink.asSummaryString() + " (" + what + ")";
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
