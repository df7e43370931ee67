package io.pyflinkkinesis.consumer;

import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.functions.source.SourceFunction;
import org.apache.flink.streaming.api.operators.StreamingRuntimeContext;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.connectors.kinesis.FlinkKinesisConsumer;
import org.apache.flink.streaming.connectors.kinesis.KinesisShardAssigner;
import org.apache.flink.streaming.connectors.kinesis.internals.KinesisDataFetcher;
import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.StreamShardMetadata;
import org.apache.flink.streaming.connectors.kinesis.proxy.KinesisProxy;
import org.apache.flink.streaming.connectors.kinesis.serialization.KinesisDeserializationSchema;
import org.apache.flink.streaming.connectors.kinesis.util.KinesisStateUtil;

import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * The connector's {@code FlinkKinesisConsumer} with two changes: it reads a child shard only
 * after its parents are read to their end, and it declines every checkpoint after a record
 * failed on its way downstream.
 *
 * <p><b>Parents first.</b> Connector 4.3.0 reads a shard created by a reshard as soon as it
 * discovers it, while its parents may still hold unread records, so a partition key's records
 * from the child can overtake those left in a parent. Here {@link ParentFirstFetcher} holds a
 * child back until each parent is read to its end; when another subtask reads the parent, until
 * a checkpoint taken after the parent's last record completed, so that the parent's records have
 * passed every operator, not only the source ({@link ShardOrder} says exactly when). Subtasks
 * learn of each other's finished shards through a small board in the JobManager
 * ({@link JobManagerShardBoard}); a subtask that starts withdraws what it published before, so a
 * restore never lets a child start on a stale word.
 *
 * <p><b>Fail fast.</b> The consumer emits from its shard consumer threads, and advances a shard's
 * sequence number once the record is handed to the chained operators. When a chained operator
 * fails on a record (a Python function that raises, whose bundle then loses the records before
 * it), the shard thread stops the fetcher, but the task fails only when the source's main thread
 * notices: a checkpoint taken in between stores sequence numbers past records that never got
 * downstream, and a restore from it skips them. Connector 4.3.0 does this; measured with a
 * Python map that raises, chained to the source, and a checkpoint every 500 ms (about one run in
 * four lost the failed bundle's records). Here the failure is noted while the checkpoint lock is
 * still held (records are emitted under it, and snapshots are taken under it), so no checkpoint
 * can complete after it: the restart goes back to the last checkpoint from before the failed
 * records.
 */
public class KinesisConsumer<T> extends FlinkKinesisConsumer<T> implements CheckpointListener {

    private static final long serialVersionUID = 1L;

    /** The connector's union state of shard sequence numbers (every subtask gets all of it). */
    private static final String SHARD_STATE = "Kinesis-Stream-Shard-State";
    private static final String BOARD = "pyflink-kinesis finished shards of ";

    private transient volatile Throwable downstreamFailure;
    private transient CheckpointClock clock;
    private transient Set<String> finishedInRestoredState;
    private transient ShardBoard board;

    public KinesisConsumer(List<String> streams, KinesisDeserializationSchema<T> deserializer,
            Properties configProps) {
        super(streams, deserializer, configProps);
    }

    @Override
    public void run(SourceContext<T> sourceContext) throws Exception {
        super.run(guard(sourceContext));
    }

    /** {@code context}, noting any failure of a record handed to it. */
    SourceContext<T> guard(SourceContext<T> context) {
        return new FailureNotingContext<>(context, this);
    }

    /**
     * Also withdraws this subtask's earlier word on the board, before the subtask can take part
     * in any checkpoint.
     */
    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        super.initializeState(context);
        StreamingRuntimeContext runtime = (StreamingRuntimeContext) getRuntimeContext();
        clock = new CheckpointClock(runtime.isCheckpointingEnabled(),
                context.getRestoredCheckpointId().orElse(0));
        finishedInRestoredState = new HashSet<>();
        ListStateDescriptor<Tuple2<StreamShardMetadata, SequenceNumber>> shards =
                new ListStateDescriptor<>(SHARD_STATE,
                        KinesisStateUtil.createShardsStateSerializer(runtime.getExecutionConfig()));
        SequenceNumber ending = SentinelSequenceNumber.SENTINEL_SHARD_ENDING_SEQUENCE_NUM.get();
        for (Tuple2<StreamShardMetadata, SequenceNumber> shard
                : context.getOperatorStateStore().getUnionListState(shards).get()) {
            if (ending.equals(shard.f1)) {
                finishedInRestoredState.add(
                        ShardOrder.key(shard.f0.getStreamName(), shard.f0.getShardId()));
            }
        }
        board = new JobManagerShardBoard(runtime.getGlobalAggregateManager(),
                BOARD + runtime.getOperatorUniqueID(), runtime.getTaskInfo().getIndexOfThisSubtask());
        board.reopen(runtime.getTaskInfo().getNumberOfParallelSubtasks(), finishedInRestoredState);
    }

    @Override
    protected KinesisDataFetcher<T> createFetcher(List<String> streams,
            SourceFunction.SourceContext<T> sourceContext, RuntimeContext runtimeContext,
            Properties configProps, KinesisDeserializationSchema<T> deserializationSchema) {
        KinesisShardAssigner assigner = getShardAssigner();
        int parallelism = runtimeContext.getTaskInfo().getNumberOfParallelSubtasks();
        ProxyShards shards =
                new ProxyShards(() -> KinesisProxy.create(configProps), System::currentTimeMillis);
        ShardOrder order = new ShardOrder(runtimeContext.getTaskInfo().getIndexOfThisSubtask(),
                clock, finishedInRestoredState, board, shards,
                shard -> Math.abs(assigner.assign(shard, parallelism) % parallelism));
        return new ParentFirstFetcher<>(streams, sourceContext, runtimeContext, configProps,
                deserializationSchema, assigner, getPeriodicWatermarkAssigner(),
                getWatermarkTracker(), clock, order, shards);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        Throwable failure = downstreamFailure;
        if (failure != null) {
            throw new IllegalStateException("Checkpoint declined: a record read from Kinesis "
                    + "failed in the operators after the source (" + failure + "); the job "
                    + "restarts from the checkpoint before it, so that the record and those "
                    + "read with it are read again", failure);
        }
        super.snapshotState(context);
        clock.snapshotted(context.getCheckpointId());
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        clock.completed(checkpointId);
    }

    private void noteFailure(Throwable failure) {
        if (downstreamFailure == null) {
            downstreamFailure = failure;
        }
    }

    /** Passes everything on; notes a failure of collect before rethrowing it. */
    private static final class FailureNotingContext<T> implements SourceFunction.SourceContext<T> {
        private final SourceContext<T> delegate;
        private final KinesisConsumer<T> consumer;

        FailureNotingContext(SourceContext<T> delegate, KinesisConsumer<T> consumer) {
            this.delegate = delegate;
            this.consumer = consumer;
        }

        @Override
        public void collect(T element) {
            try {
                delegate.collect(element);
            } catch (RuntimeException | Error e) {
                consumer.noteFailure(e);
                throw e;
            }
        }

        @Override
        public void collectWithTimestamp(T element, long timestamp) {
            try {
                delegate.collectWithTimestamp(element, timestamp);
            } catch (RuntimeException | Error e) {
                consumer.noteFailure(e);
                throw e;
            }
        }

        @Override
        public void emitWatermark(Watermark mark) {
            delegate.emitWatermark(mark);
        }

        @Override
        public void markAsTemporarilyIdle() {
            delegate.markAsTemporarilyIdle();
        }

        @Override
        public Object getCheckpointLock() {
            return delegate.getCheckpointLock();
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
