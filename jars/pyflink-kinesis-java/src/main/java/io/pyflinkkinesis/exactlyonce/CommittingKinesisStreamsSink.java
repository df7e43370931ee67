package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.SubtaskAware;
import io.pyflinkkinesis.sink.PutRecordsSettings;
import io.pyflinkkinesis.sink.SdkStreamClient;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * A Kinesis Data Streams sink that writes each record once a checkpoint covering it completed,
 * with an id that a de-duplicating reader uses to drop the copies a failure leaves: together,
 * exactly once from this sink to that reader. Every other reader (KCL, aws-kinesis-agg, Lambda)
 * sees each record at least once, with the payload and partition key the job wrote. Build it with
 * {@link #builder()}.
 *
 * <p>Each writer buffers the records between two checkpoints (bounded by {@code
 * maxBufferedBytes}: they are in checkpoint state) and hands them to the committer as one {@link
 * KinesisCommittable}; the {@link KinesisCommitter} writes them in KPL aggregates, ordered per
 * shard, each record tagged with its {@link RecordId}. Records reach Kinesis about one checkpoint
 * interval after they arrive. Needs checkpointing, and {@code kinesis:ListShards} besides {@code
 * kinesis:PutRecords}.
 */
@SuppressWarnings("deprecation")
public final class CommittingKinesisStreamsSink<InputT>
        implements Sink<InputT>, SupportsCommitter<KinesisCommittable> {

    private static final long serialVersionUID = 1L;

    /** Counter of records the writers received. */
    public static final String USER_RECORDS_IN_METRIC = "numUserRecordsIn";
    /** Committer retries start this long apart, doubling up to {@link #MAX_BACKOFF_MS}. */
    static final long INITIAL_BACKOFF_MS = 50;
    static final long MAX_BACKOFF_MS = 2_000;

    final PutRecordsSettings settings;
    final SerializationSchema<InputT> serializationSchema;
    final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    final long maxBufferedBytes;
    final long commitTimeoutMS;

    CommittingKinesisStreamsSink(PutRecordsSettings settings,
            SerializationSchema<InputT> serializationSchema,
            PartitionKeyGenerator<InputT> partitionKeyGenerator, long maxBufferedBytes,
            long commitTimeoutMS) {
        this.settings = settings;
        this.serializationSchema = serializationSchema;
        this.partitionKeyGenerator = partitionKeyGenerator;
        this.maxBufferedBytes = maxBufferedBytes;
        this.commitTimeoutMS = commitTimeoutMS;
    }

    public static <T> CommittingKinesisStreamsSinkBuilder<T> builder() {
        return new CommittingKinesisStreamsSinkBuilder<>();
    }

    /** Opens the schema and tells the partition key generator its subtask, as the other sinks. */
    @Override
    public CommittingKinesisWriter<InputT> createWriter(Sink.InitContext context) {
        try {
            serializationSchema.open(context.asSerializationSchemaInitializationContext());
        } catch (Exception e) {
            throw new FlinkRuntimeException("Failed to initialize serialization schema.", e);
        }
        SubtaskAware.tellSubtask(partitionKeyGenerator, context.getSubtaskId(),
                context.getNumberOfParallelSubtasks(), context.metricGroup());
        return new CommittingKinesisWriter<>(serializationSchema, partitionKeyGenerator,
                maxBufferedBytes, context.metricGroup().counter(USER_RECORDS_IN_METRIC));
    }

    @Override
    public CommittingKinesisWriter<InputT> createWriter(WriterInitContext context)
            throws IOException {
        return createWriter(new InitContextWrapper(context));
    }

    @Override
    public Committer<KinesisCommittable> createCommitter(CommitterInitContext context) {
        return createCommitter(() -> new SdkStreamClient(settings));
    }

    KinesisCommitter createCommitter(Supplier<StreamClient> streams) {
        return new KinesisCommitter(streams.get(), System::currentTimeMillis, commitTimeoutMS,
                INITIAL_BACKOFF_MS, MAX_BACKOFF_MS);
    }

    @Override
    public SimpleVersionedSerializer<KinesisCommittable> getCommittableSerializer() {
        return new KinesisCommittableSerializer();
    }
}
