package io.pyflinkkinesis.source.split;

import org.apache.flink.connector.kinesis.source.split.StartingPosition;
import org.apache.flink.util.Preconditions;

/**
 * A shard being read: its split, where reading goes on (after the last record emitted, and
 * after the last user record emitted of a KPL aggregate: {@link ShardSplit#getSubSequenceNumber()})
 * and its de-duplication marks.
 */
public final class ShardSplitState {

    private final ShardSplit split;
    private StartingPosition nextStartingPosition;
    private long subSequenceNumber;
    private final ShardMarks marks;

    public ShardSplitState(ShardSplit split) {
        this.split = Preconditions.checkNotNull(split, "split");
        this.marks = split.getMarks();
        this.nextStartingPosition = split.getStartingPosition();
        this.subSequenceNumber = split.getSubSequenceNumber();
    }

    public String getSplitId() {
        return split.splitId();
    }

    public String getStreamArn() {
        return split.getStreamArn();
    }

    public String getShardId() {
        return split.getShardId();
    }

    public StartingPosition getNextStartingPosition() {
        return nextStartingPosition;
    }

    /** Reading goes on from {@code position}, after a whole record. */
    public void setNextStartingPosition(StartingPosition position) {
        this.nextStartingPosition = Preconditions.checkNotNull(position, "position");
        this.subSequenceNumber = ShardSplit.NO_SUB_SEQUENCE_NUMBER;
    }

    /**
     * A user record was emitted: the record with {@code sequenceNumber} whole ({@code
     * subSequenceNumber} {@link ShardSplit#NO_SUB_SEQUENCE_NUMBER}), or the user record with
     * {@code subSequenceNumber} of the KPL aggregate with {@code sequenceNumber}.
     */
    public void setLastEmitted(String sequenceNumber, long subSequenceNumber) {
        this.nextStartingPosition = StartingPosition.continueFromSequenceNumber(sequenceNumber);
        this.subSequenceNumber = subSequenceNumber;
    }

    /** See {@link ShardSplit#getSubSequenceNumber()}. */
    public long getSubSequenceNumber() {
        return subSequenceNumber;
    }

    /** The shard's de-duplication marks, changed as records are emitted. */
    public ShardMarks getMarks() {
        return marks;
    }

    /** The split to checkpoint: the same shard, starting where reading goes on, its marks now. */
    public ShardSplit toSplit() {
        return split.withStartingPosition(nextStartingPosition, subSequenceNumber)
                .withMarks(marks);
    }
}
