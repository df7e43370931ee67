package io.pyflinkkinesis;

import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.functions.source.SourceFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.connectors.kinesis.FlinkKinesisConsumer;
import org.apache.flink.streaming.connectors.kinesis.serialization.KinesisDeserializationSchema;

import java.util.List;
import java.util.Properties;

/**
 * The connector's {@code FlinkKinesisConsumer}, declining every checkpoint after a record failed
 * on its way downstream.
 *
 * <p>The consumer emits from its shard consumer threads, and advances a shard's sequence number
 * once the record is handed to the chained operators. When a chained operator fails on a record
 * (a Python function that raises, whose bundle then loses the records before it), the shard
 * thread stops the fetcher, but the task fails only when the source's main thread notices:
 * a checkpoint taken in between stores sequence numbers past records that never got downstream,
 * and a restore from it skips them. Connector 4.3.0 does this; measured with a Python map that
 * raises, chained to the source, and a checkpoint every 500 ms (about one run in four lost the
 * failed bundle's records).
 *
 * <p>Here the failure is noted while the checkpoint lock is still held (records are emitted
 * under it, and snapshots are taken under it), so no checkpoint can complete after it: the
 * restart goes back to the last checkpoint from before the failed records.
 */
public class FailFastKinesisConsumer<T> extends FlinkKinesisConsumer<T> {

    private static final long serialVersionUID = 1L;

    private transient volatile Throwable downstreamFailure;

    public FailFastKinesisConsumer(List<String> streams,
            KinesisDeserializationSchema<T> deserializer, Properties configProps) {
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
    }

    private void noteFailure(Throwable failure) {
        if (downstreamFailure == null) {
            downstreamFailure = failure;
        }
    }

    /** Passes everything on; notes a failure of collect before rethrowing it. */
    private static final class FailureNotingContext<T> implements SourceFunction.SourceContext<T> {
        private final SourceContext<T> delegate;
        private final FailFastKinesisConsumer<T> consumer;

        FailureNotingContext(SourceContext<T> delegate, FailFastKinesisConsumer<T> consumer) {
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
