package io.pyflinkkinesis.table;

import io.pyflinkkinesis.exactlyonce.CommittingKinesisStreamsSink;
import io.pyflinkkinesis.sink.PutRecordsSettings;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.kinesis.sink.KinesisStreamsSink;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.data.RowData;

import java.time.Duration;

/**
 * The connector's Kinesis table sink, written exactly once by a {@link
 * CommittingKinesisStreamsSink}: the schema, format, partition keys, static partitions, stream and
 * client properties are the connector sink's; the committing sink takes its serialization schema
 * and partition key generator, and writes when checkpoints complete.
 */
final class CommittingDynamicSink extends WrappedDynamicSink {

    private final long maxBufferedBytes;
    private final Duration commitTimeout;

    /** @param sink the connector's, which builds a {@code KinesisStreamsSink} */
    CommittingDynamicSink(DynamicTableSink sink, long maxBufferedBytes, Duration commitTimeout) {
        super(sink, "exactly-once");
        this.maxBufferedBytes = maxBufferedBytes;
        this.commitTimeout = commitTimeout;
    }

    @Override
    @SuppressWarnings("unchecked")
    Sink<RowData> wrap(KinesisStreamsSink<RowData> connectorSink) {
        PutRecordsSettings settings = PutRecordsSettings.of(connectorSink);
        ElementConverter<RowData, PutRecordsRequestEntry> converter =
                PutRecordsSettings.elementConverter(connectorSink);
        return CommittingKinesisStreamsSink.<RowData>builder()
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
    }

    @Override
    public DynamicTableSink copy() {
        return new CommittingDynamicSink(sink.copy(), maxBufferedBytes, commitTimeout);
    }
}
