package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.SubtaskAware;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSink;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.kinesis.shaded.software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

import java.io.IOException;
import java.util.Collection;
import java.util.Collections;
import java.util.Properties;
import java.util.function.Supplier;

/**
 * A Kinesis Data Streams sink that packs many user records into each Kinesis record, in the KPL
 * aggregation format that FlinkKinesisConsumer, KCL and Lambda de-aggregate. Opt-in alternative
 * to the connector's {@code KinesisStreamsSink}, with the same settings (see {@link #builder()})
 * and the same at-least-once guarantee.
 *
 * <p>Only records of one shard share an aggregate (consumers drop an aggregate's records outside
 * the shard they read), by the stream's shard map (ListShards, so the sink needs the
 * {@code kinesis:ListShards} permission). An aggregate that a split or merge sent to a shard
 * whose consumers would drop its records is detected from the PutRecords response and its
 * records are re-sent one by one: nothing is lost, and only then are records duplicated
 * (counted in {@value #RESENT_METRIC}). An aggregate holding one record is written as that
 * plain record.
 *
 * <p>Records reach Kinesis at most {@code maxAggregateDelayMS} plus {@code maxTimeInBufferMS}
 * after they are written (aggregates fill the inner buffer's batches slowly). Metrics, besides
 * the standard sink ones (numRecordsOut counts Kinesis records): {@value #USER_RECORDS_IN_METRIC},
 * {@value #AGGREGATES_OUT_METRIC}, {@value #RESENT_METRIC}, {@value #REFRESHES_METRIC}. The writer
 * state is the connector's format (PutRecords entries, see {@link Utf8KeyStateSerializer}).
 */
@SuppressWarnings("deprecation")
public class AggregatingKinesisStreamsSink<InputT>
        implements StatefulSink<InputT, BufferedRequestState<PutRecordsRequestEntry>> {

    private static final long serialVersionUID = 1L;

    /** Counter of user records the writer received. */
    public static final String USER_RECORDS_IN_METRIC = "numUserRecordsIn";
    /** Counter of aggregated Kinesis records (two or more user records each) handed to be sent. */
    public static final String AGGREGATES_OUT_METRIC = "numAggregatesOut";
    /** Counter of user records re-sent on their own after their aggregate landed in the wrong shard. */
    public static final String RESENT_METRIC = "numAggregatedRecordsResent";
    /** Counter of shard map refreshes (after resharding, or a key in no known shard). */
    public static final String REFRESHES_METRIC = "numShardMapRefreshes";

    final String streamName;
    final String streamArn;
    final Properties kinesisClientProperties;
    final SerializationSchema<InputT> serializationSchema;
    final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    final boolean failOnError;
    final int maxBatchSize;
    final int maxInFlightRequests;
    final int maxBufferedRequests;
    final long maxBatchSizeInBytes;
    final long maxTimeInBufferMS;
    final long maxRecordSizeInBytes;
    final long maxAggregateDelayMS;
    final int maxAggregateSizeInBytes;

    AggregatingKinesisStreamsSink(AggregatingKinesisStreamsSinkBuilder<InputT> settings,
            String streamName) {
        this.streamName = streamName;
        this.streamArn = settings.streamArn;
        this.kinesisClientProperties = new Properties();
        if (settings.kinesisClientProperties != null) {
            kinesisClientProperties.putAll(settings.kinesisClientProperties);
        }
        this.serializationSchema = settings.serializationSchema;
        this.partitionKeyGenerator = settings.partitionKeyGenerator;
        this.failOnError = settings.failOnError;
        this.maxBatchSize = settings.maxBatchSize;
        this.maxInFlightRequests = settings.maxInFlightRequests;
        this.maxBufferedRequests = settings.maxBufferedRequests;
        this.maxBatchSizeInBytes = settings.maxBatchSizeInBytes;
        this.maxTimeInBufferMS = settings.maxTimeInBufferMS;
        this.maxRecordSizeInBytes = settings.maxRecordSizeInBytes;
        this.maxAggregateDelayMS = settings.maxAggregateDelayMS;
        this.maxAggregateSizeInBytes = settings.maxAggregateSizeInBytes;
    }

    public static <T> AggregatingKinesisStreamsSinkBuilder<T> builder() {
        return new AggregatingKinesisStreamsSinkBuilder<>();
    }

    @Override
    public StatefulSinkWriter<InputT, BufferedRequestState<PutRecordsRequestEntry>> createWriter(
            Sink.InitContext context) throws IOException {
        return restoreWriter(context, Collections.emptyList());
    }

    @Override
    public StatefulSinkWriter<InputT, BufferedRequestState<PutRecordsRequestEntry>> createWriter(
            WriterInitContext context) throws IOException {
        return createWriter(new InitContextWrapper(context));
    }

    @Override
    public StatefulSinkWriter<InputT, BufferedRequestState<PutRecordsRequestEntry>> restoreWriter(
            Sink.InitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState)
            throws IOException {
        return restoreWriter(context, recoveredState,
                () -> new SdkStreamClient(streamName, streamArn, kinesisClientProperties));
    }

    @Override
    public StatefulSinkWriter<InputT, BufferedRequestState<PutRecordsRequestEntry>> restoreWriter(
            WriterInitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState)
            throws IOException {
        return restoreWriter(new InitContextWrapper(context), recoveredState);
    }

    /** Tells the partition key generator its subtask, then starts a writer on a new client. */
    AggregatingSinkWriter<InputT> restoreWriter(Sink.InitContext context,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState,
            Supplier<StreamClient> streams) throws IOException {
        SubtaskAware.tellSubtask(partitionKeyGenerator, context.getSubtaskId(),
                context.getNumberOfParallelSubtasks(), context.metricGroup());
        return new AggregatingSinkWriter<>(this, context, streams.get(), recoveredState);
    }

    @Override
    public SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>>
            getWriterStateSerializer() {
        return new Utf8KeyStateSerializer();
    }
}
