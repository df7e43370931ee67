package io.pyflinkkinesis.exactlyonce;

import io.pyflinkkinesis.SubtaskAware;
import io.pyflinkkinesis.sink.PutRecordsSettings;
import io.pyflinkkinesis.sink.SdkStreamClient;
import io.pyflinkkinesis.sink.StreamClient;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.connector.kinesis.sink.PartitionKeyGenerator;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.SupportsPreWriteTopology;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.FlinkRuntimeException;

import java.io.IOException;
import java.util.Collection;
import java.util.Collections;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * A Kinesis Data Streams sink that writes each record once a checkpoint covering it completed,
 * with an id that a de-duplicating reader uses to drop the copies a failure leaves: together,
 * exactly once from this sink to that reader. Every other reader (KCL, aws-kinesis-agg, Lambda)
 * sees each record at least once, with the payload and partition key the job wrote. Build it with
 * {@link #builder()}.
 *
 * <p>Each writer buffers the records between two checkpoints (bounded by {@code
 * maxBufferedBytes}: they are in checkpoint state, the writer's when it is chained with the
 * committer, else the committer's) and hands them to the committer as one {@link
 * KinesisCommittable}; the {@link KinesisCommitter} writes them in KPL aggregates, ordered per
 * shard, each record tagged with its {@link RecordId}, in the background while the writer takes
 * in the next checkpoint's records ({@link CommitLink}). Records reach Kinesis about one
 * checkpoint interval after they arrive. Needs checkpointing (a streaming job without it is refused when it
 * is submitted, see {@link #addPreWriteTopology}), and {@code kinesis:ListShards} besides {@code
 * kinesis:PutRecords}.
 */
@SuppressWarnings("deprecation")
public final class CommittingKinesisStreamsSink<InputT>
        implements Sink<InputT>, SupportsCommitter<KinesisCommittable>,
                SupportsWriterState<InputT, KinesisWriterState>,
                SupportsPreWriteTopology<InputT> {

    private static final long serialVersionUID = 1L;

    /** Counter of records the writers received. */
    public static final String USER_RECORDS_IN_METRIC = "numUserRecordsIn";
    /** Committer retries start this long apart, doubling up to {@link #MAX_BACKOFF_MS}. */
    static final long INITIAL_BACKOFF_MS = 50;
    static final long MAX_BACKOFF_MS = 2_000;
    /** A commit whose writes were throttled sends them again this long after. */
    static final long THROTTLED_RETRY_MS = 100;

    final PutRecordsSettings settings;
    final SerializationSchema<InputT> serializationSchema;
    final PartitionKeyGenerator<InputT> partitionKeyGenerator;
    final long maxBufferedBytes;
    final long commitTimeoutMS;
    /** Tells this sink's writers and committers from another's in the same JVM. */
    private final String sinkId = UUID.randomUUID().toString();

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

    @Override
    public CommittingKinesisWriter<InputT> createWriter(Sink.InitContext context) {
        return restoreWriter(context, Collections.emptyList());
    }

    @Override
    public CommittingKinesisWriter<InputT> createWriter(WriterInitContext context)
            throws IOException {
        return createWriter(new InitContextWrapper(context));
    }

    /** A writer that hands over the restored committables again at its first checkpoint. */
    @Override
    public CommittingKinesisWriter<InputT> restoreWriter(WriterInitContext context,
            Collection<KinesisWriterState> recoveredState) {
        return restoreWriter(new InitContextWrapper(context), recoveredState);
    }

    /** Opens the schema and tells the partition key generator its subtask, as the other sinks. */
    private CommittingKinesisWriter<InputT> restoreWriter(Sink.InitContext context,
            Collection<KinesisWriterState> recoveredState) {
        try {
            serializationSchema.open(context.asSerializationSchemaInitializationContext());
        } catch (Exception e) {
            throw new FlinkRuntimeException("Failed to initialize serialization schema.", e);
        }
        SubtaskAware.tellSubtask(partitionKeyGenerator, context.getSubtaskId(),
                context.getNumberOfParallelSubtasks(), context.metricGroup());
        return new CommittingKinesisWriter<>(serializationSchema, partitionKeyGenerator,
                maxBufferedBytes, context.metricGroup().counter(USER_RECORDS_IN_METRIC),
                CommitLink.of(sinkId, context), recoveredState);
    }

    @Override
    public SimpleVersionedSerializer<KinesisWriterState> getWriterStateSerializer() {
        return new KinesisWriterState.Serializer();
    }

    @Override
    public Committer<KinesisCommittable> createCommitter(CommitterInitContext context) {
        return createCommitter(() -> new SdkStreamClient(settings), CommitLink.of(sinkId, context));
    }

    KinesisCommitter createCommitter(Supplier<StreamClient> streams, CommitLink link) {
        return new KinesisCommitter(streams.get(), System::currentTimeMillis, Thread::sleep,
                commitTimeoutMS, INITIAL_BACKOFF_MS, MAX_BACKOFF_MS, THROTTLED_RETRY_MS, link);
    }

    /**
     * Refuses a streaming job without checkpointing, when Flink translates the job (on
     * submission, the job's settings final): its committer would never commit, so the sink would
     * write nothing. A BATCH job commits at the end of its input and needs none.
     *
     * @throws IllegalStateException saying how to turn checkpointing on
     */
    @Override
    public DataStream<InputT> addPreWriteTopology(DataStream<InputT> input) {
        requireCheckpointing(input.getExecutionEnvironment());
        return input;
    }

    static void requireCheckpointing(StreamExecutionEnvironment env) {
        boolean batch = env.getConfiguration().get(ExecutionOptions.RUNTIME_MODE)
                == RuntimeExecutionMode.BATCH;
        if (!batch && !env.getCheckpointConfig().isCheckpointingEnabled()) {
            throw new IllegalStateException(NO_CHECKPOINTING);
        }
    }

    static final String NO_CHECKPOINTING = "The exactly-once Kinesis sink writes records only "
            + "when a checkpoint completes, and this streaming job does not checkpoint, so it "
            + "would write nothing: enable checkpointing (env.enable_checkpointing(10000) in "
            + "PyFlink, or 'execution.checkpointing.interval' = '10 s' in the job's or the "
            + "TableEnvironment's configuration), or use the at-least-once sink. Records reach "
            + "Kinesis about one checkpoint interval after they arrive.";

    @Override
    public SimpleVersionedSerializer<KinesisCommittable> getCommittableSerializer() {
        return new KinesisCommittableSerializer();
    }
}
