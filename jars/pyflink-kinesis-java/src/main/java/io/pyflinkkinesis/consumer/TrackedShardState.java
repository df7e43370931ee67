package io.pyflinkkinesis.consumer;

import org.apache.flink.streaming.connectors.kinesis.model.KinesisStreamShardState;
import org.apache.flink.streaming.connectors.kinesis.model.SentinelSequenceNumber;
import org.apache.flink.streaming.connectors.kinesis.model.SequenceNumber;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A shard's state in the fetcher that knows when every record of the shard has been emitted.
 *
 * <p>The connector's shard thread hands each record to the fetcher, and marks the shard ended
 * ({@code SENTINEL_SHARD_ENDING_SEQUENCE_NUM}) once Kinesis says there is nothing after the last
 * one. Without a watermark tracker the records are emitted while they are handed over, so the
 * mark comes after the last of them. With a tracker ({@code AsyncKinesisRecordEmitter}) they wait
 * in a queue for an emitter thread, and connector 4.3.0 marks the shard ended while up to a
 * queue of its records is still unemitted; the emitter then overwrites the mark with their
 * sequence numbers. Here the mark is kept back until the last handed-over record is emitted, so
 * "ended" means "all its records are out of the source", in the state the source checkpoints too.
 *
 * <p>The connector calls {@link #setLastProcessedSequenceNum} under the checkpoint lock only.
 */
final class TrackedShardState extends KinesisStreamShardState {

    private static final SequenceNumber ENDING =
            SentinelSequenceNumber.SENTINEL_SHARD_ENDING_SEQUENCE_NUM.get();

    private final CheckpointClock clock;
    private final AtomicLong handedOver = new AtomicLong();
    private long emitted;
    private volatile boolean endReached;
    private volatile boolean finished;
    private volatile long safeAfter;

    TrackedShardState(KinesisStreamShardState state, CheckpointClock clock) {
        super(state.getStreamShardMetadata(), state.getStreamShardHandle(),
                state.getLastProcessedSequenceNum());
        this.clock = clock;
        this.finished = ENDING.equals(state.getLastProcessedSequenceNum());
        this.endReached = finished;
    }

    /** The shard thread handed one more record to the fetcher. */
    void handedOver() {
        handedOver.incrementAndGet();
    }

    @Override
    public void setLastProcessedSequenceNum(SequenceNumber sequenceNumber) {
        if (ENDING.equals(sequenceNumber)) {
            endReached = true;
        } else {
            emitted++;
            super.setLastProcessedSequenceNum(sequenceNumber);
        }
        if (endReached && !finished && emitted == handedOver.get()) {
            finish();
        }
    }

    /**
     * Finish a closed shard found to hold no record after {@code last}, if {@code last} is still
     * the last record emitted and none waits to be emitted. For an enhanced fan-out
     * subscription that never says the shard ended; call under the checkpoint lock.
     *
     * @return whether the shard finished now
     */
    boolean finishDrained(SequenceNumber last) {
        if (finished || emitted != handedOver.get() || !last.equals(getLastProcessedSequenceNum())) {
            return false;
        }
        endReached = true;
        finish();
        return true;
    }

    private void finish() {
        super.setLastProcessedSequenceNum(ENDING);
        safeAfter = clock.nextCheckpoint();
        finished = true;
    }

    /** Kinesis said the shard has no more records (some may still wait to be emitted). */
    boolean endReached() {
        return endReached;
    }

    /** Every record of the shard has been emitted. */
    boolean isFinished() {
        return finished;
    }

    /**
     * The first checkpoint whose barrier follows every record of the shard (valid once
     * {@link #isFinished()}, for a shard that finished in this run).
     */
    long safeAfter() {
        return safeAfter;
    }

    /** {@code stream/shardId}, the shard's name across subtasks. */
    String key() {
        return ShardOrder.key(getStreamShardHandle());
    }
}
