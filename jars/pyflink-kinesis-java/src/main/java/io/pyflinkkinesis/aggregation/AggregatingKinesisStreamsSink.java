package io.pyflinkkinesis.aggregation;

import io.pyflinkkinesis.SubtaskAware;
import io.pyflinkkinesis.sink.PutRecordsSettings;
import io.pyflinkkinesis.sink.SdkStreamClient;
import io.pyflinkkinesis.sink.StreamClient;

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
 *
 * <p>With {@code keepKeyOrder}, the aggregates and records are written by a {@link
 * io.pyflinkkinesis.sink.KeyOrderedWriter}: an aggregate goes only when every earlier aggregate
 * holding one of its keys was acknowledged, and the records of a misplaced aggregate are re-sent
 * before anything later of their keys, so each key's records reach Kinesis in order.
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

    final PutRecordsSettings settings;
    final SerializationSchema<InputT> serializationSchema;
    final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    final long maxAggregateDelayMS;
    final int maxAggregateSizeInBytes;
    final boolean keepKeyOrder;

    AggregatingKinesisStreamsSink(AggregatingKinesisStreamsSinkBuilder<InputT> builder,
            PutRecordsSettings settings) {
        this.settings = settings;
        this.serializationSchema = builder.serializationSchema;
        this.partitionKeyGenerator = builder.partitionKeyGenerator;
        this.maxAggregateDelayMS = builder.maxAggregateDelayMS;
        this.maxAggregateSizeInBytes = builder.maxAggregateSizeInBytes;
        this.keepKeyOrder = builder.keepKeyOrder;
    }

    /** Whether each key's records are written in the order the sink received them. */
    public boolean keepsKeyOrder() {
        return keepKeyOrder;
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
        return restoreWriter(context, recoveredState, () -> new SdkStreamClient(settings));
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
