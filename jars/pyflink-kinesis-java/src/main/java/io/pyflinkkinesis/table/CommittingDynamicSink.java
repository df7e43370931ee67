package io.pyflinkkinesis.table;

import io.pyflinkkinesis.exactlyonce.CommittingKinesisStreamsSink;
import io.pyflinkkinesis.sink.PutRecordsSettings;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.connector.sink.abilities.SupportsPartitioning;
import org.apache.flink.table.data.RowData;

import java.time.Duration;
import java.util.Map;

/**
 * The connector's Kinesis table sink, written exactly once by a {@link
 * CommittingKinesisStreamsSink}: the schema, format, partition keys, static partitions, stream and
 * client properties are the connector sink's; the committing sink takes its serialization schema
 * and partition key generator, and writes when checkpoints complete.
 */
final class CommittingDynamicSink implements DynamicTableSink, SupportsPartitioning {

    private final DynamicTableSink sink;
    private final long maxBufferedBytes;
    private final Duration commitTimeout;

    /** @param sink the connector's, which builds a {@code KinesisStreamsSink} */
    CommittingDynamicSink(DynamicTableSink sink, long maxBufferedBytes, Duration commitTimeout) {
        this.sink = sink;
        this.maxBufferedBytes = maxBufferedBytes;
        this.commitTimeout = commitTimeout;
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
                    + "KinesisStreamsSink, got " + provider + ": this package writes exactly once "
                    + "for flink-connector-kinesis 4.3.0");
        }
        KinesisStreamsSink<RowData> kinesisSink = (KinesisStreamsSink<RowData>) connectorSink;
        PutRecordsSettings settings = PutRecordsSettings.of(kinesisSink);
        ElementConverter<RowData, PutRecordsRequestEntry> converter =
                PutRecordsSettings.elementConverter(kinesisSink);
        CommittingKinesisStreamsSink<RowData> committing =
                CommittingKinesisStreamsSink.<RowData>builder()
                        .setStreamName(settings.streamName)
                        .setStreamArn(settings.streamArn)
                        .setKinesisClientProperties(settings.clientProperties)
                        .setSerializationSchema((SerializationSchema<RowData>)
                                PutRecordsSettings.serializationSchema(converter))
                        .setPartitionKeyGenerator((PartitionKeyGenerator<RowData>)
                                PutRecordsSettings.partitionKeyGenerator(converter))
                        .setMaxBufferedBytes(maxBufferedBytes)
                        .setCommitTimeoutMS(commitTimeout.toMillis())
                        .build();
        return SinkV2Provider.of(committing,
                ((SinkV2Provider) provider).getParallelism().orElse(null));
    }

    @Override
    public DynamicTableSink copy() {
        return new CommittingDynamicSink(sink.copy(), maxBufferedBytes, commitTimeout);
    }

    @Override
    public String asSummaryString() {
        return sink.asSummaryString() + " (exactly-once)";
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
